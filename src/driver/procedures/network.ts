// VLAN networks as XAPI steps: finding the network that carries a VLAN tag on the service's VLAN
// device (from the PIFs XAPI has, not the mirror), and making one pool-wide (network.create
// tagged as the service's, then pool.create_VLAN), with its undo. Also the VIF other_config that
// binds a NIC to an orchestrator's port. Decides neither ranges nor when it runs (networks.ts).
import type { XapiClient } from '../../xapi';
import type { NetworkRecord, PIFRecord } from '../../xapi/datamodel.generated';
import { ignoreGone } from './common';
import { ApiError, isGone } from '../errors';
import { runSteps, type StepRunOptions } from '../steps';
import { NETWORK_TAG } from '../tags';

/** The keys XAPI copies from a VIF's other_config to its Open vSwitch port's external-ids. */
export const PORT_KEYS = { ifaceId: 'nicira-iface-id', vmId: 'nicira-vm-id' } as const;

/** The VIF other_config keys binding a NIC to an orchestrator's port (Neutron's OVS agent). */
export function portKeys(portId: string | undefined, vmUuid: string): Record<string, string> {
  return portId === undefined ? {} : { [PORT_KEYS.ifaceId]: portId, [PORT_KEYS.vmId]: vmUuid };
}

export interface VlanNetwork {
  ref: string;
  mtu: number;
  name: string;
  /** Made by this call (not found). */
  created: boolean;
}

/** Is this network the service's network for `tag`? */
export function isManagedVlan(
  otherConfig: Record<string, string> | undefined,
  tag: number,
): boolean {
  return (
    otherConfig?.[NETWORK_TAG.managed] === 'true' && otherConfig?.[NETWORK_TAG.vlan] === String(tag)
  );
}

export function vlanInUse(tag: number, name: string): ApiError {
  return new ApiError(
    409,
    'vlan_in_use',
    `VLAN ${tag} is carried by network '${name}', which the service did not make`,
    { extra: { vlan: tag } },
  );
}

/**
 * The service's network for `tag` on `device`, asked of XAPI: the network of the VLAN PIFs on
 * that device with that tag (409 vlan_in_use when it is not the service's), else a network the
 * service made for the tag that has no PIF yet (a make interrupted before pool.create_VLAN).
 */
export async function findVlanNetwork(
  xapi: XapiClient,
  device: string,
  tag: number,
): Promise<{ ref: string; rec: NetworkRecord; hasPifs: boolean } | undefined> {
  const pifs = await xapi.call<Record<string, PIFRecord>>('PIF.get_all_records');
  const nets = await xapi.call<Record<string, NetworkRecord>>('network.get_all_records');
  for (const pif of Object.values(pifs)) {
    if (pif.device !== device || Number(pif.VLAN) !== tag) continue;
    const rec = nets[pif.network];
    if (!rec) continue;
    if (!isManagedVlan(rec.other_config, tag)) throw vlanInUse(tag, rec.name_label);
    return { ref: pif.network, rec, hasPifs: true };
  }
  for (const [ref, rec] of Object.entries(nets))
    if (isManagedVlan(rec.other_config, tag)) return { ref, rec, hasPifs: rec.PIFs.length > 0 };
  return undefined;
}

/** Removes a VLAN network the service made: its VLANs (and so their PIFs), then the network. */
export async function removeVlanNetwork(xapi: XapiClient, netRef: string): Promise<void> {
  const pifs = (await ignoreGone(xapi.call<string[]>('network.get_PIFs', netRef), isGone)) ?? [];
  for (const pif of pifs) {
    const vlan = await ignoreGone(xapi.call<string>('PIF.get_VLAN_master_of', pif), isGone);
    if (vlan && !vlan.endsWith(':NULL')) await ignoreGone(xapi.call('VLAN.destroy', vlan), isGone);
  }
  await ignoreGone(xapi.call('network.destroy', netRef), isGone);
}

interface MakeState {
  netRef?: string;
}

/**
 * Finds the service's network for `tag`, or makes it pool-wide: network.create (tagged as the
 * service's, named `name`), then pool.create_VLAN on `device` of every host; a failure removes
 * what was made. The caller serialises calls for one tag.
 */
export async function ensureVlanNetwork(
  xapi: XapiClient,
  device: string,
  tag: number,
  opts: { name: string; description?: string; mtu?: number },
  steps: StepRunOptions,
): Promise<VlanNetwork> {
  const found = await findVlanNetwork(xapi, device, tag);
  const state: MakeState = { netRef: found?.ref };
  if (found?.hasPifs)
    return {
      ref: found.ref,
      mtu: Number(found.rec.MTU) || 1500,
      name: found.rec.name_label,
      created: false,
    };
  await runSteps<MakeState>(
    [
      {
        name: 'network.create',
        when: (s) => s.netRef === undefined,
        run: async (s, ctx) => {
          const ref = await xapi.call<string>('network.create', {
            name_label: opts.name,
            name_description: opts.description ?? `VLAN ${tag} on ${device}`,
            MTU: opts.mtu ?? 1500,
            other_config: { [NETWORK_TAG.managed]: 'true', [NETWORK_TAG.vlan]: String(tag) },
            tags: [],
          });
          s.netRef = ref;
          ctx.onUndo('remove the network', () => removeVlanNetwork(xapi, ref));
        },
      },
      {
        name: 'pool.create_VLAN',
        run: async (s, ctx) => {
          const pifs = await xapi.callAsync<string[]>('pool.create_VLAN', [device, s.netRef, tag], {
            signal: ctx.signal,
          });
          // A device no host has makes no PIF: a network carrying nothing is no VLAN network.
          if (pifs.length === 0)
            throw new ApiError(
              422,
              'vlan_not_allowed',
              `no host has the service's VLAN device '${device}'`,
              { extra: { vlan: tag } },
            );
        },
      },
    ],
    state,
    steps,
  );
  const rec = await xapi.call<NetworkRecord>('network.get_record', state.netRef);
  return {
    ref: state.netRef!,
    mtu: Number(rec.MTU) || 1500,
    name: rec.name_label,
    created: found === undefined,
  };
}
