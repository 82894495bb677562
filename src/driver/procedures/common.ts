// What the procedures share: the run handed to an operation's job, the early
// invalid_power_state check in XAPI's own error shape, calls that may meet objects already
// gone, and the create-then-plug steps of a hot-plugged device. Holds no operation of its own.
import type { XapiClient } from '../../xapi';
import type { VMRecord } from '../../xapi/datamodel.generated';
import { ApiError, isGone } from '../errors';
import { waitForMirror } from '../mirror-wait';
import { runSteps, type StepRunOptions } from '../steps';
import type { Owner } from '../tags';
import type { Instance } from '../types';

/** What a running operation's job is handed. */
export interface OpRun {
  vmRef: string;
  owner: Owner;
  signal: AbortSignal;
  onProgress: (fraction: number, step: string) => void;
  steps: StepRunOptions;
  mirrorWaitMs: number;
  /** Waits (bounded) until the instance view, which the result is built from, passes `check`. */
  viewed(check: (view: Instance | undefined) => boolean): Promise<boolean>;
}

/** 409 invalid_power_state with XAPI's shape, for checks made before XAPI is asked. */
export function badPowerState(vmRef: string, expected: string[], actual: string): ApiError {
  const act = actual.toLowerCase();
  return new ApiError(
    409,
    'invalid_power_state',
    `the instance is ${act}; this needs ${expected.join(' or ')}`,
    {
      xapi_error: { code: 'VM_BAD_POWER_STATE', params: [vmRef, expected.join(', '), act] },
      extra: { expected_power_states: expected, actual_power_state: act },
    },
  );
}

/** Throws invalid_power_state unless the VM is in one of `allowed` (XAPI names, lowercase). */
export function requirePowerState(
  vm: Pick<VMRecord, 'power_state'> & { $ref: string },
  allowed: string[],
): void {
  const actual = String(vm.power_state).toLowerCase();
  if (!allowed.includes(actual)) throw badPowerState(vm.$ref, allowed, actual);
}

export function snapshotNotFound(id: string): ApiError {
  return new ApiError(404, 'snapshot_not_found', `snapshot '${id}' not found`);
}

/** Calls whose object may already be gone: HANDLE_INVALID / UUID_INVALID count as done. */
export async function ignoreGone<T>(
  p: Promise<T>,
  isGone: (err: unknown) => boolean,
): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

interface PlugState {
  ref?: string;
  running: boolean;
}

/**
 * A device (VBD or VIF) added to the run's VM as two steps with undo: `<cls>.create` from
 * `record` (undo: destroy), then `<cls>.plug` when the VM runs (undo: unplug_force). Then waits
 * (bounded) until the mirror lists it on the VM, attached when it was plugged. Returns its ref.
 */
export async function createAndPlug(
  xapi: XapiClient,
  run: OpRun,
  cls: 'VBD' | 'VIF',
  record: Record<string, unknown>,
): Promise<string> {
  const power = await xapi.call<string>('VM.get_power_state', run.vmRef);
  const state: PlugState = { running: power === 'Running' };
  await runSteps<PlugState>(
    [
      {
        name: `${cls}.create`,
        run: async (s, ctx) => {
          const ref = await xapi.call<string>(`${cls}.create`, record);
          s.ref = ref;
          ctx.onUndo(`destroy the ${cls}`, async () => {
            await ignoreGone(xapi.call(`${cls}.destroy`, ref), isGone);
          });
        },
      },
      {
        name: `${cls}.plug`,
        weight: 2,
        when: (s) => s.running,
        run: async (s, ctx) => {
          const ref = s.ref!;
          await xapi.callAsync(`${cls}.plug`, [ref], {
            signal: ctx.signal,
            onProgress: (f) => ctx.progress(f),
          });
          ctx.onUndo(`unplug the ${cls}`, async () => {
            await ignoreGone(xapi.call(`${cls}.unplug_force`, ref), isGone);
          });
        },
      },
    ],
    state,
    run.steps,
  );
  const ref = state.ref!;
  const list = cls === 'VBD' ? 'VBDs' : 'VIFs';
  await waitForMirror(
    xapi.mirror,
    () => {
      const dev = xapi.mirror.get(cls, ref);
      return (
        !!dev &&
        (!state.running || dev.currently_attached) &&
        !!xapi.mirror.get('VM', run.vmRef)?.[list].includes(ref)
      );
    },
    run.mirrorWaitMs,
  );
  return ref;
}
