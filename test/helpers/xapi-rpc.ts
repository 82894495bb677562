// A minimal JSON-RPC 2.0 XAPI client for simulator tests: login, call (session prepended),
// Async calls awaited through task polling, and XAPI failures as thrown RpcFault {code, params}.
// Test-only; it must not be used by src/ and knows nothing of the simulator's internals.
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/simulator';

export class RpcFault extends Error {
  constructor(
    readonly code: string,
    readonly params: string[],
  ) {
    super(`${code} [${params.join(', ')}]`);
  }
}

export class Rpc {
  session = '';
  private id = 0;
  constructor(readonly url: string) {}

  async raw(method: string, params: unknown[]): Promise<unknown> {
    const res = await fetch(`${this.url}/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method, params, id: ++this.id }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as {
      result?: unknown;
      error?: { message: string; data?: string[] };
    };
    if (body.error) {
      throw new RpcFault(body.error.message, (body.error.data ?? []).map(String));
    }
    return body.result;
  }

  async login(user = 'root', password = 'xenroot'): Promise<this> {
    this.session = (await this.raw('session.login_with_password', [
      user,
      password,
      '1.0',
      'jest',
    ])) as string;
    return this;
  }

  call<T = any>(method: string, ...args: unknown[]): Promise<T> {
    return this.raw(method, [this.session, ...args]) as Promise<T>;
  }

  /** Start Async.<method> and return the task ref without waiting. */
  async start(method: string, ...args: unknown[]): Promise<string> {
    return this.call<string>(`Async.${method}`, ...args);
  }

  /** Wait for a task; resolves with its record, throws RpcFault from error_info on failure. */
  async wait(taskRef: string, timeoutMs = 10_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rec = await this.call('task.get_record', taskRef);
      if (rec.status !== 'pending' && rec.status !== 'cancelling') {
        if (rec.status !== 'success') {
          const [code, ...params] = rec.error_info as string[];
          throw new RpcFault(code, params);
        }
        return rec;
      }
      if (Date.now() > deadline) throw new Error(`task ${taskRef} still pending`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Ref of the first object of cls whose name_label is `label`. */
  async byName(cls: string, label: string): Promise<string> {
    const refs = await this.call<string[]>(`${cls}.get_by_name_label`, label);
    if (refs.length === 0) throw new Error(`no ${cls} named ${label}`);
    return refs[0];
  }
}

/** Expect `p` to fail with XAPI error `code` (and, when given, exactly `params`). */
export async function expectFault(
  p: Promise<unknown>,
  code: string,
  params?: string[],
): Promise<RpcFault> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  if (!(err instanceof RpcFault))
    throw new Error(`expected ${code}, got ${err === undefined ? 'success' : String(err)}`);
  expect(err.code).toBe(code);
  if (params) expect(err.params).toEqual(params);
  return err;
}

export interface SimFixture {
  sim: SimulatorHandle;
  rpc: Rpc;
}

/** Start a simulator (fast defaults for tests) and log in over JSON-RPC. */
export async function openSim(opts: SimulatorOptions = {}): Promise<SimFixture> {
  const sim = await startSimulator({ authFailureDelayMs: 10, ...opts });
  const rpc = await new Rpc(sim.url).login(sim.user, sim.password);
  return { sim, rpc };
}
