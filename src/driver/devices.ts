// Devices of an instance: volumes (VDIs attached by uuid, or iSCSI LUNs by connection), disks it
// owns (made and destroyed here) and NICs, listed from the mirror and attached or detached as
// operations through the runner, idempotent where a retry can be told (the same VDI, volume id,
// disk or NIC already there). Every VDI named is checked in ownership.ts. What each does in XAPI
// lives in procedures/volume.ts, procedures/iscsi.ts, procedures/disk.ts and procedures/nic.ts;
// work on one iSCSI target's SR runs one at a time (iscsiTurn). No HTTP here.
import type { XapiClient } from '../xapi';
import { requirePowerState } from './procedures/common';
import {
  addDisk,
  deviceInUse,
  diskTarget,
  holding,
  isOwnedDataDisk,
  isPersistentDisk,
  notOwnedDisk,
  removeDisk,
  unattachedDisks,
  type ImageBaseIn,
} from './procedures/disk';
import { claimedBases } from './procedures/persistent-disk';
import type { Networks } from './networks';
import {
  attachNic,
  detachNic,
  listNics,
  managedVlanNetwork,
  resolveNetwork,
} from './procedures/nic';
import { attachVolume, detachVolume, listVolumes } from './procedures/volume';
import {
  attachIscsiVolume,
  detachIscsiVolume,
  parseConnection,
  srUuidOf,
} from './procedures/iscsi';
import { iscsiTurn } from './procedures/iscsi-sr';
import { ApiError } from './errors';
import { VOLUME_TAG } from './tags';
import { VOLUME_NOT_FOUND, iscsiVolumeVdi, requireVdi } from './ownership';
import type { OperationRunner } from './runner';
import type { Caller, Operation, Schema } from './types';
import { NULL_REF } from '../xapi/ref';

const runningOrHalted = (vm: Parameters<typeof requirePowerState>[0]): void =>
  requirePowerState(vm, ['running', 'halted']);

export class Devices {
  constructor(
    private readonly xapi: XapiClient,
    private readonly runner: OperationRunner,
    private readonly volumeSrs: readonly string[],
    private readonly networks: Networks,
    private readonly imageBase: ImageBaseIn,
    private readonly serviceId: string,
  ) {}

  listVolumes(caller: Caller, id: string): Array<Schema<'Volume'>> {
    return listVolumes(this.xapi.mirror, this.runner.vmOf(caller.namespace, id));
  }

  attachVolume(
    caller: Caller,
    id: string,
    vdiUuid: string,
    body: Schema<'VolumeAttachRequest'>,
  ): Operation {
    const { runner } = this;
    runner.assertMutator(caller);
    const vm = runner.vmOf(caller.namespace, id);
    const mirror = this.xapi.mirror;
    if (body.connection) return this.attachByConnection(caller, id, vm, vdiUuid, body);
    requireVdi(
      mirror,
      { namespace: caller.namespace, volumeSrs: this.volumeSrs },
      vdiUuid,
      { kind: 'device', vmRef: vm.$ref },
      VOLUME_NOT_FOUND,
    );
    if (
      listVolumes(mirror, vm).some(
        (v) => v.uuid === vdiUuid && (!body.device || v.device === body.device),
      )
    )
      return runner.done(caller, id, 'attach-volume', { vdi: vdiUuid });
    return runner.onInstance(
      caller,
      id,
      { kind: 'attach-volume', args: { vdi: vdiUuid }, precheck: runningOrHalted },
      (r) => attachVolume(this.xapi, vdiUuid, body, r, this.volumeSrs),
    );
  }

