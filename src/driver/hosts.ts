// The hosts of the pool as an admin maintains them: an action (disable, enable, evacuate, reboot,
// shutdown, power-on) on one host, named by uuid, name_label or hostname, run as an operation
// through the runner, one at a time per host; its result is the host as GET /v1/host lists it.
// What each action does in XAPI lives in procedures/host.ts. No HTTP here.
import type { XapiClient } from '../xapi';
import { ApiError, toApiError } from './errors';
import { waitForMirror } from './mirror-wait';
import { runHostAction, type HostActionName } from './procedures/host';
import type { OperationRunner } from './runner';
import type { Caller, Operation, OperationKind, Schema } from './types';
import { hostView } from './views/host';

type HostSummary = Schema<'HostSummary'>;

/** What the mirror shows of the host once each action is over. */
const SETTLED: Record<HostActionName, (h: HostSummary) => boolean> = {
  disable: (h) => !h.enabled,
  enable: (h) => h.enabled,
  evacuate: (h) => !h.enabled && (h.running_instances ?? 0) === 0,
  reboot: (h) => h.live,
  shutdown: (h) => !h.live,
  'power-on': (h) => h.live,
};

/** An evacuation's refusal names a guest of the host, not the caller's instance. */
function aboutGuests(err: unknown): unknown {
  const e = toApiError(err);
  if (e.code !== 'invalid_power_state') return err;
  return new ApiError(
    409,
    'invalid_power_state',
    'a guest on the host is not running (a paused or suspending guest cannot migrate): ' +
      'resume or stop it first',
    {
      ...(e.xapi_error ? { xapi_error: e.xapi_error } : {}),
      ...(e.extra ? { extra: e.extra } : {}),
    },
  );
}

export class Hosts {
  constructor(
    private readonly xapi: XapiClient,
    private readonly runner: OperationRunner,
  ) {}

  /** The host named by uuid, name_label or hostname (404 host_not_found). */
  private find(name: string): { ref: string; uuid: string } {
    const rows = this.xapi.mirror.query('host', { fields: ['uuid', 'name_label', 'hostname'] });
    const host =
      rows.find((h) => h.uuid === name) ??
      rows.find((h) => h.name_label === name) ??
      rows.find((h) => h.hostname === name);
    if (!host) throw new ApiError(404, 'host_not_found', `host '${name}' not found`);
    return { ref: host.$ref, uuid: host.uuid };
  }

  private summary(uuid: string): HostSummary | undefined {
    return hostView(this.xapi.mirror).hosts.find((h) => h.uuid === uuid);
  }

  action(caller: Caller, name: string, body: Schema<'HostAction'>): Operation {
    if (caller.role !== 'admin')
      throw new ApiError(403, 'forbidden', 'only an admin token maintains hosts');
    const host = this.find(name);
    const kind = `host-${body.action}` as OperationKind;
    const entry = this.runner.ops.create(caller.namespace, kind, '', {});
    entry.data.host_id = host.uuid;
    void this.runner.schedule(`host/${host.uuid}`, entry, async () => {
      try {
        await runHostAction(this.xapi, host.ref, body.action, this.runner.stepOptions(entry));
      } catch (err) {
        // A failed action undid what it did (the host enabled again): reads show that too.
        const enabled = await this.xapi.call<boolean>('host.get_enabled', host.ref);
        await this.shown(host.uuid, (h) => h.enabled === enabled);
        throw aboutGuests(err);
      }
      await this.shown(host.uuid, SETTLED[body.action]);
      this.runner.ops.succeed(entry, this.summary(host.uuid) ?? null);
    });
    return entry.view();
  }

  /** Waits until the mirror's view of the host passes `check` (or the mirror wait ends). */
  private async shown(uuid: string, check: (h: HostSummary) => boolean): Promise<void> {
    await waitForMirror(
      this.xapi.mirror,
      () => {
        const h = this.summary(uuid);
        return h !== undefined && check(h);
      },
      this.runner.mirrorWaitMs,
    );
  }
}
