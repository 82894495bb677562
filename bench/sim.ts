// `npm run bench:sim`: times VM.get_all_records on a simulated pool of 10,000 VMs (or
// BENCH_VMS) over XML-RPC and JSON-RPC, from request to the last byte read by a raw-socket
// client, with the simulator in a child process (as a real client and server would be). Prints
// the first call and the median of the following ones (records are encoded once, at start).
import { spawn } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { startSimulator } from '../src/simulator';

const VMS = Number(process.env.BENCH_VMS ?? 10000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BUDGET_MS = 2000;

/**
 * POST over a raw socket and read until the whole answer (headers + Content-Length bytes) is
 * in: the leanest client possible, so the time is the server's answer plus the transfer.
 */
function post(url: string, body: string): Promise<{ head: Buffer; length: number }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    const payload = Buffer.from(body);
    sock.write(
      `POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n`,
    );
    sock.write(payload);
    let head: Buffer | undefined;
    let headerEnd = -1;
    let expected = -1;
    let length = 0;
    const pending: Buffer[] = [];
    sock.on('data', (c: Buffer) => {
      length += c.length;
      if (expected < 0) {
        pending.push(c);
        const all = Buffer.concat(pending);
        headerEnd = all.indexOf('\r\n\r\n');
        if (headerEnd < 0) return;
        const m = /content-length: *(\d+)/i.exec(all.subarray(0, headerEnd).toString());
        expected = m ? Number(m[1]) : 0;
        head = all.subarray(headerEnd + 4, headerEnd + 4 + 4096);
      }
      if (length - headerEnd - 4 >= expected) {
        sock.destroy();
        resolve({ head: head ?? Buffer.alloc(0), length: expected });
      }
    });
    sock.on('error', reject);
    sock.on('close', () => reject(new Error('connection closed early')));
  });
}

async function serve(): Promise<void> {
  const sim = await startSimulator({ vms: VMS, authFailureDelayMs: 10 });
  process.stdout.write(JSON.stringify({ url: sim.url, vms: sim.store.count('VM') }) + '\n');
  process.once('SIGTERM', () => void sim.close().then(() => process.exit(0)));
}

async function measure(): Promise<void> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = await new Promise<{ url: string; vms: number }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as { url: string; vms: number });
    });
    child.on('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  process.stdout.write(
    `simulator with ${info.vms} VM records ready in ${(performance.now() - t0).toFixed(0)} ms\n`,
  );
  try {
    const login = JSON.parse(
      String(
        (
          await post(
            `${info.url}/jsonrpc`,
            JSON.stringify({
              jsonrpc: '2.0',
              method: 'session.login_with_password',
              params: ['root', 'xenroot'],
              id: 0,
            }),
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
      'JSON-RPC': [
        `${info.url}/jsonrpc`,
        JSON.stringify({ jsonrpc: '2.0', method: 'VM.get_all_records', params: [sid], id: 0 }),
      ],
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
        if (!r.head.subarray(0, 400).includes('OpaqueRef:'))
          throw new Error(`${name}: unexpected answer ${r.head.subarray(0, 200).toString()}`);
      }
      const warm = times.slice(1).sort((a, b) => a - b);
      worst = Math.max(worst, ...times);
      process.stdout.write(
        `${name} VM.get_all_records x${info.vms}: first ${times[0].toFixed(0)} ms, ` +
          `then median ${warm[warm.length >> 1]?.toFixed(0) ?? '-'} ms, ${(size / 1e6).toFixed(1)} MB\n`,
      );
    }
    process.stdout.write(
      worst < BUDGET_MS
        ? 'OK: every call under the 2 s budget\n'
        : `SLOW: a call took ${worst.toFixed(0)} ms\n`,
    );
    if (worst >= BUDGET_MS) process.exitCode = 1;
  } finally {
    child.kill('SIGTERM');
  }
}

void (process.argv.includes('--serve') ? serve() : measure());
