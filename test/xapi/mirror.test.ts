// The native mirror against the simulator's store: initial load, adds, modifications and deletes
// arriving as batched change events, narrow queries (filters on scalar fields, map keys, sets;
// fields; limit/offset; counts), EVENTS_LOST and a xapi restart forcing a resync.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { SimulatorHandle } from '../../src/simulator';
import type { MirrorChange, XapiClient } from '../../src/xapi';
import { PROTOCOLS, closeAll, connect, sim, until } from './fixtures';

let s: SimulatorHandle;
beforeAll(async () => {
  s = await sim({ vms: 40 });
});
afterAll(async () => {
  await closeAll();
  await s.close();
});

describe.each(PROTOCOLS)('mirror over %s', (protocol) => {
  let c: XapiClient;
  const batches: MirrorChange[][] = [];
  beforeAll(async () => {
    c = await connect(s, { protocol });
    c.mirror.on('change', (b) => batches.push(b));
  });
  const seen = (pred: (ch: MirrorChange) => boolean): boolean => batches.some((b) => b.some(pred));

  test('the initial load matches the pool', () => {
    expect(c.mirror.synced).toBe(true);
    for (const cls of [
      'VM',
      'VM_metrics',
      'host',
      'SR',
      'VDI',
      'VBD',
      'VIF',
      'network',
      'pool',
      'console',
    ] as const) {
      expect(c.mirror.count(cls)).toBe(s.store.count(cls));
    }
    const [vmRef, vmRec] = [...s.store.all('VM').entries()][3];
    const rec = c.mirror.get('VM', vmRef)!;
    expect(rec.$ref).toBe(vmRef);
    expect(rec.uuid).toBe(vmRec.uuid);
    expect(rec.name_label).toBe(vmRec.name_label);
    expect(rec.memory_static_max).toBe(Number(vmRec.memory_static_max));
    expect(c.mirror.getByUuid('VM', vmRec.uuid as string)!.$ref).toBe(vmRef);
    expect(c.mirror.get('VM', 'OpaqueRef:nope')).toBeUndefined();
  });

  test('adds, modifications and deletes arrive as batched changes', async () => {
    const vmRef = s.store.create('VM', {
      name_label: `mirror-add-${protocol}`,
      other_config: { xcd_namespace: 'ns1' },
    });
    const uuid = s.store.get('VM', vmRef).uuid as string;
    // The record is readable first; its change event follows through the event pump.
    await until(
      () =>
        seen((ch) => ch.op === 'add' && ch.ref === vmRef && ch.uuid === uuid && ch.cls === 'VM'),
      3000,
      'add',
    );
    expect(c.mirror.get('VM', vmRef)!.name_label).toBe(`mirror-add-${protocol}`);
    s.store.update('VM', vmRef, { name_description: 'changed' });
    await until(() => seen((ch) => ch.op === 'mod' && ch.ref === vmRef), 3000, 'mod');
    expect(c.mirror.get('VM', vmRef)!.name_description).toBe('changed');
    s.store.destroy('VM', vmRef);
    await until(
      () => seen((ch) => ch.op === 'del' && ch.ref === vmRef && ch.uuid === uuid),
      3000,
      'del',
    );
    expect(c.mirror.get('VM', vmRef)).toBeUndefined();
    expect(c.mirror.getByUuid('VM', uuid)).toBeUndefined();
  });

  test('queries filter on scalars, map keys and sets, with fields, limit and offset', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      made.push(
        s.store.create('VM', {
          name_label: `q-${protocol}-${i}`,
          other_config: { xcd_namespace: i < 3 ? `tenant-${protocol}` : 'other' },
          tags: i === 0 ? ['gold'] : [],
          VCPUs_max: i + 1,
        }),
      );
    }
    await until(() => made.every((r) => c.mirror.get('VM', r)), 3000, 'adds');
    const ns = { 'other_config.xcd_namespace': `tenant-${protocol}` };
    const rows = c.mirror.query('VM', { where: ns, fields: ['name_label', 'VCPUs_max'] });
    expect(rows.map((r) => r.name_label).sort()).toEqual(
      [0, 1, 2].map((i) => `q-${protocol}-${i}`),
    );
    expect(Object.keys(rows[0]).sort()).toEqual(['$ref', 'VCPUs_max', 'name_label']);
    expect(c.mirror.count('VM', ns)).toBe(3);
    expect(c.mirror.count('VM', { ...ns, VCPUs_max: { in: [1, 3] } })).toBe(2);
    expect(c.mirror.count('VM', { tags: 'gold', name_label: `q-${protocol}-0` })).toBe(1);
    expect(
      c.mirror.count('VM', { 'other_config.xcd_namespace': { exists: true } }),
    ).toBeGreaterThanOrEqual(5);
    expect(c.mirror.count('VM', { 'other_config.xcd_namespace': { exists: false } })).toBe(
      c.mirror.count('VM') -
        c.mirror.count('VM', { 'other_config.xcd_namespace': { exists: true } }),
    );
    const page1 = c.mirror.query('VM', { where: ns, fields: ['uuid'], limit: 2 });
    const page2 = c.mirror.query('VM', { where: ns, fields: ['uuid'], limit: 2, offset: 2 });
    expect(page1).toHaveLength(2);
    expect(page2).toHaveLength(1);
    expect(new Set([...page1, ...page2].map((r) => r.$ref)).size).toBe(3);
    expect(
      c.mirror.query('VM', { where: { is_a_template: true } }).every((r) => r.is_a_template),
    ).toBe(true);
    for (const r of made) s.store.destroy('VM', r);
  });

  test('datetimes read back as Dates; values JSON cannot carry read back exactly', async () => {
    const metricsRef = [...s.store.all('VM_metrics').keys()][0];
    const m = c.mirror.get('VM_metrics', metricsRef)!;
    expect(Object.prototype.toString.call(m.start_time)).toBe('[object Date]');
    const vmRef = s.store.create('VM', {
      name_label: `edge-${protocol}`,
      HVM_shadow_multiplier: Infinity,
      memory_static_max: 2 ** 53 + 2,
    });
    await until(() => c.mirror.get('VM', vmRef) !== undefined, 3000, 'edge VM');
    const rec = c.mirror.get('VM', vmRef)!;
    expect(rec.HVM_shadow_multiplier).toBe(Infinity);
    expect(rec.memory_static_max).toBe(BigInt(2) ** BigInt(53) + BigInt(2)); // beyond 2^53: a BigInt
    const rows = c.mirror.query('VM', {
      where: { name_label: `edge-${protocol}` },
      fields: ['HVM_shadow_multiplier'],
    });
    expect(rows[0].HVM_shadow_multiplier).toBe(Infinity);
    s.store.destroy('VM', vmRef);
  });

  test('invalid queries are refused with exact errors', () => {
    expect(() => c.mirror.count('PIF' as 'VM')).toThrow(/mirrored class/);
    expect(() => c.mirror.query('VM', { where: { no_such_field: 1 } })).toThrow(/field of VM/);
    expect(() => c.mirror.query('VM', { fields: ['nope' as 'uuid'] })).toThrow(/field of VM/);
    expect(() => c.mirror.query('VM', { limit: -1 })).toThrow(RangeError);
    expect(() => c.mirror.query('VM', { where: { name_label: { like: 'x' } as never } })).toThrow(
      /scalar/,
    );
  });
});

