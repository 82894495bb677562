// Boot from volume over HTTP on the real stack (responses validated against the spec): a spawn
// with `root_volume` and Cinder's connection_info boots from the LUN at device 0, listed by
// /volumes; its destroy forgets the target's SR; bodies the contract refuses (400), an unknown
// LUN (404 iscsi_lun_not_found); and the CHAP password in no answer nor log line (debug level).
import { Writable } from 'node:stream';
import { createLogger } from '../../src/api/logger';
import { SECRET, connection, registerTarget } from '../driver/iscsi-helpers';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
const lines: string[] = [];
const wait = { prefer: 'wait=15' };

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  stack = await startStack({ logger: createLogger({ level: 'debug' }, sink) });
  registerTarget(stack.sim);
});
afterAll(async () => {
  await stack?.close();
});

const iscsiSrs = (): unknown[] =>
  [...stack.sim.store.all('SR').values()].filter((sr) => sr.type === 'iscsi');

test('a spawn boots from an iSCSI LUN; its destroy forgets the SR', async () => {
  const spawned = await stack.request('PUT', '/v1/instances/bfv-http', {
    body: { root_volume: { volume_id: 'vol-http', connection: connection(0) }, memory_mb: 256 },
    headers: wait,
  });
  expect([spawned.status, spawned.body.status, spawned.body.error]).toEqual([
    200,
    'succeeded',
    null,
  ]);
  expect(spawned.body.result).toMatchObject({
    power_state: 'running',
    template: 'volume:vol-http',
  });
  expect(JSON.stringify(spawned.body)).not.toContain(SECRET);
  const volumes = (await stack.request('GET', '/v1/instances/bfv-http/volumes')).body.items;
  expect(volumes).toEqual([
    expect.objectContaining({ volume_id: 'vol-http', device: '0', bootable: true }),
  ]);
  expect(iscsiSrs()).toHaveLength(1);
  const gone = await stack.request('DELETE', '/v1/instances/bfv-http', { headers: wait });
  expect([gone.status, gone.body.status]).toEqual([200, 'succeeded']);
  expect(iscsiSrs()).toHaveLength(0);
  expect(lines.join('')).not.toContain(SECRET);
});

test('bad root volumes are refused with their codes, and no instance is made', async () => {
  for (const [body, status, code] of [
    [{ root_volume: {} }, 400, 'invalid_request'],
    [{ root_volume: { volume_id: 'v', extra: 1 } }, 400, 'invalid_request'],
    [{ root_volume: { volume_id: 'v' }, template: 'x' }, 400, 'invalid_request'],
    [
      { root_volume: { volume_id: 'v', connection: connection(0) }, root_disk_gb: 5 },
      400,
      'invalid_request',
    ],
    [
      { root_volume: { volume_id: '00000000-0000-0000-0000-000000000000' } },
      404,
      'volume_not_found',
    ],
  ] as const) {
    const res = await stack.request('PUT', '/v1/instances/bfv-bad', { body, headers: wait });
    expect([JSON.stringify(body), res.status, res.body.code]).toEqual([
      JSON.stringify(body),
      status,
      code,
    ]);
  }
  const noLun = await stack.request('PUT', '/v1/instances/bfv-bad', {
    body: { root_volume: { volume_id: 'v9', connection: connection(9) } },
    headers: wait,
  });
  expect([noLun.status, noLun.body.status, noLun.body.error?.code]).toEqual([
    200,
    'failed',
    'iscsi_lun_not_found',
  ]);
  const gone = await stack.request('GET', '/v1/instances/bfv-bad');
  expect([gone.status, gone.body.code]).toEqual([404, 'instance_not_found']);
  expect(iscsiSrs()).toHaveLength(0);
});
