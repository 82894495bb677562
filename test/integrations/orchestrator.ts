// Shared by the integration tests: installs an integration's programs into a scratch directory
// as its README does (with the shared REST client beside them), and runs a program the way its
// orchestrator does (argv array, no shell, chosen stdin, clean environment) without blocking the
// event loop, so the in-process service can answer while the program runs. Must not fake the
// service, nor probe it to decide what the tests expect.
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const INTEGRATIONS = join(ROOT, 'integrations');
/** The one REST client of the integrations; each install step copies it next to its importers. */
export const SHARED_CLIENT = join(INTEGRATIONS, 'common', 'xcd_rest.py');
/** Debian's interpreter (where python3-nova lives); any python3 on PATH otherwise. */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in arrival order (CloudStack merges them). */
  merged: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  /** Written then closed; 'open' leaves stdin an open pipe nobody writes (CloudStack's way). */
  stdin?: string | 'open';
  cwd?: string;
  timeoutMs?: number;
}

/**
 * An install step as an integration's README gives it: each [source, directory] pair copies a
 * file or directory of the repository into that directory under its own name (modes kept), then
 * the shared client goes into `clientDir`, where the programs import `xcd_rest` from.
 */
export function install(copies: Array<[source: string, into: string]>, clientDir: string): void {
  for (const [source, into] of copies) cpSync(source, join(into, basename(source)), { recursive: true });
  copyFileSync(SHARED_CLIENT, join(clientDir, 'xcd_rest.py'));
}

export function run(file: string, args: string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd ?? ROOT,
      // The system interpreter first, as on an orchestrator host (version-manager shims cost ~0.5 s a run).
      env: { PATH: `/usr/bin:/bin:${process.env.PATH ?? ''}`, PYTHONDONTWRITEBYTECODE: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
    });
    let stdout = '';
    let stderr = '';
    let merged = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => ((stdout += d), (merged += d)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => ((stderr += d), (merged += d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (err) => (clearTimeout(timer), reject(err)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, merged });
    });
    if (opts.stdin === 'open') return;
    child.stdin.end(opts.stdin ?? '');
  });
}

/** A fresh VDI on the pool's default SR, made through XAPI as an operator would (a volume to
 * attach), given to the test tokens' namespace (an untagged disk needs a volume source). */
export async function createPoolVdi(stack: {
  sim: { store: { all(cls: 'pool'): Map<string, Record<string, unknown>>; get(cls: 'VDI', ref: string): Record<string, unknown> } };
  xapi: { call<T = unknown>(method: string, ...args: unknown[]): Promise<T> };
}, name: string, namespace = 'alpha'): Promise<string> {
  const pool = [...stack.sim.store.all('pool').values()][0];
  const owned = { xcd_namespace: namespace, xcd_instance_id: name, xcd_state: 'kept' };
  const vdiRef = await stack.xapi.call<string>('VDI.create', {
    SR: pool.default_SR, name_label: name, name_description: '', virtual_size: 1024 ** 3, type: 'user',
    sharable: false, read_only: false, other_config: owned, xenstore_data: {}, sm_config: {}, tags: [],
  });
  return String(stack.sim.store.get('VDI', vdiRef).uuid);
}
