// `npm run bench:xapi`: the native client against its peers on a 10,000-VM pool (BENCH_VMS).
// Offline, on the same VM.get_all_records bodies fetched from the simulator, quiet and then beside
// a `yes > /dev/null` keeping one core busy: the addon decoding into its mirror (XML-RPC and
// JSON-RPC) against JSON.parse; quiet only, the xen-api package's XML-RPC parser (child node
// process) and Python's xmlrpc.client (child python3). Live, in a child process: initial sync
// time, longest event-loop stall, mirror RSS, record read latency. Prints figures and ratios.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startSimulator } from '../src/simulator';
import { datamodelTables } from '../src/xapi/client';
import { loadTestingAddon } from '../test/xapi/testing-addon';

const VMS = Number(process.env.BENCH_VMS ?? 10000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PEER_ROUNDS = process.env.BENCH_PEER_ROUNDS ?? '1'; // the slow peers take seconds per round
const PEERS = process.env.BENCH_PEERS !== '0'; // 0: skip xen-api and Python
const LIVE = process.env.BENCH_LIVE !== '0'; // 0: skip the live sync against the simulator

/** Medians (ms) of one offline pass: the addon's XML-RPC decode into its mirror as the product
 *  runs it (nx), never and always with a helper thread, its JSON-RPC decode, JSON.parse. */
interface Offline {
  nx: number;
  nxAlone: number;
  nxHelper: number;
  nj: number;
  jp: number;
  jpText: number;
  rows: number;
  rowBytes: number;
  loadavg: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function post(url: string, body: string, contentType: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve(Buffer.concat(parts)));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function fetchBodies(url: string): Promise<{ xml: Buffer; json: Buffer }> {
  const login = JSON.parse(
    (
      await post(
        `${url}/jsonrpc`,
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'session.login_with_password',
          params: ['root', 'xenroot'],
        }),
        'application/json',
      )
    ).toString(),
  ) as { result: string };
  const session = login.result;
  const json = await post(
    `${url}/jsonrpc`,
    JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'VM.get_all_records', params: [session] }),
    'application/json',
  );
  const xml = await post(
    `${url}/`,
    `<?xml version="1.0"?><methodCall><methodName>VM.get_all_records</methodName><params><param><value>${session}</value></param></params></methodCall>`,
    'text/xml',
  );
  return { xml, json };
}

// Runs `f` while a `yes > /dev/null` (or, without `yes`, a spinning node) keeps one core busy.
async function withBusyCore<T>(f: () => T): Promise<T> {
  let busy: ChildProcess;
  try {
    busy = spawn('yes', [], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      busy.once('spawn', resolve);
      busy.once('error', reject);
    });
  } catch {
    busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  }
  await new Promise((r) => setTimeout(r, 500)); // let it take its core
  try {
    return f();
  } finally {
    busy.kill();
  }
}

