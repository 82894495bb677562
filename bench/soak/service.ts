// The service under soak as a child process (`node bin/xcd.js serve --xapi ...`, the compiled
// tree in dist/) on a fixed port with a tokens file of a few namespaces, so it can be SIGKILLed
// and started again on the same address. Owns the work directory, the process and its log;
// never calls the API beyond /readyz.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { tokenLine } from '../../src/api/auth';

export interface Tenant {
  namespace: string;
  token: string;
}

export interface ServiceProcess {
  url: string;
  tenants: Tenant[];
  /** Where the service's stdout and stderr go (JSON log lines), across restarts. */
  logFile: string;
  workDir: string;
  /** Starts it (again); resolves once it listens (not necessarily ready). */
  start(): Promise<void>;
  /** SIGKILL, and waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, and waits for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
  starts: number;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function listening(port: number, child: ChildProcess, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`xcd serve exited (${child.exitCode ?? child.signalCode}) before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`xcd serve did not listen on port ${port} in time`);
}

export async function prepareService(o: {
  xapiUrl: string;
  xapiUser: string;
  xapiPassword: string;
  namespaces: string[];
  logLevel: string;
  startTimeoutS: number;
}): Promise<ServiceProcess> {
  const workDir = fs.mkdtempSync(join(os.tmpdir(), 'xcd-soak-'));
  const tenants = o.namespaces.map((namespace) => ({
    namespace,
    token: `soak-token-${namespace}`,
  }));
  const tokensFile = join(workDir, 'tokens.jsonl');
  fs.writeFileSync(
    tokensFile,
    tenants.map((t) => tokenLine(t.namespace, t.namespace, 'operator', t.token)).join('\n') + '\n',
  );
  const passwordFile = join(workDir, 'xapi-password');
  fs.writeFileSync(passwordFile, o.xapiPassword, { mode: 0o600 });
  const logFile = join(workDir, 'service.log');
  const port = await freePort();
  const bin = join(__dirname, '..', '..', 'bin', 'xcd.js');
  let child: ChildProcess | undefined;

  const exited = (c: ChildProcess): Promise<void> =>
    c.exitCode !== null || c.signalCode !== null
      ? Promise.resolve()
      : new Promise((resolve) => c.once('exit', () => resolve()));

  const svc: ServiceProcess = {
    url: `http://127.0.0.1:${port}`,
    tenants,
    logFile,
    workDir,
    starts: 0,
    async start() {
      const log = fs.openSync(logFile, 'a');
      const args = [bin, 'serve', '--xapi', o.xapiUrl, '--xapi-user', o.xapiUser];
      args.push('--xapi-password-file', passwordFile, '--tokens-file', tokensFile);
      args.push('--listen', `127.0.0.1:${port}`, '--log-level', o.logLevel);
      const env = { ...process.env };
      for (const k of Object.keys(env)) if (k.startsWith('XCD_')) delete env[k];
      child = spawn(process.execPath, args, { stdio: ['ignore', log, log], env });
      fs.closeSync(log);
      svc.starts++;
      await listening(port, child, Date.now() + o.startTimeoutS * 1000).catch((err: Error) => {
        const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-8).join('\n');
        throw new Error(`${err.message}; the end of ${logFile}:\n${tail}`);
      });
    },
    async kill() {
      if (!child) return;
      const c = child;
      c.kill('SIGKILL');
      await exited(c);
    },
    async stop() {
      if (!child) return;
      const c = child;
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited(c);
      clearTimeout(timer);
    },
  };
  return svc;
}

/** Polls GET /readyz until it answers 200; resolves with how long it took, or undefined. */
export async function waitReady(url: string, timeoutS: number): Promise<number | undefined> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutS * 1000) {
    const status = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}
