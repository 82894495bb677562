// NICs of an instance: attach (VIF.create on a network named by uuid, name_label or bridge, or on
// the service's network of a VLAN, with an optional MAC and orchestrator port, then VIF.plug when
// it runs) and detach (VIF.unplug when plugged, VIF.destroy). Listing reads the mirror. Knows
// nothing of scheduling; never touches another VM's VIFs.
import type { MirrorView, XapiClient } from '../../xapi';
import type { VIFRecord, VMRecord } from '../../xapi/datamodel.generated';
import { createAndPlug, ignoreGone, type OpRun } from './common';
import { ApiError, isGone } from '../errors';
import { waitForMirror } from '../mirror-wait';
import { NETWORK_TAG, TAG, ownerTags } from '../tags';
import type { Schema } from '../types';
import { PORT_KEYS, portKeys } from './network';

/** Finds or makes the service's network of a VLAN (networks.ts), within the operation. */
export type EnsureVlan = (tag: number) => Promise<{ ref: string; mtu: number }>;

type VmRec = VMRecord & { $ref: string };

export function listNics(mirror: MirrorView, vm: VmRec): Array<Schema<'NicAttachment'>> {
  const out: Array<Schema<'NicAttachment'>> = [];
  for (const vifRef of vm.VIFs) {
    const vif = mirror.get('VIF', vifRef);
    if (!vif) continue;
    const net = mirror.get('network', vif.network);
    out.push({
      device: vif.device,
      mac: vif.MAC,
      network: net?.uuid ?? '',
      ...(net ? { network_name: net.name_label } : {}),
      attached: vif.currently_attached,
      mtu: Number(vif.MTU),
      ...(vif.other_config?.[PORT_KEYS.ifaceId] !== undefined
        ? { port_id: vif.other_config[PORT_KEYS.ifaceId] }
        : {}),
    });
  }
  return out.sort((a, b) => Number(a.device) - Number(b.device));
}

export function resolveNetwork(mirror: MirrorView, name: string): { ref: string; mtu: number } {
  const found =
    mirror.getByUuid('network', name) ??
    mirror.query('network', { where: { name_label: name }, fields: ['MTU'], limit: 1 })[0] ??
    mirror.query('network', { where: { bridge: name }, fields: ['MTU'], limit: 1 })[0];
  if (!found) throw new ApiError(404, 'network_not_found', `network '${name}' not found`);
  return { ref: found.$ref, mtu: Number(found.MTU) || 1500 };
}

/** The service's network of a VLAN as the mirror shows it (undefined: not made yet). */
export function managedVlanNetwork(mirror: MirrorView, tag: number): string | undefined {
  return mirror.query('network', {
    where: {
      [`other_config.${NETWORK_TAG.managed}`]: 'true',
      [`other_config.${NETWORK_TAG.vlan}`]: String(tag),
    },
    fields: ['uuid'],
    limit: 1,
  })[0]?.$ref;
}

async function vifsOf(
  xapi: XapiClient,
  vmRef: string,
): Promise<Array<VIFRecord & { ref: string }>> {
  const out: Array<VIFRecord & { ref: string }> = [];
  for (const ref of await xapi.call<string[]>('VM.get_VIFs', vmRef)) {
    const vif = await ignoreGone(xapi.call<VIFRecord>('VIF.get_record', ref), isGone);
    if (vif) out.push({ ...vif, ref });
  }
  return out;
}

export async function attachNic(
  xapi: XapiClient,
  body: Schema<'NicAttachRequest'>,
  run: OpRun,
  ensureVlan: EnsureVlan,
): Promise<void> {
  const net =
    body.vlan !== undefined
      ? await ensureVlan(body.vlan)
      : resolveNetwork(xapi.mirror, body.network ?? '');
  const mac = body.mac?.toLowerCase();
  const vifs = await vifsOf(xapi, run.vmRef);
  if (body.device !== undefined) {
    const at = vifs.find((v) => v.device === body.device);
    if (at) {
      const samePort =
        body.port_id === undefined || at.other_config?.[PORT_KEYS.ifaceId] === body.port_id;
      if (at.network === net.ref && (!mac || at.MAC.toLowerCase() === mac) && samePort) return; // a retry
      throw new ApiError(409, 'device_in_use', `device ${body.device} already holds a NIC`, {
        extra: { device: body.device },
      });
    }
  }
  if (mac && vifs.some((v) => v.MAC.toLowerCase() === mac))
    throw new ApiError(409, 'device_in_use', `the instance already has a NIC with MAC ${mac}`);
  const used = new Set(vifs.map((v) => v.device));
  let device = body.device;
  for (let i = 0; device === undefined; i++) if (!used.has(String(i))) device = String(i);
  const vmUuid =
    body.port_id !== undefined ? await xapi.call<string>('VM.get_uuid', run.vmRef) : '';
  await createAndPlug(xapi, run, 'VIF', {
    device,
    network: net.ref,
    VM: run.vmRef,
    MAC: mac ?? '',
    MTU: net.mtu,
    other_config: ownerTags(run.owner, { [TAG.role]: 'nic', ...portKeys(body.port_id, vmUuid) }),
    qos_algorithm_type: '',
    qos_algorithm_params: {},
    locking_mode: 'network_default',
  });
  await run.viewed((v) => !!v?.nics.some((n) => n.device === device));
}

export async function detachNic(xapi: XapiClient, device: string, run: OpRun): Promise<void> {
  const vif = (await vifsOf(xapi, run.vmRef)).find((v) => v.device === device);
  if (!vif) return;
  if (vif.currently_attached) {
    await xapi.callAsync('VIF.unplug', [vif.ref], {
      signal: run.signal,
      onProgress: (f) => run.onProgress(f * 0.8, 'VIF.unplug'),
    });
  }
  await ignoreGone(xapi.call('VIF.destroy', vif.ref), isGone);
  await waitForMirror(xapi.mirror, () => !xapi.mirror.get('VIF', vif.ref), run.mirrorWaitMs);
  await run.viewed((v) => !v?.nics.some((n) => n.device === device));
}