function row(name: string, ms: number, base: number, note = ''): void {
  console.log(
    `  ${name.padEnd(52)} ${ms.toFixed(1).padStart(9)} ms  ${(ms / base).toFixed(2).padStart(7)}x JSON.parse ${note}`,
  );
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const sim = await startSimulator({ vms: VMS, authFailureDelayMs: 10 });
  console.log(`simulator: ${VMS} extra VMs seeded in ${Date.now() - t0} ms at ${sim.url}`);
  const { xml, json } = await fetchBodies(sim.url);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xcd-bench-'));
  const xmlFile = path.join(dir, 'vm-all-records.xml');
  fs.writeFileSync(xmlFile, xml);
  console.log(
    `bodies: XML-RPC ${(xml.length / 1e6).toFixed(1)} MB, JSON-RPC ${(json.length / 1e6).toFixed(1)} MB`,
  );

  // Offline, same bodies: quiet, then beside another process that keeps one core busy.
  const { schema } = datamodelTables();
  const { decodeIntoMirror } = loadTestingAddon();
  const offline = (): Offline => {
    const m = { nx: [], nxAlone: [], nxHelper: [], nj: [], jp: [], jpText: [] } as Record<
      string,
      number[]
    >;
    let rows = 0;
    let rowBytes = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const x = decodeIntoMirror(schema, 'VM', 'xml-rpc', xml);
      m.nx.push(x.totalMs);
      rows = x.rows;
      rowBytes = x.rowBytes;
      m.nxAlone.push(decodeIntoMirror(schema, 'VM', 'xml-rpc', xml, 'alone').totalMs);
      m.nxHelper.push(decodeIntoMirror(schema, 'VM', 'xml-rpc', xml, 'helper').totalMs);
      m.nj.push(decodeIntoMirror(schema, 'VM', 'json-rpc', json).totalMs);
      const a = performance.now();
      const text = json.toString('utf8');
      const b = performance.now();
      JSON.parse(text);
      const c = performance.now();
      m.jp.push(c - b);
      m.jpText.push(c - a);
    }
    const med = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v)]));
    return { ...med, rows, rowBytes, loadavg: os.loadavg()[0] } as Offline;
  };
  const quiet = offline();
  const busy = await withBusyCore(offline);

  let xenApi: { ms: number[]; records: number } | undefined;
  let python: { ms: number[]; records: number } | undefined;
  if (PEERS) {
    xenApi = JSON.parse(
      execFileSync(
        process.execPath,
        [path.join(__dirname, 'peers/xen-api-xmlrpc.mjs'), xmlFile, PEER_ROUNDS],
        { maxBuffer: 1 << 20 },
      ).toString(),
    ) as { ms: number[]; records: number };
    try {
      python = JSON.parse(
        execFileSync('python3', [
          path.join(__dirname, 'peers/python-xmlrpc.py'),
          xmlFile,
          PEER_ROUNDS,
        ]).toString(),
      ) as { ms: number[]; records: number };
    } catch (e) {
      console.log(`  (python3 peer unavailable: ${(e as Error).message.split('\n')[0]})`);
    }
  }
  for (const [label, o] of [
    ['quiet', quiet],
    ['another process keeping one core busy (yes > /dev/null)', busy],
  ] as const) {
    const base = o.jp;
    console.log(
      `\noffline decode of VM.get_all_records, ${label} (${o.rows} records; medians of ${ROUNDS}; ` +
        `load average ${o.loadavg.toFixed(1)}):`,
    );
    row('addon XML-RPC -> native mirror', o.nx, base);
    row('  the same, never taking a helper thread', o.nxAlone, base);
    row('  the same, always taking a helper thread', o.nxHelper, base);
    row('addon JSON-RPC -> native mirror', o.nj, base);
    row('JSON.parse (string already decoded)', base, base);
    row('JSON.parse including UTF-8 decoding of the body', o.jpText, base);
    if (o === quiet && xenApi)
      row('xen-api XML-RPC (@vates/xml + @vates/xml-rpc)', median(xenApi.ms), base);
    if (o === quiet && python) row('Python xmlrpc.client.loads', median(python.ms), base);
  }
  console.log(
    `  mirror bytes for ${quiet.rows} VM records: ${(quiet.rowBytes / 1e6).toFixed(1)} MB encoded`,
  );
  if (xenApi)
    console.log(
      `  ratio: xen-api XML-RPC / addon XML-RPC->mirror = ${(median(xenApi.ms) / quiet.nx).toFixed(1)}x (target >= 20x)`,
    );
  for (const [label, o] of [
    ['quiet', quiet],
    ['one core busy', busy],
  ] as const)
    console.log(
      `  ratio: addon XML-RPC->mirror / JSON.parse, ${label} = ${(o.nx / o.jp).toFixed(2)}x (target <= 1.5x)`,
    );
  if (python)
    console.log(
      `  ratio: Python xmlrpc.client / addon XML-RPC->mirror = ${(median(python.ms) / quiet.nx).toFixed(1)}x`,
    );
  if (!LIVE) {
    fs.rmSync(dir, { recursive: true, force: true });
    await sim.close();
    return;
  }

  console.log(
    `\nlive against the simulator (child process per protocol; default mirror of 13 classes):`,
  );
  for (const protocol of ['xml-rpc', 'json-rpc']) {
    // Asynchronously: the simulator answering the child runs on this process's event loop.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [require.resolve('tsx/cli'), path.join(__dirname, 'xapi-live.ts'), sim.url, protocol],
      { maxBuffer: 1 << 20 },
    );
    const out = stdout.trim().split('\n').pop()!;
    const r = JSON.parse(out) as Record<string, number | string>;
    const f = (k: string, d = 1) => Number(r[k]).toFixed(d);
    console.log(
      `  ${protocol}: ${r.vms} VMs synced in ${f('connectMs', 0)} ms (load average ${f('loadavg')})\n` +
        `    longest main-thread stall during the sync ${f('stallMs')} ms (target <= 10; this process idle: ${f('idleStallMs')} ms; \n` +
        `      event-loop utilization during the sync ${(Number(r.elu) * 100).toFixed(2)}%)\n` +
        `    mirror RSS +${f('mirrorRssMb')} MB (target <= 150)\n` +
        `    VM record read p50 ${f('readP50Us')} us, p99 ${f('readP99Us')} us (target <= 100; CPU per read ${f('readCpuUs')} us; ` +
        `JSON.parse of the same record p50 ${f('floorP50Us')} us, p99 ${f('floorP99Us')} us)\n` +
        `    query of 100 running VMs with 3 fields ${f('queryMs', 2)} ms; count of ${r.running} running ${f('countMs', 2)} ms`,
    );
  }
  console.log(
    `  for comparison: JSON.parse of the same JSON-RPC body blocks the event loop ${quiet.jp.toFixed(1)} ms`,
  );
  fs.rmSync(dir, { recursive: true, force: true });
  await sim.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
