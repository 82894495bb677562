// `npm run bench:images`: image uploads and spawns from images, side by side in one run. The
// simulator (xapi 25.27) and the service (`xcd serve`, from src/ with tsx) run in processes of
// their own. Figures: upload throughput through the service against a plain HTTP PUT of the
// same file straight to the simulator's /import_raw_vdi (target >= 0.7x); the service's RSS
// growth during a 2 GiB upload (target <= 64 MiB); a spawn from a cached image against one from
// a template (target <= 1.2x). Prints each figure, met or not; exits 1 when one is missed.
import { createReadStream, openSync, closeSync, writeSync, mkdtempSync, rmSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { XapiClient } from '../src/xapi';
import { startSimProcess } from './sim-process';
import { killServiceProcess, startServiceProcess } from '../test/helpers/service-process';

const MiB = 1024 * 1024;
const TOKEN = 'bench-images-token';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    'rss-size-mib': { type: 'string', default: '2048' },
    rounds: { type: 'string', default: '3' },
    spawns: { type: 'string', default: '15' },
  },
});
const sizeMib = Number(values['size-mib']);
const rssSizeMib = Number(values['rss-size-mib']);
const rounds = Number(values.rounds);
const spawns = Number(values.spawns);

/** A file of `mib` MiB of incompressible bytes (a 16 MiB random block repeated). */
function makeFile(dir: string, mib: number): string {
  const file = join(dir, `disk-${mib}.raw`);
  const block = randomBytes(16 * MiB);
  const fd = openSync(file, 'w');
  for (let done = 0; done < mib; done += 16)
    writeSync(fd, block, 0, Math.min(16, mib - done) * MiB);
  closeSync(fd);
  return file;
}

/** PUTs the file to `url`; resolves with the seconds until the whole answer arrived. */
function put(
  url: string,
  file: string,
  bytes: number,
  headers: Record<string, string>,
): Promise<{ s: number; status: number; body: string }> {
  const u = new URL(url);
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: 'PUT',
        path: `${u.pathname}${u.search}`,
        agent: false, // a fresh connection each time: no idle socket closed under us
        headers: { 'content-length': String(bytes), ...headers },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          resolve({
            s: Number(process.hrtime.bigint() - t0) / 1e9,
            status: res.statusCode ?? 0,
            body,
          }),
        );
      },
    );
    req.on('error', reject);
    createReadStream(file, { highWaterMark: 1 * MiB }).pipe(req);
  });
}

