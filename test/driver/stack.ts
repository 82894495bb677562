// Test helper for the driver's behaviour suite: the real stack below HTTP (startSimulator +
// XapiClient.connect + ComputeDriver), callers of two namespaces, a record of the XAPI calls the
// driver makes, and a snapshot of the pool's VM/VDI/VBD/VIF refs. Nothing here fakes XAPI.
import pino from 'pino';
import { ComputeDriver, type Caller, type ComputeDriverOptions } from '../../src/driver';
import type { Operation } from '../../src/driver/types';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/simulator';
import { XapiClient } from '../../src/xapi';

export const alice: Caller = { namespace: 'alice', role: 'operator', tokenId: 'alice-op' };
export const bob: Caller = { namespace: 'bob', role: 'operator', tokenId: 'bob-op' };
export const aliceViewer: Caller = { namespace: 'alice', role: 'viewer', tokenId: 'alice-view' };

export interface DriverStack {
  sim: SimulatorHandle;
  xapi: XapiClient;
  driver: ComputeDriver;
  /** XAPI methods called through the client since the last reset (sync names, in order),
   * without the operation journal's message.* calls (group commits shared by operations). */
  calls: string[];
  /** Stops the driver and its client, then starts new ones on the same pool (a service restart). */
  restartDriver(): Promise<void>;
  close(): Promise<void>;
}

function record(xapi: XapiClient, calls: string[]): void {
  const call = xapi.call.bind(xapi);
  const callAsync = xapi.callAsync.bind(xapi);
  xapi.call = ((method: string, ...args: unknown[]) => {
    if (!method.startsWith('message.')) calls.push(method);
    return call(method, ...args);
  }) as typeof xapi.call;
  xapi.callAsync = ((method: string, args: unknown[], opts?: Parameters<typeof callAsync>[2]) => {
    calls.push(method);
    return callAsync(method, args, opts);
  }) as typeof xapi.callAsync;
}

export async function startDriverStack(
  opts: { sim?: SimulatorOptions; driver?: Partial<ComputeDriverOptions> } = {},
): Promise<DriverStack> {
  const sim = await startSimulator({ authFailureDelayMs: 10, timeScale: 0, ...opts.sim });
  const calls: string[] = [];
  const logger = pino({ level: process.env.XCD_TEST_LOG ?? 'silent' });
  const connect = async (): Promise<{ xapi: XapiClient; driver: ComputeDriver }> => {
    const xapi = await XapiClient.connect({
      url: sim.url,
      user: sim.user,
      password: sim.password,
      callTimeoutMs: 10_000,
    });
    record(xapi, calls);
    const driver = new ComputeDriver(xapi, { logger, mirrorWaitMs: 5000, ...opts.driver });
    await driver.start();
    return { xapi, driver };
  };
  let current = await connect();
  const stack: DriverStack = {
    sim,
    get xapi() {
      return current.xapi;
    },
    get driver() {
      return current.driver;
    },
    calls,
    async restartDriver() {
      await current.driver.close();
      await current.xapi.close();
      current = await connect();
    },
    async close() {
      await current.driver.close();
      await current.xapi.close();
      await sim.close();
    },
  };
  return stack;
}

/** The refs of every VM, VDI, VBD and VIF in the pool, sorted: equal snapshots = same pool. */
export function poolSnapshot(sim: SimulatorHandle): Record<'VM' | 'VDI' | 'VBD' | 'VIF', string[]> {
  const refs = (cls: 'VM' | 'VDI' | 'VBD' | 'VIF'): string[] =>
    [...sim.store.all(cls).keys()].sort();
  return { VM: refs('VM'), VDI: refs('VDI'), VBD: refs('VBD'), VIF: refs('VIF') };
}

/** Waits for an operation to finish (fails the test after `ms`). */
export async function settle(
  stack: DriverStack,
  caller: Caller,
  op: Operation,
  ms = 15_000,
): Promise<Operation> {
  const done = await stack.driver.waitOperation(caller, op.id, ms);
  if (done.status === 'running')
    throw new Error(`operation ${op.kind} ${op.id} still running after ${ms} ms`);
  return done;
}

/** A template that provisions its own disks (other_config.disks), as XAPI's default ones do. */
export function provisioningTemplate(stack: DriverStack): string {
  // One of the pool's default templates: never a template some test cloned.
  const t = stack.xapi.mirror
    .query('VM', {
      where: { is_a_template: true, is_a_snapshot: false, is_default_template: true },
      fields: ['uuid', 'other_config', 'VBDs'],
    })
    .find((r) => /<disk\b/.test(r.other_config?.disks ?? '') && r.VBDs.length === 0);
  if (!t) throw new Error('the simulated pool has no template with other_config.disks');
  return t.uuid;
}

export function someNetwork(stack: DriverStack): {
  uuid: string;
  name_label: string;
  bridge: string;
} {
  const n = stack.driver.networks().find((x) => x.bridge && x.name_label);
  if (!n) throw new Error('the simulated pool has no network');
  return n;
}

export function vmOf(stack: DriverStack, uuid: string): Record<string, any> {
  const ref = stack.sim.store.byUuid('VM', uuid);
  if (!ref) throw new Error(`no VM ${uuid}`);
  return stack.sim.store.get('VM', ref) as Record<string, any>;
}
