// A real service process for crash tests: `xcd serve --xapi <sim>` as a child process (the
// compiled CLI when it is newer than every source file, else the sources via tsx), waited for
// until ready, and killed with SIGKILL; a request to it with its token. It must not fake
// anything: the child is the product.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface ServiceProcess {
  proc: ChildProcess;
  url: string;
  token: string;
  output: () => string;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function cliArgs(): string[] {
  const dist = join(ROOT, 'dist', 'cli', 'main.js');
  if (existsSync(dist) && statSync(dist).mtimeMs >= newestMtime(join(ROOT, 'src'))) return [dist];
  return ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Starts the service against `sim` with an operator token of `namespace`; resolves when ready. */
export async function startServiceProcess(
  sim: { url: string; user: string; password: string },
  opts: { token: string; namespace: string; args?: string[] },
): Promise<ServiceProcess> {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [
      ...cliArgs(),
      'serve',
      '--xapi',
      sim.url,
      '--listen',
      `127.0.0.1:${port}`,
      ...(opts.args ?? []),
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        XCD_XAPI_PASSWORD: sim.password,
        XCD_XAPI_USER: sim.user,
        XCD_TOKEN: opts.token,
        XCD_TOKEN_NAMESPACE: opts.namespace,
        XCD_TOKEN_ROLE: 'operator',
        XCD_LOG_LEVEL: process.env.XCD_SERVICE_LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (out += String(d)));
  proc.once('exit', (code, signal) => (out += `\n[exited: ${code ?? signal}]\n`));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the service exited: ${out}`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`the service did not get ready: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, url, token: opts.token, output: () => out };
}

export async function killServiceProcess(svc: ServiceProcess): Promise<void> {
  if (svc.proc.exitCode !== null) return;
  const exited = new Promise((resolve) => svc.proc.once('exit', resolve));
  svc.proc.kill('SIGKILL');
  await exited;
}

/** One JSON request to the service with its token (`wait`: Prefer: wait=N); the status and the
 * decoded body (null when empty). */
export async function serviceRequest(
  svc: ServiceProcess,
  method: string,
  path: string,
  body?: unknown,
  wait?: number,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${svc.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (wait !== undefined) headers.prefer = `wait=${wait}`;
  const res = await fetch(svc.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
