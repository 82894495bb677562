// Shared by the integration tests: runs an integration's program the way its orchestrator does
// (argv array, no shell, chosen stdin, clean environment) without blocking the event loop, so
// the in-process service can answer while the program runs. Must not fake the service.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const INTEGRATIONS = join(ROOT, 'integrations');
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

type Requester = (
  method: string,
  path: string,
  opts?: { token?: string | null; body?: unknown; headers?: Record<string, string> },
) => Promise<{ status: number; body: any }>;

export type Capability = 'suspend' | 'pause' | 'resize' | 'snapshot' | 'nics' | 'console' | 'console-log' | 'diagnostics' | 'volumes' | 'migrate';

/**
 * What the running service carries out (issue-5 calls may be in the contract before they work):
 * each call is tried once on a scratch instance and counts only when its effect shows in the
 * instance afterwards. The integration tests verify end to end exactly these, and check that
 * the integrations fail cleanly on the rest.
 */
export async function serviceCapabilities(request: Requester, token: string, template: string, network: string): Promise<Set<Capability>> {
  const id = 'xcd-capability-probe';
  const path = `/v1/instances/${id}`;
  const wait = { token, headers: { prefer: 'wait=20' } };
  const state = async () => (await request('GET', path, { token })).body;
  const act = (body: unknown) => request('POST', `${path}/actions`, { ...wait, body });
  const found = new Set<Capability>();
  const spawned = await request('PUT', path, { ...wait, body: { template, name: id, vcpus: 2, memory_mb: 512, nics: [{ network }] } });
  if (spawned.body?.status !== 'succeeded') throw new Error(`capability probe: spawn failed: ${JSON.stringify(spawned.body)}`);
  try {
    if ((await act({ action: 'pause' })).body?.status === 'succeeded' && (await state()).power_state === 'paused') found.add('pause');
    await act({ action: 'unpause' });
    if ((await act({ action: 'suspend' })).body?.status === 'succeeded' && (await state()).power_state === 'suspended') found.add('suspend');
    await act({ action: 'resume' });
    if ((await state()).power_state !== 'running') await act({ action: 'power-on' });
    const resized = await act({ action: 'resize', vcpus: 1, memory_mb: 256, power_cycle: 'hard' });
    const after = await state();
    if (resized.body?.status === 'succeeded' && after.memory_mb === 256 && after.vcpus === 1) found.add('resize');
    const snap = await request('PUT', `${path}/snapshots/probe`, { ...wait, body: {} });
    if (snap.body?.status === 'succeeded') found.add('snapshot');
    const nic = await request('POST', `${path}/nics`, { ...wait, body: { network } });
    if (nic.body?.status === 'succeeded' && (await state()).nics?.length === 2) found.add('nics');
    if ((await request('GET', `${path}/console`, { token })).status === 200) found.add('console');
    if ((await request('GET', `${path}/console/log`, { token })).status === 200) found.add('console-log');
    if ((await request('GET', `${path}/diagnostics`, { token })).status === 200) found.add('diagnostics');
    const noVdi = await request('PUT', `${path}/volumes/00000000-0000-4000-8000-000000000000`, { ...wait, body: {} });
    if (noVdi.body?.code === 'volume_not_found') found.add('volumes'); // the route works; the tests check the effect
    const host0 = (await state()).host?.uuid;
    const moved = await act({ action: 'migrate' });
    if (moved.body?.status === 'succeeded' && (await state()).host?.uuid !== host0) found.add('migrate');
  } finally {
    await request('DELETE', `${path}/snapshots/probe`, wait);
    await request('DELETE', path, wait);
  }
  return found;
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
