// VBDs with xapi's device rules: creation (userdevice uniqueness, 'autodetect'), attachment on
// VM start/halt and hot plug/unplug (VM_BAD_POWER_STATE, DEVICE_ALREADY_*, VBD_NOT_UNPLUGGABLE),
// destroy, CD insert/eject, and the VDI allowed_operations that follow attachment. It must not
// change VM power states (vm.ts) nor SR space accounting (storage.ts).
import { XapiFault } from '../engine/fault';
import { defineMessage, type CallContext } from '../engine/registry';
import { NULL_REF, isNull, linkRef, unlinkRef } from './vm-lifecycle';
import type { Rec, Store } from '../engine/store';

export const VDI_IDLE_OPS = [
  'clone',
  'copy',
  'resize',
  'resize_online',
  'snapshot',
  'destroy',
  'forget',
  'update',
  'generate_config',
];

/** VDI.allowed_operations: attached VDIs cannot be destroyed or resized offline. */
export function refreshVdiOps(store: Store, vdiRef: string): void {
  const vdi = store.find('VDI', vdiRef);
  if (!vdi) return;
  const attached = (vdi.VBDs as string[]).some(
    (v) => store.find('VBD', v)?.currently_attached === true,
  );
  const ops = attached
    ? VDI_IDLE_OPS.filter((o) => !['destroy', 'resize', 'forget'].includes(o))
    : VDI_IDLE_OPS;
  if ((vdi.allowed_operations as string[]).join() !== ops.join())
    store.update('VDI', vdiRef, { allowed_operations: ops });
}

/** Create a VDI on its SR, charging `physical` bytes (default: its whole virtual size). */

export function allowedVbdDevices(store: Store, vmRef: string): string[] {
  const vmRec = store.get('VM', vmRef);
  const used = new Set<string>();
  for (const v of vmRec.VBDs as string[]) {
    const rec = store.find('VBD', v);
    if (rec) used.add(String(rec.userdevice));
  }
  const out: string[] = [];
  for (let i = 0; i < 16; i++) if (!used.has(String(i))) out.push(String(i));
  return out;
}

/** The guest device of a userdevice number, as xapi names it once plugged: 0 -> xvda. */
function deviceName(userdevice: string): string {
  const n = Number(userdevice);
  if (!Number.isInteger(n)) return userdevice;
  const letter =
    n < 26
      ? String.fromCharCode(97 + n)
      : `${String.fromCharCode(96 + Math.floor(n / 26))}${String.fromCharCode(97 + (n % 26))}`;
  return `xvd${letter}`;
}

const VALID_USERDEVICE = /^(\d{1,3}|(xvd|hd|sd)[a-z]{1,2})$/;

/** VBD.create semantics: checks, 'autodetect', reverse links. */
export function createVbd(store: Store, fields: Rec): string {
  const vmRef = fields.VM as string;
  store.get('VM', vmRef);
  const vdiRef = (fields.VDI as string) ?? NULL_REF;
  const type = (fields.type as string) ?? 'Disk';
  const noDisk = isNull(vdiRef);
  if (!noDisk) store.get('VDI', vdiRef);
  if (noDisk && type !== 'CD') throw new XapiFault('VDI_MISSING', [NULL_REF, vdiRef]);
  let userdevice = String(fields.userdevice ?? '');
  if (userdevice === 'autodetect') {
    const free = allowedVbdDevices(store, vmRef);
    if (free.length === 0) throw new XapiFault('INVALID_DEVICE', ['autodetect']);
    userdevice = free[0];
  } else if (!VALID_USERDEVICE.test(userdevice)) {
    throw new XapiFault('INVALID_DEVICE', [userdevice]);
  }
  for (const v of store.get('VM', vmRef).VBDs as string[]) {
    if (String(store.find('VBD', v)?.userdevice) === userdevice)
      throw new XapiFault('DEVICE_ALREADY_EXISTS', [userdevice]);
  }
  const ref = store.create('VBD', {
    VM: vmRef,
    VDI: noDisk ? NULL_REF : vdiRef,
    userdevice,
    bootable: fields.bootable ?? false,
    mode: fields.mode ?? (type === 'CD' ? 'RO' : 'RW'),
    type,
    empty: noDisk,
    unpluggable: fields.unpluggable ?? true,
    device: (fields.device as string) ?? '',
    other_config: fields.other_config ?? {},
    qos_algorithm_type: fields.qos_algorithm_type ?? '',
    qos_algorithm_params: fields.qos_algorithm_params ?? {},
    allowed_operations: ['attach', 'plug'],
  });
  linkRef(store, 'VM', vmRef, 'VBDs', ref);
  if (!noDisk) linkRef(store, 'VDI', vdiRef, 'VBDs', ref);
  return ref;
}

export function destroyVbd(store: Store, vbdRef: string): void {
  const vbd = store.get('VBD', vbdRef);
  unlinkRef(store, 'VM', vbd.VM as string, 'VBDs', vbdRef);
  if (!isNull(vbd.VDI)) unlinkRef(store, 'VDI', vbd.VDI as string, 'VBDs', vbdRef);
  store.destroy('VBD', vbdRef);
}

/**
 * VDI_IN_USE [vdi, op] when one of these VBDs would attach a VDI that is not sharable while a VBD
 * of another VM has it attached, either of them read-write (xapi keeps a disk attached read-write
 * by one VM at a time; read-only attachments, an ISO's, share).
 */
