// A service process killed (SIGKILL) in the middle of an image upload: the base VDI it was
// writing (tagged importing) is removed when the service starts again, and the image does not
// exist. The service is the real `xcd serve` (test/helpers/service-process.ts).
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { startSimulator, type SimulatorHandle } from '../../src/simulator';
import {
  killServiceProcess,
  startServiceProcess,
  type ServiceProcess,
} from '../helpers/service-process';

const TOKEN = 'tok-image-crash';
const MiB = 1024 * 1024;
let sim: SimulatorHandle;

beforeAll(async () => {
  sim = await startSimulator({ authFailureDelayMs: 10, timeScale: 0 });
});
afterAll(async () => {
  await sim?.close();
});

/** The image's base VDIs in the simulator's store, with their state. */
function bases(id: string): string[] {
  const out: string[] = [];
  for (const vdi of sim.store.all('VDI').values()) {
    const oc = (vdi as any).other_config ?? {};
    if (oc.xcd_image_id === id) out.push(oc.xcd_state);
  }
  return out;
}

async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts an upload of `total` bytes and sends only the first `sent`; the request stays open. */
function partialUpload(svc: ServiceProcess, id: string, total: number, sent: number): void {
  const url = new URL(`${svc.url}/v1/images/${id}?format=raw`);
  const req = request({
    host: url.hostname,
    port: url.port,
    method: 'PUT',
    path: `${url.pathname}${url.search}`,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/octet-stream',
      'content-length': String(total),
    },
  });
  req.on('error', () => undefined);
  req.write(randomBytes(sent));
}

test('a service killed during an upload leaves nothing once it is back', async () => {
  let svc = await startServiceProcess(sim, { token: TOKEN, namespace: 'crash' });
  try {
    partialUpload(svc, 'killed', 64 * MiB, 4 * MiB);
    await until(() => bases('killed').includes('importing'));
    await killServiceProcess(svc);
    svc = await startServiceProcess(sim, { token: TOKEN, namespace: 'crash' });
    await until(() => bases('killed').length === 0);
    // The service answers from its mirror, which shows the removal a moment after the pool.
    const status = async (): Promise<number> =>
      (
        await fetch(`${svc.url}/v1/images/killed`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).status;
    let last = await status();
    for (let i = 0; i < 100 && last !== 404; i++) {
      await new Promise((r) => setTimeout(r, 50));
      last = await status();
    }
    expect(last).toBe(404);
  } finally {
    await killServiceProcess(svc);
  }
}, 60_000);
