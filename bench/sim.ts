// `npm run bench:sim`: times VM.get_all_records on a simulated pool of 10,000 VMs (or
// BENCH_VMS) over XML-RPC and JSON-RPC, from request to the last byte read, with the simulator
// in a child process (as a real client and server would be). Prints the first (cold: every
// record encoded) and the median of the following (warm: per-record encodings cached) runs.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { startSimulator } from '../src/simulator';

const VMS = Number(process.env.BENCH_VMS ?? 10000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BUDGET_MS = 2000;

/** POST and read the whole answer as bytes (no decoding: the client's cost stays out of it). */
function post(url: string, body: string): Promise<{ head: Buffer; length: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
      let head: Buffer | undefined;
      let length = 0;
      res.on('data', (c: Buffer) => {
        head ??= c;
        length += c.length;
      });
      res.on('end', () => resolve({ head: head ?? Buffer.alloc(0), length }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function serve(): Promise<void> {
  const sim = await startSimulator({ vms: VMS, authFailureDelayMs: 10 });
  process.stdout.write(JSON.stringify({ url: sim.url, vms: sim.store.count('VM') }) + '\n');
  process.once('SIGTERM', () => void sim.close().then(() => process.exit(0)));
}

async function measure(): Promise<void> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const info = await new Promise<{ url: string; vms: number }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as { url: string; vms: number });
    });
    child.on('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  process.stdout.write(`simulator with ${info.vms} VM records ready in ${(performance.now() - t0).toFixed(0)} ms\n`);
  try {
    const login = JSON.parse(
      String(
        (
          await post(
            `${info.url}/jsonrpc`,
            JSON.stringify({ jsonrpc: '2.0', method: 'session.login_with_password', params: ['root', 'xenroot'], id: 0 }),
          )
        ).head,
      ),
    ) as { result: string };
    const sid = login.result;
    const calls: Record<string, [string, string]> = {
      'XML-RPC ': [
        `${info.url}/`,
        `<?xml version="1.0"?><methodCall><methodName>VM.get_all_records</methodName><params><param><value>${sid}</value></param></params></methodCall>`,
      ],
      'JSON-RPC': [`${info.url}/jsonrpc`, JSON.stringify({ jsonrpc: '2.0', method: 'VM.get_all_records', params: [sid], id: 0 })],
    };
    let worst = 0;
    for (const [name, [url, body]] of Object.entries(calls)) {
      const times: number[] = [];
      let size = 0;
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        const r = await post(url, body);
        times.push(performance.now() - t);
        size = r.length;
        if (!r.head.subarray(0, 400).includes('OpaqueRef:')) throw new Error(`${name}: unexpected answer ${r.head.subarray(0, 200).toString()}`);
      }
      const warm = times.slice(1).sort((a, b) => a - b);
      worst = Math.max(worst, ...times);
      process.stdout.write(
        `${name} VM.get_all_records x${info.vms}: first ${times[0].toFixed(0)} ms, ` +
          `then median ${warm[warm.length >> 1]?.toFixed(0) ?? '-'} ms, ${(size / 1e6).toFixed(1)} MB\n`,
      );
    }
    process.stdout.write(worst < BUDGET_MS ? 'OK: every call under the 2 s budget\n' : `SLOW: a call took ${worst.toFixed(0)} ms\n`);
    if (worst >= BUDGET_MS) process.exitCode = 1;
  } finally {
    child.kill('SIGTERM');
  }
}

void (process.argv.includes('--serve') ? serve() : measure());
