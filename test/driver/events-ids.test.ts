// Lifecycle event ids count per namespace: a reader sees its own ids one after another whatever
// other namespaces do (global ids showed their activity as gaps), resumes after its last id with
// exactly what it missed, and an id its namespace never had is answered as lost, with every
// kept event. The id a reader told of lost events resumes from says nothing of any activity.
import type { LifecycleEvent } from '../../src/driver/views/events';
import { done, spawnInstance, until } from './instance-helpers';
import { alice, bob, startDriverStack, type DriverStack } from './stack';

describe('global event ids reveal other namespaces activity', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("numbers each namespace's events without gaps, whatever the others do", async () => {
    const feed = stack.driver.events;
    const base = BigInt(feed.lastId);
    const mine: LifecycleEvent[] = [];
    const theirs: LifecycleEvent[] = [];
    const a = feed.subscribe('alice', undefined, (e) => mine.push(e));
    const b = feed.subscribe('bob', undefined, (e) => theirs.push(e));
    try {
      await spawnInstance(stack, 'ids-a');
      await spawnInstance(stack, 'ids-b', {}, bob);
      await done(stack, stack.driver.action(alice, 'ids-a', { action: 'power-off', type: 'hard' }));
      await done(
        stack,
        stack.driver.action(bob, 'ids-b', { action: 'power-off', type: 'hard' }),
        bob,
      );
      await done(stack, stack.driver.action(bob, 'ids-b', { action: 'power-on' }), bob);
      await done(stack, stack.driver.action(alice, 'ids-a', { action: 'power-on' }));
      await until(() => mine.length >= 4 && theirs.length >= 4);
      expect(mine.map((e) => e.type)).toEqual(['created', 'started', 'stopped', 'started']);
      expect(theirs.map((e) => e.type)).toEqual(['created', 'started', 'stopped', 'started']);
      const consecutive = (events: LifecycleEvent[]): string[] =>
        events.map((_, i) => String(base + BigInt(i + 1)));
      expect(mine.map((e) => e.id)).toEqual(consecutive(mine));
      expect(theirs.map((e) => e.id)).toEqual(consecutive(theirs));
      // The resume point given with events_lost moved with nobody's activity.
      expect(feed.lastId).toBe(String(base));
    } finally {
      a.close();
      b.close();
    }
  });

  it('resumes after a last id with what was missed; an id never had is answered as lost', async () => {
    const feed = stack.driver.events;
    const seen: LifecycleEvent[] = [];
    const first = feed.subscribe('alice', feed.lastId, (e) => seen.push(e));
    expect(first.lost).toBe(false);
    first.close();
    const all = first.backlog;
    expect(all.length).toBeGreaterThanOrEqual(4);

    const last = all[1].id;
    const resumed = feed.subscribe('alice', last, () => undefined);
    resumed.close();
    expect(resumed.lost).toBe(false);
    expect(resumed.backlog).toEqual(all.slice(2));

    // An id past the namespace's newest (another namespace's, or forged) is not trusted.
    const beyond = String(BigInt(all[all.length - 1].id) + 1000n);
    const stranger = feed.subscribe('alice', beyond, () => undefined);
    stranger.close();
    expect(stranger.lost).toBe(true);
    expect(stranger.backlog).toEqual(all);

    const stale = feed.subscribe('alice', '1', () => undefined);
    stale.close();
    expect(stale.lost).toBe(true);
    expect(stale.backlog).toEqual(all);
  });
});
