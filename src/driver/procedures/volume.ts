// Volumes: existing VDIs attached to an instance by uuid at a device position (VBD.create, then
// VBD.plug when it runs) and detached (VBD.unplug when plugged, VBD.destroy). Only a VDI that
// passes the ownership check (ownership.ts) is attached; the VDI itself is never created, tagged
// or destroyed here (volumes by connection: iscsi.ts). Listing reads the mirror: VBDs of disks
// the spawn did not make for it, each with the id it was attached by.
import type { MirrorView, XapiClient } from '../../xapi';
import type { VBDRecord, VDIRecord, VMRecord } from '../../xapi/datamodel.generated';
import { sizeGb } from '../../xapi/units';
import { createAndPlug, ignoreGone, type OpRun } from './common';
import { ApiError, isGone } from '../errors';
import { waitForMirror } from '../mirror-wait';
import { VOLUME_NOT_FOUND, requireVdi, vdiNotFound } from '../ownership';
import { TAG, VOLUME_TAG, isOwnedBy, ownerTags } from '../tags';
import type { Schema } from '../types';
import { NULL_REF } from '../../xapi/ref';

/** Where templates and the config drive put the CD. */
const CD_DEVICE = 3;

type VmRec = VMRecord & { $ref: string };

/** The instance's volumes: Disk VBDs whose VDI is not one the spawn made for it. */
export function listVolumes(mirror: MirrorView, vm: VmRec): Array<Schema<'Volume'>> {
  const owner = {
    namespace: vm.other_config[TAG.namespace] ?? '',
    instanceId: vm.other_config[TAG.instanceId] ?? '',
  };
  const out: Array<Schema<'Volume'>> = [];
  for (const vbdRef of vm.VBDs) {
    const vbd = mirror.get('VBD', vbdRef);
    if (!vbd || vbd.type !== 'Disk' || vbd.VDI === NULL_REF) continue;
    const vdi = mirror.get('VDI', vbd.VDI);
    if (!vdi) continue;
    if (!isVolumeVbd(vbd, vdi, owner)) continue;
    const sr = mirror.get('SR', vdi.SR);
    const volumeId = vbd.other_config?.[VOLUME_TAG.id];
    const portal = sr?.other_config?.[VOLUME_TAG.portal];
    const iqn = sr?.other_config?.[VOLUME_TAG.iqn];
    const lun = Number(vdi.sm_config?.LUNid);
    out.push({
      volume_id: volumeId ?? vdi.uuid,
      uuid: vdi.uuid,
      ...(volumeId !== undefined && portal && iqn && Number.isInteger(lun)
        ? { iscsi: { target_portal: portal, target_iqn: iqn, target_lun: lun } }
        : {}),
      device: vbd.userdevice,
      mode: vbd.mode === 'RO' ? 'RO' : 'RW',
      attached: vbd.currently_attached,
      bootable: vbd.bootable,
      size_gb: sizeGb(vdi.virtual_size),
      sr: sr?.uuid ?? '',
      name: vdi.name_label,
    });
  }
  return out.sort((a, b) => Number(a.device) - Number(b.device));
}

/** A VBD the volume API attached (tagged 'volume'), or an untagged disk of someone else. */
function isVolumeVbd(
  vbd: Pick<VBDRecord, 'other_config'>,
  vdi: Pick<VDIRecord, 'other_config'>,
  owner: { namespace: string; instanceId: string },
): boolean {
  if (vbd.other_config?.[TAG.role] === 'volume') return true;
  return !isOwnedBy(vdi.other_config, owner);
}

/** The lowest free device position (never the CD's), or `wanted` when free (409 otherwise). */
export function pickDevice(vbds: Array<Pick<VBDRecord, 'userdevice'>>, wanted?: string): string {
  const used = new Set(vbds.map((v) => v.userdevice));
  if (wanted !== undefined) {
    if (used.has(wanted))
      throw new ApiError(409, 'device_in_use', `device ${wanted} already holds a disk`, {
        extra: { device: wanted },
      });
    return wanted;
  }
  for (let i = 0; ; i++) if (i !== CD_DEVICE && !used.has(String(i))) return String(i);
}

