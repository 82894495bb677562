// The operation history: bounded per namespace (one namespace's operations never evict
// another's), kept for a retention time after an operation finishes, durable in the journal so a
// restarted service answers every operation it kept (also those of destroyed VMs, failed spawns
// and earlier operations of an instance), and loaded 'running' operations left to reconcile.
import pino from 'pino';
import { ComputeDriver } from '../../src/driver';
import { ApiError } from '../../src/driver/errors';
import { JOURNAL_MESSAGE } from '../../src/driver/journal';
import { Operations, type OperationsOptions } from '../../src/driver/operations';
import type { Operation } from '../../src/driver/types';
import { XapiClient } from '../../src/xapi';
import {
  alice,
  bob,
  provisioningTemplate,
  settle,
  startDriverStack,
  type DriverStack,
} from './stack';

const logger = pino({ level: process.env.XCD_TEST_LOG ?? 'silent' });

let stack: DriverStack;
beforeAll(async () => {
  stack = await startDriverStack({ sim: { hosts: 2 } });
});
afterAll(async () => {
  await stack?.close();
});

/** A clock the test moves. */
function clock(start = Date.UTC(2030, 0, 1)): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function operations(opts: OperationsOptions = {}): Operations {
  return new Operations(stack.xapi, logger, opts);
}

/** The journal's records of an operation, as XAPI holds them. */
function journaled(opId: string): Array<{ namespace: string; op: Operation }> {
  const out: Array<{ namespace: string; op: Operation }> = [];
  for (const rec of stack.sim.store.all('message').values()) {
    if (rec.name !== JOURNAL_MESSAGE) continue;
    const body = JSON.parse(rec.body as string) as {
      records: Array<{ namespace: string; op: Operation }>;
    };
    out.push(...body.records.filter((r) => r.op.id === opId));
  }
  return out;
}

function notFound(f: () => unknown): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ApiError);
  expect(err).toMatchObject({ status: 404, code: 'operation_not_found' });
}

describe('operation history is one global list: one namespace evicts another', () => {
  it("keeps each namespace's operations within its own bound", async () => {
    // A bound of 1000 per namespace (the one global list held 2000).
    const ops = operations({ historyPerNamespace: 1000 });
    const mine = Array.from({ length: 3 }, (_, i) => ops.create('alice', 'reboot', `a-${i}`));
    for (const e of mine) ops.succeed(e, null);
    const theirs = Array.from({ length: 2100 }, (_, i) => ops.create('bob', 'reboot', `b-${i}`));
    for (const e of theirs) ops.succeed(e, null);
    for (const e of mine) expect(ops.get('alice', e.data.id).data.status).toBe('succeeded');
    for (const e of theirs.slice(-1000)) expect(ops.find('bob', e.data.id)).toBe(e);
    for (const e of theirs.slice(0, -1000)) expect(ops.find('bob', e.data.id)).toBeUndefined();
    await ops.flush();
  });

  it('never drops a running operation to stay within the bound', async () => {
    const ops = operations({ historyPerNamespace: 2 });
    const running = Array.from({ length: 4 }, (_, i) => ops.create('alice', 'reboot', `r-${i}`));
    for (const e of running) expect(ops.find('alice', e.data.id)).toBe(e);
    ops.succeed(running[3], null);
    ops.succeed(running[0], null);
    // Four running at most two: the finished ones go first, oldest first.
    expect(ops.find('alice', running[0].data.id)).toBeUndefined();
    expect(ops.find('alice', running[3].data.id)).toBeUndefined();
    expect(ops.find('alice', running[1].data.id)).toBe(running[1]);
    await ops.flush();
  });
});

describe('operation history has a retention time', () => {
  it('answers a finished operation until its retention time has passed, then 404', async () => {
    const t = clock();
    const ops = operations({ retentionMs: 60_000, now: t.now });
    const done = ops.create('alice', 'reboot', 'ret-1');
    const still = ops.create('alice', 'reboot', 'ret-2');
    ops.succeed(done, null);
    t.advance(59_999);
    expect(ops.get('alice', done.data.id)).toBe(done);
    t.advance(1);
    notFound(() => ops.get('alice', done.data.id));
    // A running operation does not expire.
    t.advance(10 * 60_000);
    expect(ops.get('alice', still.data.id)).toBe(still);
    await ops.flush();
  });

  it('drops expired and evicted operations from the journal too', async () => {
    const t = clock();
    const first = operations({ retentionMs: 60_000, historyPerNamespace: 3, now: t.now });
    const old = first.create('carol', 'reboot', 'j-old');
    first.succeed(old, null);
    t.advance(30_000);
    const kept = Array.from({ length: 4 }, (_, i) => first.create('carol', 'reboot', `j-${i}`));
    for (const e of kept) first.succeed(e, null);
    t.advance(40_000); // `old` is past its retention now
    first.prune();
    await first.flush();
    expect(journaled(old.data.id)).toEqual([]);
    expect(journaled(kept[0].data.id)).toEqual([]); // beyond the bound of 3
    const second = operations({ retentionMs: 60_000, historyPerNamespace: 3, now: t.now });
    await second.load();
    for (const e of kept.slice(1))
      expect(second.get('carol', e.data.id).view()).toEqual({ ...e.view(), result: null });
    notFound(() => second.get('carol', old.data.id));
    notFound(() => second.get('carol', kept[0].data.id));
    await second.flush();
  });
});

