// The operation journal against the simulator: records written together go in one XAPI message
// (group commit), a new journal reads back the newest record of each operation, fully
// superseded messages are destroyed and sparse ones compacted, a failed write is retried, and
// messages are found again after a XAPI restart or rewritten when XAPI lost them.
import pino from 'pino';
import { JOURNAL_MESSAGE, OperationJournal, type JournalRecord } from '../../src/driver/journal';
import type { PersistedOperation } from '../../src/driver/operations';
import { startSimulator, type SimulatorHandle } from '../../src/simulator';
import { XapiClient } from '../../src/xapi';

const logger = pino({ level: process.env.XCD_TEST_LOG ?? 'silent' });
let sim: SimulatorHandle;
let xapi: XapiClient;
const calls: string[] = [];

beforeAll(async () => {
  sim = await startSimulator({ authFailureDelayMs: 10, timeScale: 0, hosts: 1 });
  xapi = await XapiClient.connect({
    url: sim.url,
    user: sim.user,
    password: sim.password,
    mirror: false,
    callTimeoutMs: 10_000,
  });
  const call = xapi.call.bind(xapi);
  xapi.call = ((method: string, ...args: unknown[]) => {
    calls.push(method);
    return call(method, ...args);
  }) as typeof xapi.call;
});
afterAll(async () => {
  await xapi?.close();
  await sim?.close();
});

/** The journal's messages in the pool, with their records. */
function journalMessages(): Array<{ ref: string; records: JournalRecord[] }> {
  const out: Array<{ ref: string; records: JournalRecord[] }> = [];
  for (const [ref, rec] of sim.store.all('message'))
    if (rec.name === JOURNAL_MESSAGE)
      out.push({ ref, records: (JSON.parse(rec.body as string) as any).records });
  return out;
}

/** Removes every journal message (each test starts from an empty journal). */
function clearJournal(): void {
  for (const { ref } of journalMessages()) sim.store.destroy('message', ref);
}

let serial = 0;
function op(status: PersistedOperation['status'], id = `op-${++serial}`): PersistedOperation {
  const final = status !== 'running';
  return {
    id,
    kind: 'reboot',
    instance_id: 'vm-1',
    status,
    progress: final ? 1 : 0,
    ...(final ? {} : { step: 'queued' }),
    created_at: '2030-01-01T00:00:00.000Z',
    finished_at: final ? `2030-01-01T00:00:0${serial % 10}.000Z` : null,
    error: null,
  };
}

const journal = (opts: ConstructorParameters<typeof OperationJournal>[2] = {}): OperationJournal =>
  new OperationJournal(xapi, logger, { retryMs: 5, ...opts });

beforeEach(() => {
  clearJournal();
  sim.faults.clear();
  calls.length = 0;
});

it('writes records made together in one message (group commit)', async () => {
  const j = journal();
  await j.load();
  calls.length = 0;
  const ops = Array.from({ length: 50 }, () => op('running'));
  for (const o of ops) j.write({ namespace: 'alice', op: o });
  await Promise.all(ops.map((o) => j.whenDurable(o.id)));
  expect(calls.filter((c) => c === 'message.create')).toHaveLength(1);
  const msgs = journalMessages();
  expect(msgs).toHaveLength(1);
  expect(msgs[0].records.map((r) => r.op.id)).toEqual(ops.map((o) => o.id));
  const rec = sim.store.get('message', msgs[0].ref);
  expect(rec).toMatchObject({ cls: 'Pool', priority: 5 });
  expect(rec.obj_uuid).toBe([...sim.store.all('pool').values()][0].uuid);
});

it('keeps the operation fields alone: no transient step, nothing else', async () => {
  const j = journal();
  await j.load();
  const o = { ...op('running'), args: { keep_disks: true } };
  j.write({ namespace: 'alice', op: o });
  await j.whenDurable(o.id);
  const [{ records }] = journalMessages();
  expect(Object.keys(records[0])).toEqual(['namespace', 'op']);
  expect(Object.keys(records[0].op).sort()).toEqual(
    [
      'args',
      'created_at',
      'error',
      'finished_at',
      'id',
      'instance_id',
      'kind',
      'progress',
      'status',
    ].sort(),
  );
});

