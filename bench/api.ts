// `npm run bench:api`: the REST service on a simulated pool of 10,000 VMs (BENCH_VMS), the
// simulator in its own process, against a bare Node http server in its own process serving the
// same bytes (the ceiling). wrk (apt-get install -y wrk) loads both with GET of one instance
// and GET of the instance list (100 per page): p99 at 10 clients, req/s at 200. XAPI calls made
// meanwhile are counted (target 0). Then 200 spawn-and-destroy cycles at concurrency 20 with a
// leftover check, and the power-cycle row (bench/power-cycle.ts). Prints each target, met or not.
// `-- --reads-only` runs the read rows alone; `-- --profile PREFIX` writes CPU profiles of the
// service during its 200-client loads (PREFIX-get.cpuprofile, PREFIX-list.cpuprofile).
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { TokenStore } from '../src/api/auth';
import { Metrics } from '../src/api/metrics';
import { createApp, createServer } from '../src/app';
import { ComputeDriver } from '../src/driver';
import { LEASE_PREFIX } from '../src/driver/lease';
import { XapiClient } from '../src/xapi';
import { requireWrk, startBarePeer, wrkLoad, type Load } from './http-load';
import { powerCycleRow, printPowerCycle } from './power-cycle';
import { listen, RestClient } from './rest';
import { startSimProcess } from './sim-process';

const VMS = Number(process.env.BENCH_VMS ?? 10000);
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 200);
const CYCLE_CONCURRENCY = Number(process.env.BENCH_CYCLE_CONCURRENCY ?? 20);
const TOKEN = 'bench-token';
const READS_ONLY = process.argv.includes('--reads-only');
const PROFILE = process.argv.includes('--profile')
  ? process.argv[process.argv.indexOf('--profile') + 1]
  : undefined;

/** Read targets: throughput against the bare server at 200 clients, p99 at 10 (the power
 * cycle's is in power-cycle.ts). */
const TARGET = { ratio: 0.3, p99_ms: 5 };

const fmt = (n: number, d = 2): string => n.toFixed(d);
const load = (): string =>
  loadavg()
    .map((l) => fmt(l))
    .join(' ');
const verdict = (met: boolean): string => (met ? 'met' : 'NOT met');

