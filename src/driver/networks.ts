// Networks the service makes: VLAN networks on the operator's VLAN device, within the operator's
// VLAN range, found or made for a NIC's `vlan` (spawn, attach) or by an admin's PUT, and removed
// by an admin's DELETE once no NIC is on them. Makes and removals of one tag run one at a time in
// this service, so two NICs asking for a new VLAN at once share one network. What it does in
// XAPI lives in procedures/network.ts. No HTTP here.
import type { XapiClient } from '../xapi';
import { ApiError } from './errors';
import { waitForMirror } from './mirror-wait';
import {
  ensureVlanNetwork,
  isManagedVlan,
  removeVlanNetwork,
  type VlanNetwork,
} from './procedures/network';
import { NETWORK_TAG } from './tags';
import type { StepRunOptions } from './steps';
import type { Caller, Schema } from './types';
import * as catalogue from './views/catalogue';

/** The operator's VLAN settings: the physical device VLANs go on, and the tags tenants may use. */
export interface VlanOptions {
  /** The PIF device (e.g. 'eth1') the VLAN networks are made on, on every host. */
  device: string;
  min: number;
  max: number;
}

/** The name a VLAN network gets when a NIC makes it. */
export const vlanNetworkName = (tag: number): string => `xcd-vlan-${tag}`;

export class Networks {
  /** Per VLAN tag: the make or removal under way, which the next one for the tag waits for. */
  private readonly busy = new Map<number, Promise<unknown>>();

  constructor(
    private readonly xapi: XapiClient,
    private readonly vlans: VlanOptions | undefined,
    private readonly mirrorWaitMs: number,
  ) {}

  /** 422 vlan_not_allowed unless the service has a VLAN device and `tag` is in its range. */
  checkVlan(tag: number): void {
    if (!this.vlans)
      throw new ApiError(422, 'vlan_not_allowed', 'this service has no VLAN device configured', {
        extra: { vlan: tag },
      });
    const { min, max } = this.vlans;
    if (tag < min || tag > max)
      throw new ApiError(
        422,
        'vlan_not_allowed',
        `VLAN ${tag} is outside this service's VLAN range ${min}-${max}`,
        { extra: { vlan: tag, vlan_range: [min, max] } },
      );
  }

  /** The service's network for `tag`, made pool-wide when there is none (checked first). */
  ensureVlan(
    tag: number,
    steps: StepRunOptions,
    opts: { name?: string; description?: string; mtu?: number } = {},
  ): Promise<VlanNetwork> {
    this.checkVlan(tag);
    const device = this.vlans!.device;
    return this.inTurn(tag, () =>
      // The make's own steps report no progress: it is a part of the caller's step.
      ensureVlanNetwork(
        this.xapi,
        device,
        tag,
        { ...opts, name: opts.name ?? vlanNetworkName(tag) },
        {
          signal: steps.signal,
          ...(steps.onUndoError ? { onUndoError: steps.onUndoError } : {}),
        },
      ),
    );
  }

  /** Runs `work` once the make or removal of `tag` under way has ended. */
  private inTurn<T>(tag: number, work: () => Promise<T>): Promise<T> {
    const prior = this.busy.get(tag) ?? Promise.resolve();
    const next = prior.catch(() => undefined).then(work);
    this.busy.set(tag, next);
    void next
      .catch(() => undefined)
      .then(() => {
        if (this.busy.get(tag) === next) this.busy.delete(tag);
      });
    return next;
  }

  /**
   * DELETE /v1/networks/{name} (admin): removes the service's network `name` (its VLANs, then
   * the network) when no VIF is on it, asked of XAPI in the tag's turn: 404 network_not_found,
   * 409 operation_not_allowed for a network the service did not make, 409 network_in_use.
   */
  async remove(caller: Caller, name: string): Promise<void> {
    if (caller.role !== 'admin')
      throw new ApiError(403, 'forbidden', 'only an admin token removes networks');
    const named = this.xapi.mirror.query('network', {
      where: { name_label: name },
      fields: ['other_config'],
    });
    if (named.length === 0)
      throw new ApiError(404, 'network_not_found', `network '${name}' not found`);
    const managed = named.filter((n) => n.other_config[NETWORK_TAG.managed] === 'true');
    if (managed.length !== named.length)
      throw new ApiError(
        409,
        'operation_not_allowed',
        `network '${name}' was not made by the service: it removes only its own`,
      );
    for (const net of managed) {
      const tag = Number(net.other_config[NETWORK_TAG.vlan]);
      await this.inTurn(tag, async () => {
        const vifs = await this.xapi.call<string[]>('network.get_VIFs', net.$ref);
        if (vifs.length > 0)
          throw new ApiError(
            409,
            'network_in_use',
            `network '${name}' still has ${vifs.length} NIC(s) on it`,
            { extra: { vifs: vifs.length } },
          );
        await removeVlanNetwork(this.xapi, net.$ref);
      });
    }
    await waitForMirror(
      this.xapi.mirror,
      () => managed.every((n) => !this.xapi.mirror.get('network', n.$ref)),
      this.mirrorWaitMs,
    );
  }

  /**
   * PUT /v1/networks/{name} (admin): the service's network `name` carrying `vlan`, made when
   * there is none. `created` is false when it was there as asked.
   */
  async create(
    caller: Caller,
    name: string,
    body: Schema<'NetworkCreateRequest'>,
  ): Promise<{ network: Schema<'Network'>; created: boolean }> {
    if (caller.role !== 'admin')
      throw new ApiError(403, 'forbidden', 'only an admin token makes networks');
    this.checkVlan(body.vlan);
    const mirror = this.xapi.mirror;
    const named = mirror.query('network', {
      where: { name_label: name },
      fields: ['other_config'],
    });
    if (named.some((n) => !isManagedVlan(n.other_config, body.vlan)))
      throw networkExists(name, body.vlan);
    const controller = new AbortController();
    const made = await this.ensureVlan(
      body.vlan,
      { signal: controller.signal },
      {
        name,
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.mtu !== undefined ? { mtu: body.mtu } : {}),
      },
    );
    if (made.name !== name) throw networkExists(name, body.vlan, made.name);
    const network = await this.viewed(made.ref);
    return { network, created: made.created };
  }

  /** The catalogue's view of a network, once the mirror has it. */
  private async viewed(ref: string): Promise<Schema<'Network'>> {
    const uuid = await this.xapi.call<string>('network.get_uuid', ref);
    const view = (): Schema<'Network'> | undefined =>
      catalogue.networks(this.xapi.mirror).find((n) => n.uuid === uuid && n.managed);
    await waitForMirror(this.xapi.mirror, () => view() !== undefined, this.mirrorWaitMs);
    const shown = view();
    if (!shown)
      throw new ApiError(503, 'xapi_unavailable', 'the mirror did not show the network in time');
    return shown;
  }
}

function networkExists(name: string, tag: number, vlanNetwork?: string): ApiError {
  return new ApiError(
    409,
    'network_exists',
    vlanNetwork !== undefined
      ? `VLAN ${tag} is already the service's network '${vlanNetwork}'`
      : `a network named '${name}' exists and is not the service's network for VLAN ${tag}`,
  );
}
