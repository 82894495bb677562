// Crash reconciliation of an iSCSI attach with a real service process: `xcd serve` is killed
// with SIGKILL while an attach is held at SR.scan (after SR.introduce and the PBD plugs, the SR
// tagged 'building'); the restarted service forgets that SR with its PBDs, so the pool holds
// the storage it held before, and the interrupted operation is answered as finished.
import { startSimulator, type SimulatorHandle } from '../../src/simulator';
import {
  killServiceProcess as kill,
  serviceRequest as request,
  startServiceProcess,
} from '../helpers/service-process';
import { connection, registerTarget, storageSnapshot } from './iscsi-helpers';

const TOKEN = 'tok-iscsi-crash';
let sim: SimulatorHandle;

beforeAll(async () => {
  sim = await startSimulator({ authFailureDelayMs: 10, timeScale: 0 });
  registerTarget(sim);
});
afterAll(async () => {
  await sim?.close();
});

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const iscsiSr = (): any => [...sim.store.all('SR').values()].find((sr: any) => sr.type === 'iscsi');

function template(): string {
  for (const vm of sim.store.all('VM').values()) {
    const v = vm as any;
    if (v.is_a_template && !v.is_a_snapshot && /<disk\b/.test(v.other_config?.disks ?? ''))
      return v.uuid;
  }
  throw new Error('no provisioning template');
}

test('a service killed in the middle of an iSCSI attach has its SR forgotten at restart', async () => {
  let svc = await startServiceProcess(sim, { token: TOKEN, namespace: 'crash' });
  try {
    const put = await request(svc, 'PUT', '/v1/instances/crash-vol', { template: template() }, 15);
    expect(put.body.status).toBe('succeeded');
    const before = storageSnapshot(sim);
    sim.faults.add('latency:SR.scan:1500');
    const attach = await request(svc, 'PUT', '/v1/instances/crash-vol/volumes/crash-v1', {
      connection: connection(0),
    });
    expect(attach.status).toBe(202);
    await until(() => {
      const sr = iscsiSr();
      return (
        sr?.other_config?.xcd_state === 'building' &&
        sr.PBDs.length === sim.store.count('host') &&
        sr.PBDs.every((p: string) => (sim.store.find('PBD', p) as any)?.currently_attached)
      );
    });
    await kill(svc);
    sim.faults.clear();
    await new Promise((r) => setTimeout(r, 1600)); // the held scan lands on a pool with no service

    svc = await startServiceProcess(sim, { token: TOKEN, namespace: 'crash' });
    await until(() => iscsiSr() === undefined);
    expect(storageSnapshot(sim)).toEqual(before);
    expect((await request(svc, 'GET', '/v1/instances/crash-vol/volumes')).body.items).toEqual([]);
    const op = await request(svc, 'GET', `/v1/operations/${attach.body.id}`);
    expect(op.status).toBe(200);
    expect(op.body).toMatchObject({ kind: 'attach-volume', status: 'cancelled' });
    // The target can be attached again at once.
    const again = await request(
      svc,
      'PUT',
      '/v1/instances/crash-vol/volumes/crash-v1',
      { connection: connection(0) },
      15,
    );
    expect(again.body).toMatchObject({ status: 'succeeded' });
    expect(iscsiSr()?.other_config?.xcd_state).toBe('active');
  } finally {
    await kill(svc);
  }
}, 60_000);
