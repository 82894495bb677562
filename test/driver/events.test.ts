// Behaviour of the lifecycle event feed: created, started, paused, resumed, suspended, stopped,
// migrated and deleted derived from the mirror, in order, only for the subscriber's namespace;
// a reader that goes away and comes back with its last id receives exactly what it missed; an
// id from before the feed started (or dropped from the ring) is told events were lost.
import type { LifecycleEvent } from '../../src/driver/views/events';
import { EventFeed } from '../../src/driver/views/events';
import { done, setState, spawnInstance, until } from './instance-helpers';
import { alice, bob, startDriverStack, type DriverStack } from './stack';

describe('lifecycle events', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("announces an instance's life in order, to its namespace only", async () => {
    const mine: LifecycleEvent[] = [];
    const theirs: LifecycleEvent[] = [];
    const a = stack.driver.events.subscribe('alice', undefined, (e) => mine.push(e));
    const b = stack.driver.events.subscribe('bob', undefined, (e) => theirs.push(e));
    try {
      const vmRef = await spawnInstance(stack, 'ev-1');
      await until(() => mine.some((e) => e.type === 'started'));
      await done(stack, stack.driver.action(alice, 'ev-1', { action: 'pause' }));
      await done(stack, stack.driver.action(alice, 'ev-1', { action: 'unpause' }));
      await done(stack, stack.driver.action(alice, 'ev-1', { action: 'suspend' }));
      await done(stack, stack.driver.action(alice, 'ev-1', { action: 'resume' }));
      await done(stack, stack.driver.action(alice, 'ev-1', { action: 'migrate' }));
      await done(stack, stack.driver.action(alice, 'ev-1', { action: 'power-off', type: 'hard' }));
      await done(stack, stack.driver.destroy(alice, 'ev-1', {}));
      await until(() => mine.some((e) => e.type === 'deleted'));
      expect(mine.map((e) => e.type)).toEqual([
        'created',
        'started',
        'paused',
        'resumed',
        'suspended',
        'resumed',
        'migrated',
        'stopped',
        'deleted',
      ]);
      expect(new Set(mine.map((e) => e.instance_id))).toEqual(new Set(['ev-1']));
      const ids = mine.map((e) => BigInt(e.id));
      expect([...ids].sort((x, y) => (x < y ? -1 : 1))).toEqual(ids);
      const migrated = mine.find((e) => e.type === 'migrated')!;
      expect(migrated.host?.uuid).not.toBe(migrated.from_host?.uuid);
      expect(theirs).toEqual([]);
      expect(vmRef).toBeTruthy();
    } finally {
      a.close();
      b.close();
    }
  });

  it('resumes a reader after its last id with exactly the events it missed', async () => {
    const first: LifecycleEvent[] = [];
    let sub = stack.driver.events.subscribe('bob', undefined, (e) => first.push(e));
    const vmRef = await spawnInstance(stack, 'ev-2', {}, bob);
    await until(() => first.some((e) => e.type === 'started'));
    sub.close(); // the reader goes away
    const last = first[first.length - 1].id;

    await setState(stack, vmRef, 'Paused');
    await setState(stack, vmRef, 'Halted');
    // The mirror's records can move before its change batch reaches the feed: wait for the feed.
    const backlogAfter = (id: string): LifecycleEvent[] => {
      const probe = stack.driver.events.subscribe('bob', id, () => undefined);
      probe.close();
      return probe.backlog;
    };
    await until(() => backlogAfter(last).length >= 4);
    const later: LifecycleEvent[] = [];
    sub = stack.driver.events.subscribe('bob', last, (e) => later.push(e));
    expect(sub.lost).toBe(false);
    // setState goes Running -> Halted -> Running -> Paused -> Halted.
    expect(sub.backlog.map((e) => e.type)).toEqual(['stopped', 'started', 'paused', 'stopped']);
    expect(sub.backlog.every((e) => BigInt(e.id) > BigInt(last))).toBe(true);
    await done(stack, stack.driver.action(bob, 'ev-2', { action: 'power-on' }), bob);
    await until(() => later.length === 1);
    expect(later[0].type).toBe('started');
    sub.close();

    const stale = stack.driver.events.subscribe('bob', '1', () => undefined);
    expect(stale.lost).toBe(true);
    stale.close();
  });

  it('drops the oldest events beyond its capacity and says so to a reader behind them', async () => {
    const feed = new EventFeed(stack.xapi.mirror, 2);
    feed.start();
    try {
      const got: LifecycleEvent[] = [];
      const s = feed.subscribe('alice', undefined, (e) => got.push(e));
      const vmRef = await spawnInstance(stack, 'ev-3', { power_on: false });
      await setState(stack, vmRef, 'Running');
      await setState(stack, vmRef, 'Paused');
      await until(() => got.length >= 4);
      s.close();
      const behind = feed.subscribe('alice', got[0].id, () => undefined);
      expect(behind.lost).toBe(true);
      expect(behind.backlog.length).toBeLessThanOrEqual(2);
      behind.close();
    } finally {
      feed.stop();
    }
  });
});