export async function vbdsOf(
  xapi: XapiClient,
  vmRef: string,
): Promise<Array<VBDRecord & { ref: string }>> {
  const refs = await xapi.call<string[]>('VM.get_VBDs', vmRef);
  const out: Array<VBDRecord & { ref: string }> = [];
  for (const ref of refs) {
    const vbd = await ignoreGone(xapi.call<VBDRecord>('VBD.get_record', ref), isGone);
    if (vbd) out.push({ ...vbd, ref });
  }
  return out;
}

/**
 * Attaches the VDI, checked again (the pool may have changed since the request was accepted):
 * `volumeSrs` are the operator's volume sources (ownership.ts).
 */
export async function attachVolume(
  xapi: XapiClient,
  vdiUuid: string,
  body: Schema<'VolumeAttachRequest'>,
  run: OpRun,
  volumeSrs: readonly string[] = [],
): Promise<void> {
  const policy = { namespace: run.owner.namespace, volumeSrs };
  const use = { kind: 'device', vmRef: run.vmRef } as const;
  const vdiRef = requireVdi(xapi.mirror, policy, vdiUuid, use, VOLUME_NOT_FOUND).$ref;
  const vdi = await xapi.call<VDIRecord>('VDI.get_record', vdiRef).catch((err: unknown) => {
    if (isGone(err)) throw vdiNotFound(VOLUME_NOT_FOUND.code, VOLUME_NOT_FOUND.what, vdiUuid);
    throw err;
  });
  const vbds = await vbdsOf(xapi, run.vmRef);
  const mine = vbds.find((v) => v.VDI === vdiRef);
  if (mine && (!body.device || mine.userdevice === body.device)) return; // already attached here
  if (mine)
    throw new ApiError(
      409,
      'device_in_use',
      `VDI '${vdiUuid}' is already attached at device ${mine.userdevice}`,
    );
  if (!vdi.sharable) {
    // A disk of another instance goes on only while that instance is halted and of the same
    // namespace (a rescue instance reading a stopped instance's root disk); XAPI then refuses to
    // start either while the other has it plugged.
    for (const other of vdi.VBDs) {
      const vbd = await ignoreGone(xapi.call<VBDRecord>('VBD.get_record', other), isGone);
      if (!vbd || vbd.VM === run.vmRef) continue;
      const vm = await ignoreGone(xapi.call<VMRecord>('VM.get_record', vbd.VM), isGone);
      if (vm?.power_state === 'Halted' && vm.other_config[TAG.namespace] === run.owner.namespace)
        continue;
      throw new ApiError(
        409,
        'disk_in_use',
        `VDI '${vdiUuid}' is attached to another instance that is not halted, and is not sharable`,
      );
    }
  }
  const device = pickDevice(vbds, body.device);
  await createAndPlug(xapi, run, 'VBD', {
    VM: run.vmRef,
    VDI: vdiRef,
    userdevice: device,
    bootable: body.bootable === true,
    mode: body.mode ?? 'RW',
    type: 'Disk',
    empty: false,
    unpluggable: true,
    other_config: ownerTags(run.owner, { [TAG.role]: 'volume' }),
    qos_algorithm_type: '',
    qos_algorithm_params: {},
  });
  await run.viewed((v) => !!v?.disks.some((d) => d.uuid === vdiUuid));
}

export async function detachVolume(xapi: XapiClient, vdiUuid: string, run: OpRun): Promise<void> {
  const vdiRef = await ignoreGone(xapi.call<string>('VDI.get_by_uuid', vdiUuid), isGone);
  if (!vdiRef) return;
  const vdi = await xapi.call<VDIRecord>('VDI.get_record', vdiRef);
  const vbd = (await vbdsOf(xapi, run.vmRef)).find((v) => v.VDI === vdiRef && v.type === 'Disk');
  if (!vbd) return; // not attached: nothing to do
  if (!isVolumeVbd(vbd, vdi, run.owner))
    throw new ApiError(
      409,
      'operation_not_allowed',
      `VDI '${vdiUuid}' is a disk of the instance, not a volume`,
    );
  if (vbd.currently_attached) {
    await xapi.callAsync('VBD.unplug', [vbd.ref], {
      signal: run.signal,
      onProgress: (f) => run.onProgress(f * 0.8, 'VBD.unplug'),
    });
  }
  await ignoreGone(xapi.call('VBD.destroy', vbd.ref), isGone);
  await waitForMirror(xapi.mirror, () => !xapi.mirror.get('VBD', vbd.ref), run.mirrorWaitMs);
  await run.viewed((v) => !v?.disks.some((d) => d.uuid === vdiUuid));
}