describe('after a kill and restart some operations answer 404 instead of their final status', () => {
  it('answers every kept operation after a restart without close: destroyed, failed, earlier', async () => {
    const template = provisioningTemplate(stack);
    const spawned = stack.driver.spawn(bob, 'hist-gone', { template }).operation;
    await settle(stack, bob, spawned);
    const destroyed = await settle(stack, bob, stack.driver.destroy(bob, 'hist-gone', {})!);
    stack.sim.faults.add('fail:VM.start:1:HOST_NOT_ENOUGH_FREE_MEMORY,8589934592,1073741824');
    const failed = await settle(
      stack,
      bob,
      stack.driver.spawn(bob, 'hist-fail', { template }).operation,
    );
    stack.sim.faults.clear();
    const built = await settle(
      stack,
      bob,
      stack.driver.spawn(bob, 'hist-keep', { template }).operation,
    );
    const off = await settle(
      stack,
      bob,
      stack.driver.action(bob, 'hist-keep', { action: 'power-off', type: 'hard' }),
    );
    const on = await settle(
      stack,
      bob,
      stack.driver.action(bob, 'hist-keep', { action: 'power-on' }),
    );
    const final: Operation[] = [spawned, destroyed, failed, built, off, on].map((o) =>
      stack.driver.getOperation(bob, o.id),
    );
    expect(final.map((o) => o.status)).toEqual([
      'succeeded',
      'succeeded',
      'failed',
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    // Group commit writes a finished operation right after it finishes: give XAPI a moment to
    // have them all (the assertions below decide; this wait only bounds the time given).
    const deadline = Date.now() + 20_000;
    while (
      final.some((o) => !journaled(o.id).some((r) => r.op.status === o.status)) &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 10));
    for (const o of final)
      expect({
        id: o.id,
        journaled: journaled(o.id).some((r) => r.op.status === o.status),
      }).toEqual({ id: o.id, journaled: true });

    // A kill: the old service never closes (no flush); a new one starts on the same pool.
    const xapi = await XapiClient.connect({
      url: stack.sim.url,
      user: stack.sim.user,
      password: stack.sim.password,
      callTimeoutMs: 10_000,
    });
    const restarted = new ComputeDriver(xapi, { logger, mirrorWaitMs: 5000 });
    try {
      await restarted.start();
      for (const o of final) {
        const again = restarted.getOperation(bob, o.id);
        expect({ id: again.id, status: again.status, kind: again.kind }).toEqual({
          id: o.id,
          status: o.status,
          kind: o.kind,
        });
        expect(again.error?.code).toBe(o.error?.code);
        expect(() => restarted.getOperation(alice, o.id)).toThrow(
          expect.objectContaining({ status: 404 }),
        );
      }
    } finally {
      await restarted.close();
      await xapi.close();
    }
  }, 60_000);
});

describe('operations loaded while running', () => {
  it('are unowned until reconcile settles them, and cannot be cancelled meanwhile', async () => {
    const before = operations();
    await before.load();
    const entry = before.create('dave', 'reboot', 'u-1');
    await before.committed(entry);
    expect(journaled(entry.data.id).map((r) => r.op.status)).toEqual(['running']);

    const after = operations();
    await after.load();
    const loaded = after.get('dave', entry.data.id);
    expect(after.unowned()).toContain(loaded);
    expect(after.running()).not.toContain(loaded);
    expect(() => after.cancel('dave', entry.data.id)).toThrow(
      expect.objectContaining({ status: 409, code: 'operation_not_allowed' }),
    );
    const waiting = after.wait('dave', entry.data.id, 10_000);
    after.adopt('dave', {
      ...entry.data,
      status: 'cancelled',
      finished_at: new Date().toISOString(),
      error: { type: 'about:blank', title: 'Conflict', status: 409, code: 'cancelled' } as never,
    });
    expect((await waiting).data.status).toBe('cancelled');
    expect(after.unowned().filter((e) => e.namespace === 'dave')).toHaveLength(0);
    await after.flush();
    expect(journaled(entry.data.id).map((r) => r.op.status)).toContain('cancelled');
  });

  it('committed() resolves once the accepted record is in XAPI', async () => {
    const ops = operations();
    const entry = ops.create('erin', 'reboot', 'c-1');
    expect(journaled(entry.data.id)).toEqual([]);
    await ops.committed(entry);
    expect(journaled(entry.data.id)).toEqual([
      { namespace: 'erin', op: expect.objectContaining({ id: entry.data.id, status: 'running' }) },
    ]);
    await ops.flush();
  });

  it('committed() waits through a failed write; 503 xapi_unavailable when XAPI never takes it', async () => {
    const ops = operations({ journal: { retryMs: 5 } });
    stack.sim.faults.add('fail:message.create:1:INTERNAL_ERROR,disk full');
    const retried = ops.create('erin', 'reboot', 'c-2');
    await ops.committed(retried);
    expect(journaled(retried.data.id)).toHaveLength(1);

    stack.sim.faults.add('fail:message.create:*:INTERNAL_ERROR,disk full');
    const refused = ops.create('erin', 'reboot', 'c-3');
    try {
      await expect(ops.committed(refused, 200)).rejects.toMatchObject({
        status: 503,
        code: 'xapi_unavailable',
      });
      expect(journaled(refused.data.id)).toEqual([]);
    } finally {
      stack.sim.faults.clear();
    }
    // Once XAPI takes it again, the pending record is written.
    await ops.committed(refused);
    expect(journaled(refused.data.id)).toHaveLength(1);
  });
});
