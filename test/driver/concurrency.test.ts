// The scheduler: jobs of one key run one after the other in arrival order, even when one fails;
// jobs of different keys run in parallel, never more at once than the global bound.
import { Scheduler } from '../../src/driver/concurrency';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('driver scheduler', () => {
  it('runs one key in order and keeps going after a failure', async () => {
    const s = new Scheduler(4);
    const log: string[] = [];
    const job =
      (name: string, ms: number, fail = false) =>
      async () => {
        log.push(`start ${name}`);
        await tick(ms);
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      s.run('a', job('1', 20, true)),
      s.run('a', job('2', 1)),
      s.run('a', job('3', 5)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    expect(s.busyKeys()).toBe(0);
  });

  it('runs different keys in parallel within the bound', async () => {
    const s = new Scheduler(3);
    let running = 0;
    let peak = 0;
    const job = async (): Promise<void> => {
      running++;
      peak = Math.max(peak, running);
      await tick(10);
      running--;
    };
    await Promise.all(Array.from({ length: 12 }, (_, i) => s.run(`k${i}`, job)));
    expect(peak).toBe(3);
    expect(s.active).toBe(0);
  });
});