  /** An iSCSI LUN by Cinder's connection_info, as volume `volumeId` (procedures/iscsi.ts). The
   * operation records the volume id alone: never the connection and its credentials. */
  private attachByConnection(
    caller: Caller,
    id: string,
    vm: ReturnType<OperationRunner['vmOf']>,
    volumeId: string,
    body: Schema<'VolumeAttachRequest'>,
  ): Operation {
    const { runner } = this;
    const mirror = this.xapi.mirror;
    const target = parseConnection(body.connection!);
    const here = listVolumes(mirror, vm).find((v) => v.volume_id === volumeId);
    if (here && (!body.device || here.device === body.device))
      return runner.done(caller, id, 'attach-volume', { volume: volumeId });
    if (here)
      throw new ApiError(
        409,
        'device_in_use',
        `volume '${volumeId}' is already attached at device ${here.device}`,
      );
    const held = iscsiVolumeVdi(mirror, caller.namespace, volumeId);
    const elsewhere = (vbdRef: string): boolean => {
      const holder = mirror.get('VBD', vbdRef)?.VM;
      return holder !== undefined && holder !== vm.$ref;
    };
    if (held?.VBDs.some(elsewhere))
      throw new ApiError(
        409,
        'volume_in_use',
        `volume '${volumeId}' is attached to another instance`,
      );
    const srUuid = srUuidOf(target);
    return runner.onInstance(
      caller,
      id,
      { kind: 'attach-volume', args: { volume: volumeId }, precheck: runningOrHalted },
      (r) =>
        iscsiTurn(this.xapi, srUuid, () =>
          attachIscsiVolume(this.xapi, volumeId, body, r, this.serviceId),
        ),
    );
  }

  /** null: the volume is not attached (already detached). */
  detachVolume(caller: Caller, id: string, vdiUuid: string): Operation | null {
    const { runner } = this;
    runner.assertMutator(caller);
    const vm = runner.vmOf(caller.namespace, id);
    const byConnection = this.detachByConnection(caller, id, vm, vdiUuid);
    if (byConnection !== undefined) return byConnection;
    const pending = runner.pendingWith(caller.namespace, id, 'attach-volume', vdiUuid, 'vdi');
    if (!pending && !listVolumes(this.xapi.mirror, vm).some((v) => v.uuid === vdiUuid)) return null;
    return runner.onInstance(
      caller,
      id,
      { kind: 'detach-volume', args: { vdi: vdiUuid }, precheck: runningOrHalted },
      (r) => detachVolume(this.xapi, vdiUuid, r),
    );
  }

  /** The detach of a volume attached by connection; undefined when `volumeId` names none of the
   * caller's (then it is a VDI uuid). One whose VDI a failed detach left tagged, attached
   * nowhere, is detached again (its SR forgotten). */
  private detachByConnection(
    caller: Caller,
    id: string,
    vm: ReturnType<OperationRunner['vmOf']>,
    volumeId: string,
  ): Operation | null | undefined {
    const { runner } = this;
    const mirror = this.xapi.mirror;
    const ns = caller.namespace;
    // The LUN's VDI uuid names the volume too.
    const byUuid = mirror.getByUuid('VDI', volumeId)?.other_config[VOLUME_TAG.id];
    if (byUuid !== undefined && iscsiVolumeVdi(mirror, ns, byUuid)?.uuid === volumeId)
      volumeId = byUuid;
    const pending = runner.pendingWith(ns, id, 'attach-volume', volumeId, 'volume');
    const vdi = iscsiVolumeVdi(mirror, ns, volumeId);
    if (!pending && !vdi) return undefined;
    const holders = vdi?.VBDs.map((v) => mirror.get('VBD', v)?.VM) ?? [];
    if (!pending && holders.length > 0 && !holders.includes(vm.$ref)) return null;
    return runner.onInstance(
      caller,
      id,
      { kind: 'detach-volume', args: { volume: volumeId }, precheck: runningOrHalted },
      async (r) => {
        // Resolved in the instance's turn: an attach queued before has finished by now.
        const now = iscsiVolumeVdi(this.xapi.mirror, ns, volumeId);
        const srUuid = now && this.xapi.mirror.get('SR', now.SR)?.uuid;
        if (!now || !srUuid) return;
        await iscsiTurn(this.xapi, srUuid, () => detachIscsiVolume(this.xapi, now.$ref, r));
      },
    );
  }

