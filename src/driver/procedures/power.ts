// Power actions as XAPI calls: reboot (soft with a timeout, falling back to hard; or hard),
// power-off (clean with a timeout, then hard; or hard), power-on (start, resume or unpause). XAPI decides which power
// states allow what (its VM_BAD_POWER_STATE becomes 409 invalid_power_state in errors.ts);
// this file keeps no table of its own. Knows nothing of operations or scheduling.
import type { XapiClient } from '../../xapi';
import { xapiCode } from '../errors';
import { OperationCancelled } from '../steps';
import type { InstanceAction } from '../types';

/** Errors after which the clean variant gives way to the hard one. */
const FALL_BACK_ON = new Set(['VM_LACKS_FEATURE', 'VM_MISSING_PV_DRIVERS', 'VM_SHUTDOWN_TIMEOUT']);

export interface ActionRun {
  signal: AbortSignal;
  onProgress: (fraction: number, step: string) => void;
}

/** The XAPI power_state the action ends in (what the mirror must show before it is done). */
export function targetPowerState(action: InstanceAction): 'Running' | 'Halted' {
  return action.action === 'power-off' ? 'Halted' : 'Running';
}

async function call(
  xapi: XapiClient,
  method: string,
  vmRef: string,
  args: unknown[],
  signal: AbortSignal,
  progress: (f: number) => void,
): Promise<void> {
  await xapi.callAsync(method, [vmRef, ...args], { signal, onProgress: progress });
}

/** Tries the clean variant within `timeoutS` seconds, then the hard one. */
async function cleanThenHard(
  xapi: XapiClient,
  vmRef: string,
  clean: string,
  hard: string,
  timeoutS: number,
  run: ActionRun,
): Promise<void> {
  if (timeoutS > 0) {
    const timeout = AbortSignal.timeout(timeoutS * 1000);
    const signal = AbortSignal.any([run.signal, timeout]);
    try {
      await call(xapi, clean, vmRef, [], signal, (f) => run.onProgress(f * 0.5, clean));
      return;
    } catch (err) {
      if (run.signal.aborted) throw new OperationCancelled();
      const code = xapiCode(err);
      if (!timeout.aborted && !(code && FALL_BACK_ON.has(code))) throw err;
    }
  }
  if (run.signal.aborted) throw new OperationCancelled();
  await call(xapi, hard, vmRef, [], run.signal, (f) => run.onProgress(0.5 + f * 0.5, hard));
}

export async function runAction(
  xapi: XapiClient,
  vmRef: string,
  action: InstanceAction,
  run: ActionRun,
): Promise<void> {
  switch (action.action) {
    case 'reboot':
      if (action.type === 'hard')
        return call(xapi, 'VM.hard_reboot', vmRef, [], run.signal, (f) =>
          run.onProgress(f, 'VM.hard_reboot'),
        );
      return cleanThenHard(
        xapi,
        vmRef,
        'VM.clean_reboot',
        'VM.hard_reboot',
        action.timeout ?? 60,
        run,
      );
    case 'power-off':
      if (action.type === 'hard')
        return call(xapi, 'VM.hard_shutdown', vmRef, [], run.signal, (f) =>
          run.onProgress(f, 'VM.hard_shutdown'),
        );
      return cleanThenHard(
        xapi,
        vmRef,
        'VM.clean_shutdown',
        'VM.hard_shutdown',
        action.timeout ?? 60,
        run,
      );
    case 'power-on': {
      // As the contract says: a suspended instance is resumed, a paused one unpaused.
      const power = xapi.mirror.get('VM', vmRef)?.power_state;
      const [method, args] =
        power === 'Suspended'
          ? ['VM.resume', [false, false]]
          : power === 'Paused'
            ? ['VM.unpause', []]
            : ['VM.start', [false, false]];
      return call(xapi, method, vmRef, args, run.signal, (f) => run.onProgress(f, method));
    }
  }
}
