// `npm run bench:api`: the REST service on a simulated pool of 10,000 VMs (BENCH_VMS). Measures
// GET /v1/instances/{id} latency (10 clients) and throughput (200 clients) from a load-generator
// process, beside a bare Node http server answering the same JSON from memory (the ceiling),
// counts XAPI calls meanwhile (target 0), then 200 spawn-and-destroy cycles at concurrency 20
// with a leftover check. The simulator runs in its own process, as a pool would.
// `npm run bench:api -- --get-only` measures the GET rows alone (no cycles, no power-cycle row);
// `--profile FILE` writes a CPU profile of this process during the service's GET loads.
import { execFile } from 'node:child_process';
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import pino from 'pino';
import { TokenStore } from '../src/api/auth';
import { Metrics } from '../src/api/metrics';
import { createApp } from '../src/app';
import { ComputeDriver } from '../src/driver';
import { XapiClient } from '../src/xapi';
import { powerCycleRow, printPowerCycle } from './power-cycle';
import { startSimProcess } from './sim-process';

const VMS = Number(process.env.BENCH_VMS ?? 10000);
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 200);
const CYCLE_CONCURRENCY = Number(process.env.BENCH_CYCLE_CONCURRENCY ?? 20);
const TOKEN = 'bench-token';
const GET_ONLY = process.argv.includes('--get-only');
const PROFILE = process.argv.includes('--profile')
  ? process.argv[process.argv.indexOf('--profile') + 1]
  : undefined;

interface Load {
  requests: number;
  errors: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** CPU time of this process (the server side) per request, in microseconds. */
  cpu_us: number;
}

async function load(
  url: string,
  paths: string[],
  concurrency: number,
  token?: string,
): Promise<Load> {
  const args = [
    join(__dirname, 'http-load.mjs'),
    url,
    JSON.stringify(paths),
    String(concurrency),
    String(SECONDS),
  ];
  if (token) args.push(token);
  const cpu0 = process.cpuUsage();
  const { stdout } = await promisify(execFile)(process.execPath, args, {
    timeout: (SECONDS + 30) * 1000,
  });
  const cpu = process.cpuUsage(cpu0);
  const out = JSON.parse(stdout) as Omit<Load, 'cpu_us'> & { total: number };
  // The generator counts requests after its warm-up; the CPU time covers all of them.
  return { ...out, cpu_us: (cpu.user + cpu.system) / out.total };
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

async function api(
  url: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const res = await fetch(url + path, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      prefer: 'wait=120',
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const fmt = (n: number, d = 2): string => n.toFixed(d);

async function main(): Promise<void> {
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
  const call = xapi.call.bind(xapi);
  const callAsync = xapi.callAsync.bind(xapi);
  Object.assign(xapi, {
    call: (m: string, ...a: unknown[]) => (xapiCalls++, call(m, ...a)),
    callAsync: (m: string, a: unknown[], o?: Parameters<XapiClient['callAsync']>[2]) => (
      xapiCalls++,
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
  const server = http.createServer(createApp({ driver, auth, logger, metrics }));
  server.keepAliveTimeout = 60_000;
  const url = await listen(server);
  console.log(
    `pool: ${VMS} VMs, ${xapi.mirror.count('host')} hosts; connect + mirror sync ${fmt(syncS)} s`,
  );

  const template = (await api(url, 'GET', '/v1/templates')).json.items[0].name_label as string;
  const ids = Array.from({ length: INSTANCES }, (_, i) => `bench-${i}`);
  for (let i = 0; i < ids.length; i += 20)
    await Promise.all(
      ids
        .slice(i, i + 20)
        .map((id) => api(url, 'PUT', `/v1/instances/${id}`, { template, power_on: false })),
    );
  const sample = await api(url, 'GET', `/v1/instances/${ids[0]}`);
  if (sample.status !== 200) throw new Error(`GET answered ${sample.status}`);
  const body = JSON.stringify(sample.json);
  const bare = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(body);
  });
  bare.keepAliveTimeout = 60_000;
  const bareUrl = await listen(bare);
  const paths = ids.map((id) => `/v1/instances/${id}`);

  const profiler = PROFILE ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
  }
  const profiled = async <T>(run: () => Promise<T>): Promise<T> => {
    if (!profiler) return run();
    await profiler.post('Profiler.start');
    try {
      return await run();
    } finally {
      await profiler.post('Profiler.stop').then(({ profile }) => profiles.push(profile));
    }
  };
  const profiles: unknown[] = [];
  const before = xapiCalls;
  const svc10 = await profiled(() => load(url, paths, 10, TOKEN));
  const bare10 = await load(bareUrl, paths, 10);
  const svc200 = await profiled(() => load(url, paths, 200, TOKEN));
  const bare200 = await load(bareUrl, paths, 200);
  if (PROFILE) {
    await writeFile(PROFILE, JSON.stringify(profiles[1]));
    console.log(`CPU profile of the 200-client service load: ${PROFILE}`);
  }
  const readCalls = xapiCalls - before;

  console.log(
    `\nGET /v1/instances/{id} (${INSTANCES} instances, ${body.length} B answer, ${SECONDS} s per run)`,
  );
  console.log('                      requests/s    p50 ms   p99 ms   errors   CPU us/req');
  const row = (name: string, l: Load): void =>
    console.log(
      `${name.padEnd(22)}${fmt(l.rps, 0).padStart(10)}${fmt(l.p50_ms).padStart(10)}${fmt(l.p99_ms).padStart(9)}${String(l.errors).padStart(9)}${fmt(l.cpu_us, 0).padStart(13)}`,
    );
  row('service, 10 clients', svc10);
  row('bare http, 10 clients', bare10);
  row('service, 200 clients', svc200);
  row('bare http, 200 clients', bare200);
  console.log(
    `targets: p50 <= 1 ms (${fmt(svc10.p50_ms)}), p99 <= 5 ms (${fmt(svc10.p99_ms)}), >= 5000 req/s (${fmt(svc200.rps, 0)}), ` +
      `no errors (${svc10.errors + svc200.errors}), no XAPI calls (${readCalls})`,
  );
  console.log(
    `service / bare throughput at 200 clients: ${fmt(svc200.rps / bare200.rps)}; ` +
      `CPU per request, bare / service: ${fmt(bare200.cpu_us / svc200.cpu_us)}`,
  );

  for (let i = 0; i < ids.length; i += 20)
    await Promise.all(ids.slice(i, i + 20).map((id) => api(url, 'DELETE', `/v1/instances/${id}`)));
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    bare.closeAllConnections();
    server.close();
    bare.close();
    await driver.close();
    await xapi.close();
    await sim.close();
  };
  if (GET_ONLY) {
    await close();
    if (svc10.errors || svc200.errors || readCalls) process.exitCode = 1;
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
        const spawn = await api(url, 'PUT', `/v1/instances/${id}`, {
          template,
          vcpus: 1,
          memory_mb: 512,
          nics: [{ network: 'xenbr0' }],
        });
        if (spawn.status !== 200 || spawn.json.status !== 'succeeded') failures++;
        const destroy = await api(url, 'DELETE', `/v1/instances/${id}`);
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

  // Power-cycle overhead of the service over the native client (bench/power-cycle.ts).
  printPowerCycle(
    await powerCycleRow({
      url,
      token: TOKEN,
      xapiUrl: sim.url,
      user: sim.user,
      password: sim.password,
      template,
    }),
  );

  await close();
  if (failures || start !== end || svc10.errors || svc200.errors || readCalls) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