  /** A new disk the instance owns at `device` (blank, or a clone of an image); a retry of one
   * already there answers at once. */
  addDisk(caller: Caller, id: string, device: string, body: Schema<'DiskAddRequest'>): Operation {
    const { runner } = this;
    runner.assertMutator(caller);
    const vm = runner.vmOf(caller.namespace, id);
    const mirror = this.xapi.mirror;
    const owner = { namespace: caller.namespace, instanceId: id };
    const target = diskTarget(mirror, owner, device, body);
    const vbd = vm.VBDs.map((r) => mirror.get('VBD', r)).find((v) => v?.userdevice === device);
    const vdi = vbd && vbd.VDI !== NULL_REF ? mirror.get('VDI', vbd.VDI) : undefined;
    const held = holding(owner, vbd, vdi, target, body.sr !== undefined);
    if (held.kind === 'same') return runner.done(caller, id, 'add-disk', { device });
    if (held.kind === 'other') throw deviceInUse(device);
    return runner.onInstance(
      caller,
      id,
      { kind: 'add-disk', args: { device }, precheck: runningOrHalted },
      (r) => addDisk(this.xapi, device, body, r, this.imageBase),
    );
  }

  /** null: no disk at that device (already removed). */
  removeDisk(caller: Caller, id: string, device: string): Operation | null {
    const { runner } = this;
    runner.assertMutator(caller);
    const vm = runner.vmOf(caller.namespace, id);
    const mirror = this.xapi.mirror;
    const pending = runner.pendingWith(caller.namespace, id, 'add-disk', device, 'device');
    const vbd = vm.VBDs.map((r) => mirror.get('VBD', r)).find((v) => v?.userdevice === device);
    const owner = { namespace: caller.namespace, instanceId: id };
    const left =
      unattachedDisks(mirror, owner, device).length > 0 ||
      claimedBases(mirror, owner, device).some((b) => b.VBDs.length === 0);
    if (!pending && !left && (!vbd || vbd.VDI === NULL_REF)) return null;
    const held = vbd ? mirror.get('VDI', vbd.VDI) : undefined;
    if (
      !pending &&
      vbd &&
      !isOwnedDataDisk(owner, vbd, held) &&
      !isPersistentDisk(owner, vbd, held)
    )
      throw notOwnedDisk(device);
    return runner.onInstance(
      caller,
      id,
      { kind: 'remove-disk', args: { device }, precheck: runningOrHalted },
      (r) => removeDisk(this.xapi, device, r),
    );
  }

  listNics(caller: Caller, id: string): Array<Schema<'NicAttachment'>> {
    return listNics(this.xapi.mirror, this.runner.vmOf(caller.namespace, id));
  }

  attachNic(caller: Caller, id: string, body: Schema<'NicAttachRequest'>): Operation {
    const { runner } = this;
    runner.assertMutator(caller);
    const vm = runner.vmOf(caller.namespace, id);
    if (body.vlan !== undefined) this.networks.checkVlan(body.vlan);
    const args = body.vlan !== undefined ? { vlan: body.vlan } : { network: body.network };
    if (body.device !== undefined) {
      // A retry at a device that already holds this NIC: answered at once.
      const mirror = this.xapi.mirror;
      const at = listNics(mirror, vm).find((n) => n.device === body.device);
      const netRef = !at
        ? undefined
        : body.vlan !== undefined
          ? managedVlanNetwork(mirror, body.vlan)
          : resolveNetwork(mirror, body.network ?? '').ref;
      const netUuid = netRef ? mirror.get('network', netRef)?.uuid : undefined;
      if (
        at &&
        at.network === netUuid &&
        (!body.mac || at.mac.toLowerCase() === body.mac.toLowerCase()) &&
        (body.port_id === undefined || at.port_id === body.port_id)
      )
        return runner.done(caller, id, 'attach-nic', args);
    }
    return runner.onInstance(
      caller,
      id,
      { kind: 'attach-nic', args, precheck: runningOrHalted },
      (r) => attachNic(this.xapi, body, r, (tag) => this.networks.ensureVlan(tag, r.steps)),
    );
  }

  /** null: no NIC at that device (already detached). */
  detachNic(caller: Caller, id: string, device: string): Operation | null {
    const { runner } = this;
    runner.assertMutator(caller);
    const vm = runner.vmOf(caller.namespace, id);
    const queued = runner.ops.latest(caller.namespace, id);
    if (
      (!queued || queued.finished) &&
      !listNics(this.xapi.mirror, vm).some((n) => n.device === device)
    )
      return null;
    return runner.onInstance(
      caller,
      id,
      { kind: 'detach-nic', args: { device }, precheck: runningOrHalted },
      (r) => detachNic(this.xapi, device, r),
    );
  }
}