async function main(): Promise<void> {
  await requireWrk();
  console.log(`load average at start: ${load()}`);
  const t0 = performance.now();
  const sim = await startSimProcess([
    '--vms',
    String(VMS),
    '--time-scale',
    '0',
    '--auth-failure-delay',
    '10',
  ]);
  const xapi = await XapiClient.connect({ url: sim.url, user: sim.user, password: sim.password });
  const syncS = (performance.now() - t0) / 1000;
  let xapiCalls = 0;
  let leaseCalls = 0;
  /** Calls per method, while `byMethod` is set. */
  let byMethod: Map<string, number> | undefined;
  const counted = (m: string, args: unknown[] = []): void => {
    // The service's lease renewals run on their own clock: counted apart.
    if (String(args[1]).startsWith(LEASE_PREFIX)) {
      leaseCalls++;
      return;
    }
    xapiCalls++;
    byMethod?.set(m, (byMethod.get(m) ?? 0) + 1);
  };
  const call = xapi.call.bind(xapi);
  const callAsync = xapi.callAsync.bind(xapi);
  Object.assign(xapi, {
    call: (m: string, ...a: unknown[]) => (counted(m, a), call(m, ...a)),
    callAsync: (m: string, a: unknown[], o?: Parameters<XapiClient['callAsync']>[2]) => (
      counted(`Async.${m}`),
      callAsync(m, a, o)
    ),
  });
  const metrics = new Metrics();
  metrics.instrumentXapi(xapi);
  metrics.watchMirror(xapi.mirror);
  const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
  const driver = new ComputeDriver(xapi, { logger });
  await driver.start();
  const auth = new TokenStore().addToken(TOKEN, { id: 'bench', namespace: 'bench', role: 'admin' });
  const server = createServer(createApp({ driver, auth, logger, metrics }));
  server.keepAliveTimeout = 60_000;
  const url = await listen(server);
  const rest = new RestClient(url, TOKEN);
  console.log(
    `pool: ${VMS} VMs, ${xapi.mirror.count('host')} hosts; connect + mirror sync ${fmt(syncS)} s`,
  );

  const template = (await rest.send('GET', '/v1/templates')).json.items[0].name_label as string;
  const ids = Array.from({ length: INSTANCES }, (_, i) => `bench-${i}`);
  for (let i = 0; i < ids.length; i += 20)
    await Promise.all(
      ids
        .slice(i, i + 20)
        .map((id) => rest.succeed('PUT', `/v1/instances/${id}`, { template, power_on: false })),
    );

  // What the service answers, byte for byte, is what the bare peer serves.
  const getPaths = ids.map((id) => `/v1/instances/${id}`);
  const listPaths = ['/v1/instances?limit=100'];
  const bodies: Record<string, string> = {};
  for (const path of [...getPaths, ...listPaths]) {
    const a = await rest.send('GET', path);
    if (a.status !== 200) throw new Error(`GET ${path} answered ${a.status}`);
    bodies[path] = a.text;
  }
  const listed = JSON.parse(bodies[listPaths[0]]) as { items: unknown[] };
  if (listed.items.length !== Math.min(100, INSTANCES))
    throw new Error(`the list holds ${listed.items.length} instances`);
  const peer = await startBarePeer(bodies);
  // The spawns' writes behind their answers (tags, journal) end before the reads are counted.
  for (let quiet = 0, waits = 0; quiet < 4 && waits < 40; waits++) {
    const seen = xapiCalls;
    await new Promise((resolve) => setTimeout(resolve, 250));
    quiet = xapiCalls === seen ? quiet + 1 : 0;
  }

  const profiler = PROFILE ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
  }
  const profiled = async (name: string, run: () => Promise<Load>): Promise<Load> => {
    if (!profiler) return run();
    await profiler.post('Profiler.start');
    try {
      return await run();
    } finally {
      const { profile } = await profiler.post('Profiler.stop');
      await writeFile(`${PROFILE}-${name}.cpuprofile`, JSON.stringify(profile));
    }
  };
  const headers = { authorization: `Bearer ${TOKEN}` };
  const service = (paths: string[], connections: number): Promise<Load> =>
    wrkLoad({ url, paths, connections, seconds: SECONDS, serverPid: process.pid, headers });
  const bare = (paths: string[], connections: number): Promise<Load> =>
    wrkLoad({ url: peer.url, paths, connections, seconds: SECONDS, serverPid: peer.pid, headers });

  const before = xapiCalls;
  const leaseBefore = leaseCalls;
  byMethod = new Map();
  const rows: Array<[string, Load]> = [];
  const measured: Record<string, { svc10: Load; svc200: Load; bare200: Load }> = {};
  for (const [name, paths] of [
    ['get', getPaths],
    ['list', listPaths],
  ] as const) {
    const svc10 = await service(paths, 10);
    const bare10 = await bare(paths, 10);
    const svc200 = await profiled(name, () => service(paths, 200));
    const bare200 = await bare(paths, 200);
    measured[name] = { svc10, svc200, bare200 };
    rows.push(
      [`${name}: service, 10 clients`, svc10],
      [`${name}: bare, 10 clients`, bare10],
      [`${name}: service, 200 clients`, svc200],
      [`${name}: bare, 200 clients`, bare200],
    );
  }
  const readCalls = xapiCalls - before;
  await peer.close();

  const oneSize = Buffer.byteLength(bodies[getPaths[0]]);
  const listSize = Buffer.byteLength(bodies[listPaths[0]]);
  console.log(
    `\nget: GET /v1/instances/{id} (${INSTANCES} instances in turn, ${oneSize} B); ` +
      `list: GET /v1/instances?limit=100 (${listSize} B); wrk, 1 thread, ${SECONDS} s per run`,
  );
  console.log(
    '                             requests/s    p50 ms   p99 ms   errors   server CPU us/req',
  );
  for (const [name, l] of rows)
    console.log(
      `${name.padEnd(29)}${fmt(l.rps, 0).padStart(10)}${fmt(l.p50_ms).padStart(10)}${fmt(l.p99_ms).padStart(9)}${String(l.errors).padStart(9)}${fmt(l.cpu_us, 0).padStart(20)}`,
    );
  let errors = 0;
  for (const [name, m] of Object.entries(measured)) {
    const ratio = m.svc200.rps / m.bare200.rps;
    errors += m.svc10.errors + m.svc200.errors;
    console.log(
      `${name}: service / bare req/s at 200 clients ${fmt(ratio)}x (target >= ${TARGET.ratio}x: ${verdict(ratio >= TARGET.ratio)}); ` +
        `p99 at 10 clients ${fmt(m.svc10.p99_ms)} ms (target <= ${TARGET.p99_ms} ms: ${verdict(m.svc10.p99_ms <= TARGET.p99_ms)}); ` +
        `CPU per request, bare / service ${fmt(m.bare200.cpu_us / m.svc200.cpu_us)}`,
    );
  }
  const methods = [...byMethod].map(([m, n]) => `${m} x${n}`).join(', ');
  byMethod = undefined;
  console.log(
    `errors ${errors}, XAPI calls during the reads ${readCalls}${methods ? ` (${methods})` : ''} (target 0; ` +
      `besides, ${leaseCalls - leaseBefore} lease renewal calls)`,
  );
  console.log(`load average after the reads: ${load()}`);

  for (let i = 0; i < ids.length; i += 20)
    await Promise.all(
      ids.slice(i, i + 20).map((id) => rest.succeed('DELETE', `/v1/instances/${id}`)),
    );
  const close = async (): Promise<void> => {
    rest.close();
    server.closeAllConnections();
    server.close();
    await driver.close();
    await xapi.close();
    await sim.close();
  };
  if (READS_ONLY) {
    await close();
    if (errors || readCalls) process.exitCode = 1;
    return;
  }
  const classes = ['VM', 'VDI', 'VBD', 'VIF'] as const;
  const census = async (): Promise<string> => {
    const counts = await Promise.all(classes.map((c) => xapi.call<string[]>(`${c}.get_all`)));
    return classes.map((c, i) => `${c}=${counts[i].length}`).join(' ');
  };
  const start = await census();
  let failures = 0;
  let next = 0;
  const c0 = performance.now();
  await Promise.all(
    Array.from({ length: CYCLE_CONCURRENCY }, async () => {
      while (next < CYCLES) {
        const id = `cycle-${next++}`;
        const spawn = await rest.send('PUT', `/v1/instances/${id}`, {
          template,
          vcpus: 1,
          memory_mb: 512,
          nics: [{ network: 'xenbr0' }],
        });
        if (spawn.status !== 200 || spawn.json.status !== 'succeeded') failures++;
        const destroy = await rest.send('DELETE', `/v1/instances/${id}`);
        if (destroy.status !== 200 || destroy.json.status !== 'succeeded') failures++;
      }
    }),
  );
  const cycleS = (performance.now() - c0) / 1000;
  const end = await census();
  console.log(
    `\n${CYCLES} spawn-and-destroy cycles at concurrency ${CYCLE_CONCURRENCY}: ${fmt(cycleS)} s, ` +
      `${fmt(CYCLES / cycleS)} cycles/s, ${failures} failures; pool before ${start}, after ${end} (${start === end ? 'nothing left behind' : 'LEFTOVERS'})`,
  );

  const pc = await powerCycleRow({
    url,
    token: TOKEN,
    xapiUrl: sim.url,
    user: sim.user,
    password: sim.password,
    template,
  });
  printPowerCycle(pc);
  console.log(`load average at the end: ${load()}`);

  await close();
  if (failures || start !== end || errors || readCalls) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