export function assertVdisFree(store: Store, vbdRefs: string[], op: string): void {
  for (const vbdRef of vbdRefs) {
    const vbd = store.find('VBD', vbdRef);
    if (!vbd || vbd.empty || isNull(vbd.VDI)) continue;
    const vdi = store.find('VDI', vbd.VDI as string);
    if (!vdi || vdi.sharable) continue;
    const busy = (vdi.VBDs as string[]).some((other) => {
      const o = store.find('VBD', other);
      return (
        other !== vbdRef &&
        o?.VM !== vbd.VM &&
        o?.currently_attached === true &&
        (vbd.mode === 'RW' || o.mode === 'RW')
      );
    });
    if (busy) throw new XapiFault('VDI_IN_USE', [vbd.VDI as string, op]);
  }
}

/** Attach or detach a VBD (VM start/halt and VBD.plug/unplug). */
export function setVbdAttached(store: Store, vbdRef: string, attached: boolean): void {
  const vbd = store.get('VBD', vbdRef);
  const patch: Rec = {
    currently_attached: attached,
    allowed_operations: attached ? ['attach', 'unplug', 'unplug_force'] : ['attach', 'plug'],
  };
  if (vbd.type === 'CD')
    (patch.allowed_operations as string[]).push(vbd.empty ? 'insert' : 'eject');
  if (attached && vbd.device === '') patch.device = deviceName(String(vbd.userdevice));
  store.update('VBD', vbdRef, patch);
  if (!isNull(vbd.VDI)) refreshVdiOps(store, vbd.VDI as string);
}

const BUSY_VM_OPS = [
  'clean_shutdown',
  'hard_shutdown',
  'shutdown',
  'suspend',
  'pause',
  'clean_reboot',
  'hard_reboot',
  'pool_migrate',
];

/** Plug/unplug preconditions shared with VIFs: the VM runs and is not going down. */
export function assertDeviceVmRunning(store: Store, vmRef: string): void {
  const vm = store.get('VM', vmRef);
  if (vm.power_state !== 'Running') {
    throw new XapiFault('VM_BAD_POWER_STATE', [
      vmRef,
      'running',
      String(vm.power_state).toLowerCase(),
    ]);
  }
  const busy = Object.values(vm.current_operations as Record<string, string>).find((o) =>
    BUSY_VM_OPS.includes(o),
  );
  if (busy)
    throw new XapiFault('OPERATION_NOT_ALLOWED', [`Current operation on VM:${vmRef} is ${busy}`]);
}

export function registerVbdMessages(): void {
  defineMessage('VBD.create', (ctx, [rec]) => createVbd(ctx.store, rec as Rec));
  defineMessage('VBD.destroy', (ctx, [vbdRef]) => {
    const vbd = ctx.store.get('VBD', vbdRef);
    if (vbd.currently_attached) {
      const vm = ctx.store.find('VM', vbd.VM as string);
      throw new XapiFault('OPERATION_NOT_ALLOWED', [
        `VBD '${String(vbd.uuid)}' still attached to '${String(vm?.uuid ?? '')}'`,
      ]);
    }
    destroyVbd(ctx.store, vbdRef);
  });
  defineMessage('VBD.plug', async (ctx, [vbdRef]) => {
    const vbd = ctx.store.get('VBD', vbdRef);
    assertDeviceVmRunning(ctx.store, vbd.VM as string);
    if (vbd.currently_attached) throw new XapiFault('DEVICE_ALREADY_ATTACHED', [vbdRef]);
    assertVdisFree(ctx.store, [vbdRef], 'plug');
    await ctx.work(20);
    setVbdAttached(ctx.store, vbdRef, true);
  });
  const unplug =
    (force: boolean) =>
    async (ctx: CallContext, [vbdRef]: string[]) => {
      const vbd = ctx.store.get('VBD', vbdRef);
      assertDeviceVmRunning(ctx.store, vbd.VM as string);
      if (!vbd.currently_attached) throw new XapiFault('DEVICE_ALREADY_DETACHED', [vbdRef]);
      if (!vbd.unpluggable) throw new XapiFault('VBD_NOT_UNPLUGGABLE', [vbdRef]);
      await ctx.work(force ? 5 : 20);
      setVbdAttached(ctx.store, vbdRef, false);
    };
  defineMessage('VBD.unplug', unplug(false));
  defineMessage('VBD.unplug_force', unplug(true));
  defineMessage('VBD.insert', async (ctx, [vbdRef, vdiRef]) => {
    const vbd = ctx.store.get('VBD', vbdRef);
    ctx.store.get('VDI', vdiRef);
    if (vbd.type !== 'CD') throw new XapiFault('VBD_NOT_REMOVABLE_MEDIA', [vbdRef]);
    if (!vbd.empty) throw new XapiFault('VBD_NOT_EMPTY', [vbdRef]);
    await ctx.work(10);
    ctx.store.update('VBD', vbdRef, { VDI: vdiRef, empty: false });
    linkRef(ctx.store, 'VDI', vdiRef, 'VBDs', vbdRef);
    setVbdAttached(ctx.store, vbdRef, ctx.store.get('VBD', vbdRef).currently_attached === true);
  });
  defineMessage('VBD.eject', async (ctx, [vbdRef]) => {
    const vbd = ctx.store.get('VBD', vbdRef);
    if (vbd.type !== 'CD') throw new XapiFault('VBD_NOT_REMOVABLE_MEDIA', [vbdRef]);
    if (vbd.empty) throw new XapiFault('VBD_IS_EMPTY', [vbdRef]);
    await ctx.work(10);
    unlinkRef(ctx.store, 'VDI', vbd.VDI as string, 'VBDs', vbdRef);
    ctx.store.update('VBD', vbdRef, { VDI: NULL_REF, empty: true });
    setVbdAttached(ctx.store, vbdRef, vbd.currently_attached === true);
  });
  defineMessage('VBD.assert_attachable', (ctx, [vbdRef]) => {
    const vbd = ctx.store.get('VBD', vbdRef);
    if (!isNull(vbd.VDI)) ctx.store.get('VDI', vbd.VDI as string);
  });
}
