// Pause, unpause, suspend and resume as XAPI calls, with the power states each one starts from
// (XAPI's own table: the driver checks them early for a clear 409, XAPI checks them again) and
// the state the mirror must show before the operation is done. Knows nothing of scheduling.
import type { XapiClient } from '../../xapi';
import type { OpRun } from './common';

export type LifecycleAction = 'pause' | 'unpause' | 'suspend' | 'resume';

export const LIFECYCLE: Record<
  LifecycleAction,
  { method: string; args: unknown[]; from: string[]; to: string }
> = {
  pause: { method: 'VM.pause', args: [], from: ['running'], to: 'Paused' },
  unpause: { method: 'VM.unpause', args: [], from: ['paused'], to: 'Running' },
  suspend: { method: 'VM.suspend', args: [], from: ['running'], to: 'Suspended' },
  // start_paused=false, force=false
  resume: { method: 'VM.resume', args: [false, false], from: ['suspended'], to: 'Running' },
};

export async function runLifecycle(
  xapi: XapiClient,
  action: LifecycleAction,
  run: OpRun,
): Promise<void> {
  const { method, args, to } = LIFECYCLE[action];
  await xapi.callAsync(method, [run.vmRef, ...args], {
    signal: run.signal,
    onProgress: (f) => run.onProgress(f * 0.95, method),
  });
  await run.viewed((v) => v?.xapi_power_state === to);
}
