// Helpers of the driver's instance behaviour tests (lifecycle, snapshots, resize, volumes, nics, console,
// migrate, events): spawning an instance through the driver, putting its VM into a power state
// through XAPI directly (test setup), and waiting for the mirror. Fakes nothing.
import type { Caller } from '../../src/driver';
import type { Instance, Operation } from '../../src/driver/types';

/** An operation on an instance: its result, when it has one, is the Instance. */
export type InstanceOperation = Omit<Operation, 'result'> & { result: Instance | null };
import { alice, provisioningTemplate, settle, type DriverStack } from './stack';

export type PowerState = 'Halted' | 'Running' | 'Paused' | 'Suspended';
export const POWER_STATES: PowerState[] = ['Halted', 'Running', 'Paused', 'Suspended'];

export async function spawnInstance(
  stack: DriverStack,
  id: string,
  extra: Record<string, unknown> = {},
  caller: Caller = alice,
): Promise<string> {
  const { operation } = stack.driver.spawn(caller, id, {
    template: provisioningTemplate(stack),
    ...extra,
  } as never);
  const done = await settle(stack, caller, operation);
  if (done.status !== 'succeeded')
    throw new Error(`spawn ${id} ${done.status}: ${JSON.stringify(done.error)}`);
  return vmRefOf(stack, id, caller);
}

export function vmRefOf(stack: DriverStack, id: string, caller: Caller = alice): string {
  return stack.sim.store.byUuid('VM', stack.driver.getInstance(caller, id).uuid)!;
}

export function simVm(stack: DriverStack, vmRef: string): Record<string, any> {
  return stack.sim.store.get('VM', vmRef) as Record<string, any>;
}

/** The simulator's VBD of the VM at `device`, if it has one. */
export function simVbdAt(
  stack: DriverStack,
  vmRef: string,
  device: string,
): Record<string, any> | undefined {
  return (simVm(stack, vmRef).VBDs as string[])
    .map((r) => stack.sim.store.get('VBD', r) as Record<string, any>)
    .find((v) => v.userdevice === device);
}

export async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Puts the VM into a power state through XAPI directly, waiting for the mirror to show each
 * step (so the event feed sees every transition), then the target.
 */
export async function setState(
  stack: DriverStack,
  vmRef: string,
  target: PowerState,
): Promise<void> {
  const step = async (method: string, args: unknown[], to: PowerState): Promise<void> => {
    await stack.xapi.call(method, vmRef, ...args);
    await until(() => stack.xapi.mirror.get('VM', vmRef)?.power_state === to);
  };
  if (simVm(stack, vmRef).power_state !== 'Halted') await step('VM.hard_shutdown', [], 'Halted');
  if (target !== 'Halted') await step('VM.start', [false, false], 'Running');
  if (target === 'Paused') await step('VM.pause', [], 'Paused');
  if (target === 'Suspended') await step('VM.suspend', [], 'Suspended');
  await until(() => stack.xapi.mirror.get('VM', vmRef)?.power_state === target);
}

/** Settles an operation (fails the test when there is none or it runs too long). */
export async function done(
  stack: DriverStack,
  op: Operation | null,
  caller: Caller = alice,
): Promise<InstanceOperation> {
  if (!op) throw new Error('no operation');
  return (await settle(stack, caller, op)) as InstanceOperation;
}