/** The process's resident set (0 once it is gone). */
function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xcd-bench-images-'));
  const sim = await startSimProcess([
    '--time-scale',
    '0',
    '--auth-failure-delay',
    '10',
    '--xapi-version',
    '25.27.0',
  ]);
  const svc = await startServiceProcess(sim, { token: TOKEN, namespace: 'bench' });
  const xapi = await XapiClient.connect({ url: sim.url, user: sim.user, password: sim.password });
  const results: Array<[string, string, boolean]> = [];
  try {
    const pool = xapi.mirror.query('pool', { fields: ['default_SR'] })[0];
    const srRef = pool.default_SR;
    const auth = { authorization: `Bearer ${TOKEN}` };

    // ---- throughput: the service against a plain PUT to the simulator, alternated ----
    const file = makeFile(dir, sizeMib);
    const bytes = sizeMib * MiB;
    const direct: number[] = [];
    const service: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const vdiRef = await xapi.call<string>('VDI.create', {
        name_label: 'bench direct',
        name_description: '',
        SR: srRef,
        virtual_size: String(bytes),
        type: 'user',
        sharable: false,
        read_only: false,
        other_config: {},
        xenstore_data: {},
        sm_config: {},
        tags: [],
      });
      const taskRef = await xapi.call<string>('task.create', 'bench import', '');
      const qs = new URLSearchParams({
        session_id: xapi.sessionRef,
        vdi: vdiRef,
        format: 'raw',
        task_id: taskRef,
      });
      const d = await put(`${sim.url}/import_raw_vdi?${qs}`, file, bytes, {});
      direct.push(bytes / MiB / d.s);
      await xapi.call('task.destroy', taskRef).catch(() => undefined);
      await xapi.call('VDI.destroy', vdiRef);

      const s = await put(`${svc.url}/v1/images/tp-${r}?format=raw`, file, bytes, {
        ...auth,
        'content-type': 'application/octet-stream',
        prefer: 'wait=300',
      });
      const op = JSON.parse(s.body);
      if (op.status !== 'succeeded') throw new Error(`upload failed: ${s.body}`);
      service.push(bytes / MiB / s.s);
      await fetch(`${svc.url}/v1/images/tp-${r}`, { method: 'DELETE', headers: auth });
    }
    const ratio = median(service) / median(direct);
    console.log(
      `upload ${sizeMib} MiB x${rounds}: service ${median(service).toFixed(0)} MiB/s, direct PUT ${median(direct).toFixed(0)} MiB/s`,
    );
    results.push([
      'upload throughput service/direct',
      `${ratio.toFixed(2)}x (target >= 0.70x)`,
      ratio >= 0.7,
    ]);

    // ---- RSS growth during a large upload ----
    const big = rssSizeMib === sizeMib ? file : makeFile(dir, rssSizeMib);
    const pid = svc.proc.pid!;
    const baseline = rssOf(pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
    const up = await put(`${svc.url}/v1/images/rss?format=raw`, big, rssSizeMib * MiB, {
      ...auth,
      'content-type': 'application/octet-stream',
      prefer: 'wait=300',
    });
    clearInterval(sampler);
    if (JSON.parse(up.body).status !== 'succeeded') throw new Error(`upload failed: ${up.body}`);
    const growth = (peak - baseline) / MiB;
    console.log(
      `upload ${rssSizeMib} MiB: service RSS ${(baseline / MiB).toFixed(0)} -> peak ${(peak / MiB).toFixed(0)} MiB`,
    );
    results.push([
      `service RSS growth, ${rssSizeMib} MiB upload`,
      `${growth.toFixed(1)} MiB (target <= 64 MiB)`,
      growth <= 64,
    ]);

    // ---- spawn from a cached image against one from a template, alternated ----
    const small = makeFile(dir, 16);
    const img = await put(`${svc.url}/v1/images/spawn-img?format=raw`, small, 16 * MiB, {
      ...auth,
      'content-type': 'application/octet-stream',
      prefer: 'wait=60',
    });
    if (JSON.parse(img.body).status !== 'succeeded') throw new Error(`upload failed: ${img.body}`);
    const templates = (await (
      await fetch(`${svc.url}/v1/templates`, { headers: auth })
    ).json()) as {
      items: Array<{ uuid: string }>;
    };
    const template = templates.items[0].uuid;
    const spawnOnce = async (id: string, body: object): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const res = await fetch(`${svc.url}/v1/instances/${id}`, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'application/json', prefer: 'wait=60' },
        body: JSON.stringify({ ...body, power_on: false }),
      });
      const op = (await res.json()) as { status: string };
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (op.status !== 'succeeded') throw new Error(`spawn ${id} failed: ${JSON.stringify(op)}`);
      return s;
    };
    // The first spawn from the image makes nothing new (its base is in the default SR): warm both.
    await spawnOnce('warm-img', { image: 'spawn-img' });
    await spawnOnce('warm-tpl', { template });
    const fromImage: number[] = [];
    const fromTemplate: number[] = [];
    for (let i = 0; i < spawns; i++) {
      fromTemplate.push(await spawnOnce(`tpl-${i}`, { template }));
      fromImage.push(await spawnOnce(`img-${i}`, { image: 'spawn-img' }));
    }
    const spawnRatio = median(fromImage) / median(fromTemplate);
    console.log(
      `spawn x${spawns}: from cached image ${(median(fromImage) * 1000).toFixed(1)} ms, from template ${(median(fromTemplate) * 1000).toFixed(1)} ms (medians)`,
    );
    results.push([
      'spawn from cached image / from template',
      `${spawnRatio.toFixed(2)}x (target <= 1.20x)`,
      spawnRatio <= 1.2,
    ]);
  } catch (err) {
    await new Promise((r) => setTimeout(r, 500));
    console.error(`service:\n${svc.output().slice(-6000)}`);
    throw err;
  } finally {
    await xapi.close().catch(() => undefined);
    await killServiceProcess(svc);
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('');
  for (const [what, figure, met] of results)
    console.log(`${met ? 'met   ' : 'MISSED'} ${what}: ${figure}`);
  if (results.some(([, , met]) => !met)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
