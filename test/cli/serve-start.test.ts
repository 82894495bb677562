// `xcd serve` start-up order and failures: a listen error is fatal (non-zero exit, clear message)
// and comes before any reconcile; the service listens, answers /healthz and 503 not_ready before
// the driver's start-up finishes; a failed start-up is logged and retried. Real simulator and
// driver; the driver's start is only held or failed once through startService's createDriver.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startService, type RunningService } from '../../src/cli/serve';
import { loadServeConfig } from '../../src/config';
import { ComputeDriver } from '../../src/driver';

const ROOT = join(__dirname, '..', '..');

function occupy(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

function portOf(s: Server): number {
  const addr = s.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

/** `xcd serve ARGS` as a child process (TypeScript sources through tsx): its exit and output. */
function serveProcess(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'serve', ...args],
      {
        cwd: ROOT,
        env: { ...process.env, XCD_TOKEN: '', XCD_TOKENS_FILE: '', XCD_XAPI_URL: '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    // A service that keeps running instead of exiting fails the test (code null), not hangs it.
    const guard = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A logger writing JSON lines to `lines`. */
function memoryLogger(lines: Array<Record<string, unknown>>): pino.Logger {
  return pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
        done();
      },
    }),
  );
}

/** Builds the real driver, with its start() behind `gate` (called with the real start). */
function gatedDriver(gate: (start: () => Promise<void>) => Promise<void>) {
  const made: ComputeDriver[] = [];
  const createDriver = (...args: ConstructorParameters<typeof ComputeDriver>): ComputeDriver => {
    const driver = new ComputeDriver(...args);
    const start = driver.start.bind(driver);
    driver.start = () => gate(start);
    made.push(driver);
    return driver;
  };
  return { createDriver, made };
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}