test('EVENTS_LOST makes the mirror resync and report the differences', async () => {
  await closeAll(); // the fault hits the next event.from of any client: be the only one
  const c = await connect(s);
  const batches: MirrorChange[][] = [];
  c.mirror.on('change', (b) => batches.push(b));
  s.faults.add('fail:event.from:1:EVENTS_LOST');
  // Changes made while the stream is lost must come back through the resync's differences.
  const vmRef = s.store.create('VM', { name_label: 'after-lost' });
  await until(() => c.connection.resyncs >= 1, 5000, 'resync');
  await until(
    () => batches.some((b) => b.some((ch) => ch.op === 'add' && ch.ref === vmRef)),
    3000,
    'add',
  );
  expect(c.mirror.count('VM')).toBe(s.store.count('VM'));
  s.store.destroy('VM', vmRef);
});

test('a xapi restart changes every ref: the mirror reloads under the new refs', async () => {
  const c = await connect(s, { protocol: 'xml-rpc' });
  const uuids = [...s.store.all('VM').values()].map((r) => r.uuid as string);
  const oldRefs = uuids.map((u) => c.mirror.getByUuid('VM', u)!.$ref);
  const batches: MirrorChange[][] = [];
  c.mirror.on('change', (b) => batches.push(b));
  await s.restart();
  const dels = (): number =>
    batches.flat().filter((ch) => ch.op === 'del' && ch.cls === 'VM').length;
  await until(() => dels() === uuids.length, 5000, 'reload');
  for (const u of uuids) expect(oldRefs).not.toContain(c.mirror.getByUuid('VM', u)!.$ref);
  expect(c.mirror.count('VM')).toBe(uuids.length);
});

