// HTTP load for the benchmarks: wrk (Debian's `wrk` package; `apt-get install -y wrk`) run as
// its own process with one thread and N keep-alive connections, cycling through a list of GET
// paths (http-load.lua), and the bare Node http peer (peers/bare-http.mjs) started in its own
// process. Also reads a process's CPU time, so each row can say what a request cost the server.
// Knows nothing of the service.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Load {
  requests: number;
  errors: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** CPU time of the server's process per request, in microseconds. */
  cpu_us: number;
}

/** Throws, saying how to install it, when wrk is not on the PATH. */
export async function requireWrk(): Promise<void> {
  try {
    await run('wrk', ['--version']);
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string };
    // wrk --version prints its banner and exits 1.
    if (e.code === 'ENOENT')
      throw new Error('bench:api needs wrk as its load generator: apt-get install -y wrk', {
        cause: err,
      });
    if (!/^wrk /.test(e.stdout ?? '')) throw err;
  }
}

/** User + system CPU time of a process so far, in microseconds (Linux /proc). */
export function processCpuUs(pid: number): number {
  if (pid === process.pid) {
    const u = process.cpuUsage();
    return u.user + u.system;
  }
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS;
}

/** sysconf(_SC_CLK_TCK) on Linux. */
const CLOCK_TICKS = 100;

const dir = mkdtempSync(join(tmpdir(), 'xcd-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/**
 * `connections` keep-alive clients send GETs of `paths` (in turn) to `url` for `seconds`, after
 * a one-second warm-up run whose figures are dropped; `serverPid` is the process answering.
 */
export async function wrkLoad(o: {
  url: string;
  paths: string[];
  connections: number;
  seconds: number;
  serverPid: number;
  headers?: Record<string, string>;
}): Promise<Load> {
  const pathsFile = join(dir, `paths-${files++}.txt`);
  writeFileSync(pathsFile, `${o.paths.join('\n')}\n`);
  const args = (seconds: number): string[] => [
    '-t1',
    `-c${o.connections}`,
    `-d${seconds}s`,
    '--timeout',
    '10s',
    ...Object.entries(o.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    '-s',
    join(__dirname, 'http-load.lua'),
    o.url,
    '--',
    pathsFile,
  ];
  await run('wrk', args(1), { timeout: 30_000 });
  const cpu0 = processCpuUs(o.serverPid);
  const { stdout } = await run('wrk', args(o.seconds), { timeout: (o.seconds + 30) * 1000 });
  const cpu = processCpuUs(o.serverPid) - cpu0;
  const line = /XCD_RESULT (\{.*\})/.exec(stdout);
  if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
  const r = JSON.parse(line[1]) as {
    requests: number;
    duration_us: number;
    errors: number;
    p50_us: number;
    p99_us: number;
    max_us: number;
  };
  return {
    requests: r.requests,
    errors: r.errors,
    rps: r.requests / (r.duration_us / 1e6),
    p50_ms: r.p50_us / 1000,
    p99_ms: r.p99_us / 1000,
    max_ms: r.max_us / 1000,
    cpu_us: cpu / Math.max(1, r.requests),
  };
}

export interface Peer {
  url: string;
  pid: number;
  close(): Promise<void>;
}

/** The bare http peer in its own process, answering each path with its body. */
export async function startBarePeer(bodies: Record<string, string>): Promise<Peer> {
  const file = join(dir, `bodies-${files++}.json`);
  writeFileSync(file, JSON.stringify(bodies));
  const child = spawn(process.execPath, [join(__dirname, 'peers', 'bare-http.mjs'), file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`bare peer exited with ${code}: ${out}`)));
  });
  return {
    url,
    pid: child.pid ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
