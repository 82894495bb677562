// Crash reconciliation with a real service process: `xcd serve --xapi` runs as a child process
// against a simulator in this process, is killed with SIGKILL in the middle of a spawn and of a
// destroy and of a VM.clone (held there by simulator latency faults), and is started again on
// the same pool.
// Afterwards the pool holds either the finished instance or nothing of it, and GET of the
// interrupted operation says what happened.
import { startSimulator, type SimulatorHandle } from '../../src/simulator';
import {
  killServiceProcess as kill,
  serviceRequest as request,
  startServiceProcess,
  type ServiceProcess,
} from '../helpers/service-process';
import { poolSnapshot } from './stack';

const TOKEN = 'tok-crash-operator';

let sim: SimulatorHandle;

beforeAll(async () => {
  sim = await startSimulator({ authFailureDelayMs: 10, timeScale: 0 });
});
afterAll(async () => {
  await sim?.close();
});

const startService = (): Promise<ServiceProcess> =>
  startServiceProcess(sim, { token: TOKEN, namespace: 'crash' });

/** The instance's VM in the simulator's store, if any, with its xcd_state. */
function instanceVm(id: string): { ref: string; state: string; power: string } | undefined {
  for (const [ref, vm] of sim.store.all('VM')) {
    const oc = (vm as any).other_config ?? {};
    if (oc.xcd_instance_id === id && oc.xcd_namespace === 'crash' && !(vm as any).is_a_snapshot)
      return { ref, state: oc.xcd_state, power: (vm as any).power_state };
  }
  return undefined;
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function template(): string {
  for (const vm of sim.store.all('VM').values()) {
    const v = vm as any;
    if (v.is_a_template && !v.is_a_snapshot && /<disk\b/.test(v.other_config?.disks ?? ''))
      return v.uuid;
  }
  throw new Error('no provisioning template');
}

test('a service killed in the middle of a spawn leaves nothing behind after its restart', async () => {
  const before = poolSnapshot(sim);
  // Hold the spawn after its VM exists (tagged 'building') and before it is done.
  sim.faults.add('latency:VM.provision:1500');
  let svc = await startService();
  const put = await request(svc, 'PUT', '/v1/instances/crash-spawn', {
    template: template(),
    disks: [{ size_gb: 1 }],
    nics: [{ network: 'xenbr0' }],
  });
  expect(put.status).toBe(202);
  await until(() => instanceVm('crash-spawn')?.state === 'building');
  await kill(svc);
  sim.faults.clear();
  await new Promise((r) => setTimeout(r, 1600)); // the held call lands on a pool whose service is dead

  svc = await startService();
  try {
    const vm = instanceVm('crash-spawn');
    if (vm) {
      // Either the finished instance ...
      expect(vm).toMatchObject({ state: 'active', power: 'Running' });
    } else {
      // ... or nothing of it.
      expect(poolSnapshot(sim)).toEqual(before);
      expect((await request(svc, 'GET', '/v1/instances/crash-spawn')).status).toBe(404);
    }
    const op = await request(svc, 'GET', `/v1/operations/${put.body.id}`);
    expect(op.status).toBe(200);
    expect(op.body).toMatchObject({
      id: put.body.id,
      kind: 'spawn',
      status: 'cancelled',
      error: { code: 'cancelled' },
    });
    expect(op.body.error.detail).toMatch(/service stopped during the spawn/);
  } finally {
    await kill(svc);
  }
}, 40_000);

test('a service killed in the middle of a destroy has it finished at its restart', async () => {
  const before = poolSnapshot(sim);
  let svc = await startService();
  const put = await request(
    svc,
    'PUT',
    '/v1/instances/crash-destroy',
    { template: template(), disks: [{ size_gb: 1 }], nics: [{ network: 'xenbr0' }] },
    15,
  );
  expect([put.status, put.body.status]).toEqual([200, 'succeeded']);
  const snap = await request(svc, 'PUT', '/v1/instances/crash-destroy/snapshots/s1', {}, 15);
  expect(snap.body.status).toBe('succeeded');
  expect(poolSnapshot(sim)).not.toEqual(before);

  // Hold the destroy after it marked the VM 'deleting'.
  sim.faults.add('latency:VM.hard_shutdown:1500');
  const del = await request(svc, 'DELETE', '/v1/instances/crash-destroy');
  expect(del.status).toBe(202);
  await until(() => instanceVm('crash-destroy')?.state === 'deleting');
  await kill(svc);
  sim.faults.clear();
  await new Promise((r) => setTimeout(r, 1600));

  svc = await startService();
  try {
    expect(instanceVm('crash-destroy')).toBeUndefined();
    expect(poolSnapshot(sim)).toEqual(before);
    expect((await request(svc, 'DELETE', '/v1/instances/crash-destroy')).status).toBe(204);
    const op = await request(svc, 'GET', `/v1/operations/${del.body.id}`);
    expect(op.body).toMatchObject({ id: del.body.id, kind: 'destroy', status: 'succeeded' });
  } finally {
    await kill(svc);
  }
}, 40_000);

test('a service killed during VM.clone leaves no clone behind after its restart (it leaked before)', async () => {
  const before = poolSnapshot(sim);
  const reserved = (): boolean =>
    [...sim.store.all('VM').values()].some((vm) =>
      String((vm as any).name_label).startsWith('xcd-building/crash/crash-clone'),
    );
  sim.faults.add('latency:VM.clone:800');
  let svc = await startService();
  const put = await request(svc, 'PUT', '/v1/instances/crash-clone', { template: template() });
  expect(put.status).toBe(202);
  // Kill once the spawn is in its clone step and the held call has gone out.
  for (let i = 0; ; i++) {
    const op = await request(svc, 'GET', `/v1/operations/${put.body.id}`);
    if (op.body.step === 'clone') break;
    if (i > 200)
      throw new Error(`the spawn never reached its clone step: ${JSON.stringify(op.body)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 200));
  await kill(svc);
  sim.faults.clear();
  // The held clone lands on a pool whose service is dead: untagged, under the reserved name.
  await until(reserved, 5000);
  expect(instanceVm('crash-clone')).toBeUndefined();

  svc = await startService();
  try {
    expect(reserved()).toBe(false);
    expect(poolSnapshot(sim)).toEqual(before);
    expect((await request(svc, 'GET', '/v1/instances/crash-clone')).status).toBe(404);
  } finally {
    await kill(svc);
  }
}, 40_000);
