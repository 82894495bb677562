// Maintenance of one host as XAPI steps: disable and enable, evacuate (disable, then
// host.evacuate live-migrating its running VMs elsewhere), reboot and shutdown after an
// evacuation, and power-on through the host's power-on mode. A failed evacuation enables again a
// host it disabled. Decides neither who may ask nor when it runs (hosts.ts).
import type { XapiClient } from '../../xapi';
import { runSteps, type Step, type StepRunOptions } from '../steps';
import type { Schema } from '../types';

export type HostActionName = Schema<'HostAction'>['action'];

interface HostState {
  /** The host was enabled before this action disabled it. */
  wasEnabled?: boolean;
}

export async function runHostAction(
  xapi: XapiClient,
  hostRef: string,
  action: HostActionName,
  opts: StepRunOptions,
): Promise<void> {
  const disable: Step<HostState> = {
    name: 'host.disable',
    run: async (s, ctx) => {
      s.wasEnabled = await xapi.call<boolean>('host.get_enabled', hostRef);
      if (!s.wasEnabled) return;
      await xapi.call('host.disable', hostRef);
      ctx.onUndo('enable the host again', () => xapi.call('host.enable', hostRef));
    },
  };
  const evacuate: Step<HostState> = {
    name: 'host.evacuate',
    weight: 8,
    run: async (_s, ctx) => {
      await xapi.callAsync('host.evacuate', [hostRef], {
        signal: ctx.signal,
        onProgress: (f) => ctx.progress(f),
      });
    },
  };
  const power = (method: 'host.reboot' | 'host.shutdown'): Step<HostState> => ({
    name: method,
    weight: 2,
    run: async (_s, ctx) => {
      await xapi.callAsync(method, [hostRef], { signal: ctx.signal });
    },
  });
  const steps: Record<HostActionName, Array<Step<HostState>>> = {
    disable: [disable],
    enable: [{ name: 'host.enable', run: () => xapi.call('host.enable', hostRef) }],
    evacuate: [disable, evacuate],
    reboot: [disable, evacuate, power('host.reboot')],
    shutdown: [disable, evacuate, power('host.shutdown')],
    'power-on': [
      {
        name: 'host.power_on',
        run: async (_s, ctx) => {
          await xapi.callAsync('host.power_on', [hostRef], { signal: ctx.signal });
        },
      },
    ],
  };
  await runSteps<HostState>(steps[action], {}, opts);
}