test('xcd serve on a port already in use exits non-zero with a clear message, not "service listening"', async () => {
  const taken = await occupy();
  try {
    const port = portOf(taken);
    const out = await serveProcess(['--listen', `127.0.0.1:${port}`], {
      XCD_TOKEN: 'tok-port-in-use',
    });
    expect(out.code).not.toBe(0);
    expect(out.code).not.toBeNull();
    expect(out.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
    expect(out.stderr).toMatch(/address already in use/);
    expect(out.stdout + out.stderr).not.toContain('service listening');
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
}, 60_000);

test('a listen error rejects startService before XAPI is connected or reconciled, and closes what it opened', async () => {
  const taken = await occupy();
  const starts: string[] = [];
  const { createDriver, made } = gatedDriver((start) => {
    starts.push('start');
    return start();
  });
  try {
    const cfg = loadServeConfig({ listen: `127.0.0.1:${portOf(taken)}` }, { XCD_TOKEN: 'tok-a' });
    await expect(startService(cfg, pino({ level: 'silent' }), { createDriver })).rejects.toThrow(
      /cannot listen on 127\.0\.0\.1:\d+: address already in use/,
    );
    // Nothing was connected, built or started: the listen comes first.
    expect(made).toHaveLength(0);
    expect(starts).toEqual([]);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});

describe('listen first', () => {
  let svc: RunningService | undefined;
  afterEach(async () => {
    await svc?.close();
    svc = undefined;
  });

  test('serve answers /healthz, and 503 not_ready on /readyz and /v1, while driver.start() runs', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const { createDriver } = gatedDriver(async (start) => {
      started = true;
      await held;
      await start();
    });
    const cfg = loadServeConfig({ listen: '127.0.0.1:0' }, { XCD_TOKEN: 'tok-listen-first' });
    svc = await startService(cfg, pino({ level: 'silent' }), { createDriver });
    const auth = { authorization: 'Bearer tok-listen-first' };
    // startService resolved listening; the connection and the driver's start follow, held here.
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    for (let i = 0; i < 1000 && !started; i++) await new Promise((r) => setTimeout(r, 10));
    expect(started).toBe(true);
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${svc.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { code: string }).code).toBe('not_ready');
    const list = await fetch(`${svc.url}/v1/instances`, { headers: auth });
    expect(list.status).toBe(503);
    expect(list.headers.get('retry-after')).toMatch(/^\d+$/);
    release();
    await svc.ready;
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${svc.url}/v1/instances`, { headers: auth })).status).toBe(200);
  });

  test('a failed start-up is logged and retried until it succeeds', async () => {
    let calls = 0;
    const { createDriver } = gatedDriver(async (start) => {
      calls += 1;
      if (calls <= 2) throw new Error(`XAPI went away (attempt ${calls})`);
      await start();
    });
    const lines: Array<Record<string, unknown>> = [];
    const cfg = loadServeConfig({ listen: '127.0.0.1:0' }, { XCD_TOKEN: 'tok-retry' });
    svc = await startService(cfg, memoryLogger(lines), {
      createDriver,
      startRetry: { firstDelayMs: 5, maxDelayMs: 10 },
    });
    await svc.ready;
    expect(calls).toBe(3);
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
    const failures = lines.filter((l) => l.msg === 'start-up failed; retrying');
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({
      level: 50,
      attempt: 1,
      err: { message: 'XAPI went away (attempt 1)' },
    });
    expect(typeof failures[0].retryInMs).toBe('number');
    expect(lines.some((l) => l.msg === 'service ready')).toBe(true);
  });

  test('close() during a held start-up stops the service without waiting for it', async () => {
    const { createDriver } = gatedDriver(() => new Promise<void>(() => undefined));
    const cfg = loadServeConfig({ listen: '127.0.0.1:0' }, { XCD_TOKEN: 'tok-close' });
    svc = await startService(cfg, pino({ level: 'silent' }), { createDriver });
    const url = svc.url;
    await svc.close();
    svc = undefined;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});

describe('secrets', () => {
  test('a token given in XCD_TOKEN is never printed: not on stdout, stderr or in the logs', async () => {
    const token = 'tok-configured-secret-7f3a';
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'serve', '--listen', '127.0.0.1:0'],
      {
        cwd: ROOT,
        env: { ...process.env, XCD_TOKEN: token, XCD_LOG_LEVEL: 'debug', XCD_TOKENS_FILE: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const guard = setTimeout(() => child.kill('SIGKILL'), 40_000);
    try {
      await until(async () => /"msg":"service ready"/.test(out) || child.exitCode !== null);
      const url = /"url":"(http:[^"]+)"/.exec(out)?.[1];
      expect(url).toBeDefined();
      // A request carrying the token, logged at debug.
      const res = await fetch(`${url}/v1/templates`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      await until(async () => /"msg":"request completed"/.test(out));
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    clearTimeout(guard);
    expect(out).not.toContain(token);
  }, 60_000);

  test('with no token configured and no terminal to show one on, serve exits 2 asking for a token', async () => {
    const out = await serveProcess(['--listen', '127.0.0.1:0'], {});
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/XCD_TOKEN|--tokens-file/);
    // No token was generated and shown anywhere; stdout holds JSON log lines only.
    expect(out.stdout + out.stderr).not.toMatch(/xcd_[A-Za-z0-9_-]{20,}/);
    for (const line of out.stdout.split('\n').filter(Boolean))
      expect(() => JSON.parse(line)).not.toThrow();
  }, 60_000);

  test('/healthz and /readyz carry neither the XAPI URL nor the credentials in it', async () => {
    const pool = await startService(
      loadServeConfig({ listen: '127.0.0.1:0' }, { XCD_TOKEN: 'tok-pool' }),
      pino({ level: 'silent' }),
    );
    try {
      await pool.ready;
      const sim = new URL(pool.simulator!.url);
      const withUserinfo = `${sim.protocol}//${pool.simulator!.user}:${pool.simulator!.password}@${sim.host}`;
      const svc = await startService(
        loadServeConfig({ listen: '127.0.0.1:0', xapi: withUserinfo }, { XCD_TOKEN: 'tok-health' }),
        pino({ level: 'silent' }),
      );
      try {
        await svc.ready;
        for (const path of ['/healthz', '/readyz']) {
          const res = await fetch(`${svc.url}${path}`);
          expect([path, res.status]).toEqual([path, 200]);
          const text = await res.text();
          const leaks = [withUserinfo, sim.host, pool.simulator!.password, 'xapi'].filter((s) =>
            text.includes(s),
          );
          expect({ path, leaks }).toEqual({ path, leaks: [] });
        }
      } finally {
        await svc.close();
      }
    } finally {
      await pool.close();
    }
  });
});
