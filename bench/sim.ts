// `npm run bench:sim`: times VM.get_all_records on a simulated pool of 10,000 VMs (or
// BENCH_VMS) over XML-RPC and JSON-RPC, from request to fully read body, and prints the median
// and worst of a few runs. Measures the simulator only; no peer runs beside it.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { startSimulator } from '../src/simulator';

const VMS = Number(process.env.BENCH_VMS ?? 10000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

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

async function main(): Promise<void> {
  const t0 = performance.now();
  const sim = await startSimulator({ vms: VMS, authFailureDelayMs: 10 });
  const vmCount = sim.store.count('VM');
  process.stdout.write(`simulator with ${vmCount} VM records ready in ${(performance.now() - t0).toFixed(0)} ms\n`);
  const login = JSON.parse(
    String((await post(`${sim.url}/jsonrpc`, JSON.stringify({ jsonrpc: '2.0', method: 'session.login_with_password', params: [sim.user, sim.password], id: 0 }))).head),
  ) as { result: string };
  const sid = login.result;
  const bodies: Record<string, [string, string]> = {
    'XML-RPC ': [
      `${sim.url}/`,
      `<?xml version="1.0"?><methodCall><methodName>VM.get_all_records</methodName><params><param><value>${sid}</value></param></params></methodCall>`,
    ],
    'JSON-RPC': [`${sim.url}/jsonrpc`, JSON.stringify({ jsonrpc: '2.0', method: 'VM.get_all_records', params: [sid], id: 0 })],
  };
  let worstAll = 0;
  for (const [name, [url, body]] of Object.entries(bodies)) {
    const times: number[] = [];
    let size = 0;
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      const text = await post(url, body);
      times.push(performance.now() - t);
      size = text.length;
      if (!text.head.subarray(0, 400).includes('OpaqueRef:')) throw new Error(`${name}: unexpected answer ${text.head.subarray(0, 200).toString()}`);
    }
    times.sort((a, b) => a - b);
    const worst = times[times.length - 1];
    worstAll = Math.max(worstAll, worst);
    process.stdout.write(
      `${name} VM.get_all_records x${vmCount}: median ${times[times.length >> 1].toFixed(0)} ms, ` +
        `worst ${worst.toFixed(0)} ms, ${(size / 1e6).toFixed(1)} MB\n`,
    );
  }
  await sim.close();
  process.stdout.write(worstAll < 2000 ? 'OK: under the 2 s budget\n' : 'SLOW: over the 2 s budget\n');
  if (worstAll >= 2000) process.exitCode = 1;
}

void main();
