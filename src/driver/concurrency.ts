// Scheduling of driver operations: work on one key (an instance) runs strictly one after the
// other in arrival order; work on different keys runs in parallel up to a global bound.
// Holds no XAPI knowledge and never drops work: every queued job eventually runs or is skipped
// by its own caller (a cancelled operation still passes through its turn).

export class Scheduler {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly depths = new Map<string, number>();
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError('concurrency limit must be at least 1');
  }

  /** Runs `job` after every earlier job of the same key, within the global bound. */
  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    this.depths.set(key, (this.depths.get(key) ?? 0) + 1);
    const result = previous.then(() => this.withSlot(job));
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      const left = (this.depths.get(key) ?? 1) - 1;
      if (left > 0) this.depths.set(key, left);
      else this.depths.delete(key);
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Jobs of this key queued or running. */
  depth(key: string): number {
    return this.depths.get(key) ?? 0;
  }

  /** Keys with queued or running work. */
  busyKeys(): number {
    return this.tails.size;
  }

  get active(): number {
    return this.running;
  }

  private async withSlot<T>(job: () => Promise<T>): Promise<T> {
    // A finishing job hands its slot straight to the first waiter, so the bound is never exceeded.
    if (this.running >= this.limit)
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await job();
    } finally {
      const nextWaiter = this.waiting.shift();
      if (nextWaiter) nextWaiter();
      else this.running--;
    }
  }
}