test.each(['json-rpc', 'xml-rpc'] as const)(
  'a large pool loads through the two-thread decoder over %s and matches the store',
  async (protocol) => {
    const big = await sim({ vms: 900, seed: 'default' });
    try {
      const c = await connect(big, { protocol, mirror: ['VM'] });
      expect(c.mirror.count('VM')).toBe(big.store.count('VM'));
      for (const [ref, rec] of [...big.store.all('VM').entries()].filter((_, i) => i % 97 === 0)) {
        const got = c.mirror.get('VM', ref)!;
        expect(got.uuid).toBe(rec.uuid);
        expect(got.name_label).toBe(rec.name_label);
        expect(got.VCPUs_max).toBe(Number(rec.VCPUs_max));
        expect(got.other_config).toEqual(rec.other_config);
      }
      await c.close();
    } finally {
      await big.close();
    }
  },
  20000,
);

// The simulator runs in a child process so it keeps changing while this JS thread is blocked.
describe('changes that pile up while JS is busy', () => {
  const child = spawn(
    process.execPath,
    [require.resolve('tsx/cli'), path.join(__dirname, 'burst-sim-child.ts')],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => (await lines.next()).value as string;
  let info: { url: string; user: string; password: string; taskRef: string };
  let c: XapiClient;
  const batches: MirrorChange[][] = [];
  const blockFor = (ms: number): void => {
    const end = Date.now() + ms;
    while (Date.now() < end); // the JS thread is busy; the event stream threads are not
  };
  beforeAll(async () => {
    info = JSON.parse(await nextLine());
    c = await connect({ ...info, hostUrls: [] } as unknown as SimulatorHandle, {
      mirror: ['task'],
    });
    c.mirror.on('change', (b) => batches.push(b));
  }, 20000);
  afterAll(async () => {
    await c?.close();
    child.stdin!.end();
    await new Promise((r) => child.once('exit', r));
  });

  test('a burst of modifications of one object reaches JS as few changes', async () => {
    child.stdin!.write('burst 300\n');
    expect(await nextLine()).toBe('started');
    blockFor(1000);
    expect(await nextLine()).toBe('done');
    const last = (): boolean =>
      c.mirror.get('task', info.taskRef)?.progress === 1 &&
      batches.some((b) => b.some((ch) => ch.ref === info.taskRef));
    await until(last, 5000, 'the last progress');
    const mine = batches.flat().filter((ch) => ch.ref === info.taskRef);
    // One entry per object per batch, whatever the number of events behind it.
    for (const b of batches)
      expect(b.filter((ch) => ch.ref === info.taskRef).length).toBeLessThanOrEqual(1);
    expect(mine.length).toBeLessThan(60);
    expect(mine.every((ch) => ch.op === 'mod')).toBe(true);
  });

  test('an object added and deleted while JS was busy arrives as one del', async () => {
    batches.length = 0;
    child.stdin!.write('churn\n');
    expect(await nextLine()).toBe('started');
    blockFor(500);
    const ref = (await nextLine()).replace(/^done /, '');
    await until(() => batches.flat().some((ch) => ch.ref === ref), 5000, 'the churned task');
    const mine = batches.flat().filter((ch) => ch.ref === ref);
    expect(mine).toEqual([{ cls: 'task', ref, op: 'del', uuid: expect.any(String) }]);
  });
});