it('reads back the newest record of each operation, a final one over a running one', async () => {
  const j = journal();
  await j.load();
  const a = op('running');
  const b = op('running');
  j.write({ namespace: 'alice', op: a });
  j.write({ namespace: 'bob', op: b });
  await j.whenDurable(b.id);
  const aDone: PersistedOperation = { ...op('failed', a.id), created_at: a.created_at };
  j.write({ namespace: 'alice', op: aDone });
  await j.whenDurable(a.id);
  expect(journalMessages()).toHaveLength(2);

  const loaded = await journal().load();
  const byId = new Map(loaded.map((r) => [r.op.id, r]));
  expect(byId.get(a.id)).toEqual({ namespace: 'alice', op: aDone });
  expect(byId.get(b.id)?.namespace).toBe('bob');
  expect(byId.get(b.id)?.op.status).toBe('running');
});

it('destroys messages whose records are all superseded or forgotten', async () => {
  const j = journal({ destroyBatch: 1 });
  await j.load();
  const a = op('running');
  j.write({ namespace: 'alice', op: a });
  await j.whenDurable(a.id);
  const first = journalMessages()[0].ref;
  j.write({ namespace: 'alice', op: { ...op('succeeded', a.id) } });
  await j.flush();
  expect(sim.store.has('message', first)).toBe(false);
  expect(journalMessages()).toHaveLength(1);
  j.forget(a.id);
  j.tidySoon();
  await j.flush();
  expect(journalMessages()).toHaveLength(0);
  expect(j.messageCount).toBe(0);
});

it('compacts small messages into few, losing no record', async () => {
  const j = journal({ compactBatch: 4 });
  await j.load();
  const written: PersistedOperation[] = [];
  for (let i = 0; i < 30; i++) {
    const o = op(i % 3 === 0 ? 'running' : 'succeeded');
    written.push(o);
    j.write({ namespace: i % 2 ? 'alice' : 'bob', op: o });
    await j.whenDurable(o.id);
  }
  await j.flush();
  expect(journalMessages().length).toBeLessThanOrEqual(4);
  expect(j.messageCount).toBe(journalMessages().length);
  const loaded = await journal().load();
  const stored = (o: PersistedOperation): PersistedOperation => {
    const rest = { ...o };
    delete rest.step;
    return rest;
  };
  expect(new Map(loaded.map((r) => [r.op.id, r.op]))).toEqual(
    new Map(written.map((o) => [o.id, stored(o)])),
  );
});

it('retries a write that failed; the records stay pending meanwhile', async () => {
  const j = journal();
  await j.load();
  sim.faults.add('fail:message.create:1:INTERNAL_ERROR,disk full');
  const a = op('running');
  j.write({ namespace: 'alice', op: a });
  await expect(j.whenDurable(a.id)).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
  // The retry (a few ms later) writes it; a new wait follows that write.
  await j.whenDurable(a.id);
  expect(journalMessages().flatMap((m) => m.records.map((r) => r.op.id))).toEqual([a.id]);
});

it('finds its messages again after a XAPI restart, and rewrites records XAPI lost', async () => {
  const j = journal({ destroyBatch: 1 });
  await j.load();
  const keep = op('succeeded');
  const lose = op('succeeded');
  const gone = op('running');
  j.write({ namespace: 'alice', op: keep });
  await j.whenDurable(keep.id);
  j.write({ namespace: 'alice', op: lose });
  j.write({ namespace: 'alice', op: gone });
  await j.whenDurable(gone.id);
  expect(journalMessages()).toHaveLength(2);

  await sim.restart(); // every ref changes
  // XAPI loses the message holding `lose` and `gone` (as its message limit would reap it).
  const [lost] = journalMessages().filter((m) => m.records.some((r) => r.op.id === lose.id));
  sim.store.destroy('message', lost.ref);
  // Forgetting `keep` makes its message dead: destroying it meets the changed refs.
  j.forget(keep.id);
  j.forget(gone.id);
  j.tidySoon();
  await j.flush();
  const left = journalMessages();
  expect(left.flatMap((m) => m.records.map((r) => r.op.id))).toEqual([lose.id]);
  expect(j.messageCount).toBe(1);
  const loaded = await journal().load();
  expect(loaded.map((r) => r.op)).toEqual([lose]);
});
