// Shared setup for the native client's tests: a simulator per suite, clients that are always
// closed, and small waits. Only loopback; no mocks of the client or the simulator.
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/simulator';
import { XapiClient, type XapiClientOptions } from '../../src/xapi';

export async function sim(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  return startSimulator({ authFailureDelayMs: 10, ...opts });
}

const open = new Set<XapiClient>();

export async function connect(
  s: SimulatorHandle,
  opts: Partial<XapiClientOptions> = {},
): Promise<XapiClient> {
  const c = await XapiClient.connect({
    url: s.url,
    user: s.user,
    password: s.password,
    connectTimeoutMs: 2000,
    callTimeoutMs: 10000,
    eventPollSeconds: 1,
    ...opts,
  });
  open.add(c);
  return c;
}

export async function closeAll(): Promise<void> {
  for (const c of open) await c.close().catch(() => undefined);
  open.clear();
}

/** Polls `cond` (a cheap local check) until it holds. */
export async function until(
  cond: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function rejection(
  p: Promise<unknown>,
): Promise<Error & { code?: string; params?: string[]; method?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

export const PROTOCOLS = ['json-rpc', 'xml-rpc'] as const;
