// Storage semantics: VDIs with SR space accounting (SR_FULL), copy/clone/snapshot/resize (their
// content too, through engine/disk-store.ts), and the SR and PBD messages (an iSCSI SR's login
// and scan through iscsi.ts). VBD device rules live in vbd.ts. It must not change VM power states (vm.ts does, attaching and detaching through
// vbd.ts).
import { disksOf } from '../engine/disk-store';
import { XapiFault } from '../engine/fault';
import { defineMessage, type CallContext } from '../engine/registry';
import { VDI_IDLE_OPS, destroyVbd, registerVbdMessages } from './vbd';
import { isIscsiSr, loginTarget, probeIscsi, scanIscsiSr } from './iscsi';
import { cleanOutSecrets, movePasswordsToSecrets } from './secret';
import { NULL_REF, isNull, linkRef, now, toInt, unlinkRef } from './vm-lifecycle';
import type { Rec, Store } from '../engine/store';

const MIB = 1024 * 1024;

// ---- SR accounting --------------------------------------------------------------------------

export function srFree(srRec: Rec): number {
  return (srRec.physical_size as number) - (srRec.physical_utilisation as number);
}

/** Move an SR's virtual_allocation and physical_utilisation by the given deltas. */
export function srAccount(store: Store, srRef: string, dVirtual: number, dPhysical: number): void {
  const srRec = store.find('SR', srRef);
  if (!srRec || (dVirtual === 0 && dPhysical === 0)) return;
  store.update('SR', srRef, {
    virtual_allocation: Math.max(0, (srRec.virtual_allocation as number) + dVirtual),
    physical_utilisation: Math.max(0, (srRec.physical_utilisation as number) + dPhysical),
  });
}

export function assertSrSpace(store: Store, srRef: string, bytes: number): void {
  const srRec = store.get('SR', srRef);
  if (srRec.content_type === 'iso') return;
  const free = srFree(srRec);
  if (bytes > free) throw new XapiFault('SR_FULL', [String(bytes), String(Math.max(0, free))]);
}

export function createVdi(store: Store, fields: Rec, physical?: number): string {
  const srRef = fields.SR as string;
  const srRec = store.get('SR', srRef);
  const size = toInt(fields.virtual_size ?? 0, 'virtual_size');
  const phys = physical ?? size;
  assertSrSpace(store, srRef, phys);
  const ref = store.create('VDI', {
    snapshot_of: NULL_REF,
    ...fields,
    virtual_size: size,
    physical_utilisation: phys,
    managed: true,
    allowed_operations: VDI_IDLE_OPS,
    sm_config: fields.sm_config ?? {},
  });
  const uuid = store.get('VDI', ref).uuid as string;
  store.update('VDI', ref, {
    location: srRec.type === 'iso' ? String(fields.location || `${uuid}.iso`) : uuid,
  });
  linkRef(store, 'SR', srRef, 'VDIs', ref);
  srAccount(store, srRef, size, phys);
  return ref;
}

/** A plain user VDI as VDI.create makes it (the SR must exist and have room). */
export function createUserVdi(
  store: Store,
  srRef: string,
  nameLabel: string,
  size: number,
): string {
  store.get('SR', srRef);
  return createVdi(store, {
    SR: srRef,
    name_label: nameLabel,
    name_description: '',
    virtual_size: size,
    type: 'user',
    sharable: false,
    read_only: false,
    other_config: {},
    xenstore_data: {},
    sm_config: {},
    tags: [],
  });
}

export type VdiCopyMode = 'copy' | 'clone' | 'snapshot';

/** A new VDI from `vdiRef`: full copy (any SR), fast clone or snapshot (same SR). */
export function copyVdi(store: Store, vdiRef: string, mode: VdiCopyMode, srRef?: string): string {
  const src = store.get('VDI', vdiRef);
  const sr = mode === 'copy' && srRef && !isNull(srRef) ? srRef : (src.SR as string);
  const size = src.virtual_size as number;
  const phys = mode === 'copy' ? size : Math.min(size, 8 * MIB);
  const fields: Rec = {
    SR: sr,
    name_label: src.name_label,
    name_description: src.name_description,
    virtual_size: size,
    type: src.type,
    sharable: src.sharable,
    read_only: mode === 'snapshot' ? false : src.read_only,
    other_config: { ...(src.other_config as Rec) },
    sm_config: mode === 'copy' ? {} : { 'vhd-parent': src.uuid as string },
    tags: [...(src.tags as string[])],
  };
  if (mode === 'snapshot') {
    Object.assign(fields, { is_a_snapshot: true, snapshot_of: vdiRef, snapshot_time: now() });
  }
  const ref = createVdi(store, fields, phys);
  if (mode === 'snapshot') linkRef(store, 'VDI', vdiRef, 'snapshots', ref);
  // content: a sparse copy for all three modes (a clone shares nothing, but costs only what
  // was written); a full copy's physical_utilisation is then what it holds
  const copied = disksOf(store)?.copy(
    src.uuid as string,
    store.get('VDI', ref).uuid as string,
    size,
  );
  if (copied && mode === 'copy') vdiContentChanged(store, ref);
  return ref;
}

/**
 * After a VDI's content changed (an import, a copy): its physical_utilisation becomes the bytes
 * its content takes on the host, and its SR's physical_utilisation moves by the difference.
 */
export function vdiContentChanged(store: Store, vdiRef: string): void {
  const vdi = store.find('VDI', vdiRef);
  const disk = vdi && disksOf(store)?.get(vdi.uuid as string);
  if (!vdi || !disk) return;
  const phys = disk.allocatedBytes();
  const old = vdi.physical_utilisation as number;
  if (phys === old) return;
  store.update('VDI', vdiRef, { physical_utilisation: phys });
  srAccount(store, vdi.SR as string, 0, phys - old);
}

/** Remove a VDI and the (detached) VBDs that point at it. */
export function destroyVdi(store: Store, vdiRef: string): void {
  const vdi = store.get('VDI', vdiRef);
  for (const vbdRef of vdi.VBDs as string[]) {
    const vbd = store.find('VBD', vbdRef);
    if (vbd?.currently_attached) throw new XapiFault('VDI_IN_USE', [vdiRef, 'destroy']);
  }
  for (const vbdRef of vdi.VBDs as string[])
    if (store.has('VBD', vbdRef)) destroyVbd(store, vbdRef);
  if (!isNull(vdi.snapshot_of))
    unlinkRef(store, 'VDI', vdi.snapshot_of as string, 'snapshots', vdiRef);
  for (const snap of vdi.snapshots as string[]) {
    if (store.has('VDI', snap)) store.update('VDI', snap, { snapshot_of: NULL_REF });
  }
  unlinkRef(store, 'SR', vdi.SR as string, 'VDIs', vdiRef);
  srAccount(
    store,
    vdi.SR as string,
    -(vdi.virtual_size as number),
    -(vdi.physical_utilisation as number),
  );
  store.destroy('VDI', vdiRef);
  disksOf(store)?.remove(vdi.uuid as string);
}

/**
 * VDI.resize and VDI.resize_online: the growth is space taken on the SR, on every SR type, as
 * createVdi takes a new disk's whole size: it must fit in the SR's free space (SR_FULL [bytes
 * asked, bytes free] otherwise) and moves the VDI's physical_utilisation and the SR's
 * physical_utilisation and virtual_allocation.
 */
export function resizeVdi(store: Store, vdiRef: string, size: number): void {
  const vdi = store.get('VDI', vdiRef);
  const old = vdi.virtual_size as number;
  if (size < old)
    throw new XapiFault('SR_BACKEND_FAILURE_79', [
      '',
      'VDI Invalid size [opterr=shrinking not allowed]',
      '',
    ]);
  const grow = size - old;
  assertSrSpace(store, vdi.SR as string, grow);
  store.update('VDI', vdiRef, {
    virtual_size: size,
    physical_utilisation: (vdi.physical_utilisation as number) + grow,
  });
  srAccount(store, vdi.SR as string, grow, grow);
  disksOf(store)
    ?.get(vdi.uuid as string)
    ?.grow(size);
}

function registerVdiMessages(): void {
  defineMessage('VDI.create', async (ctx, [rec]) => {
    const fields = rec as Rec;
    ctx.store.get('SR', fields.SR as string);
    await ctx.work(10);
    return createVdi(ctx.store, {
      SR: fields.SR,
      name_label: fields.name_label ?? '',
      name_description: fields.name_description ?? '',
      virtual_size: fields.virtual_size,
      type: fields.type ?? 'user',
      sharable: fields.sharable ?? false,
      read_only: fields.read_only ?? false,
      other_config: fields.other_config ?? {},
      xenstore_data: fields.xenstore_data ?? {},
      sm_config: fields.sm_config ?? {},
      tags: fields.tags ?? [],
    });
  });
  defineMessage('VDI.destroy', async (ctx, [vdiRef]) => {
    ctx.store.get('VDI', vdiRef);
    await ctx.work(10);
    destroyVdi(ctx.store, vdiRef);
  });
  defineMessage('VDI.forget', (ctx, [vdiRef]) => destroyVdi(ctx.store, vdiRef));
  defineMessage('VDI.copy', async (ctx, [vdiRef, srRef, baseRef, intoRef]) => {
    const src = ctx.store.get('VDI', vdiRef);
    if (srRef && !isNull(srRef)) ctx.store.get('SR', srRef);
    if (baseRef && !isNull(baseRef)) ctx.store.get('VDI', baseRef);
    if (intoRef && !isNull(intoRef)) {
      const into = ctx.store.get('VDI', intoRef);
      if ((into.virtual_size as number) < (src.virtual_size as number)) {
        throw new XapiFault('VDI_TOO_SMALL', [intoRef, String(src.virtual_size)]);
      }
      if (into.read_only) throw new XapiFault('VDI_READONLY', [intoRef]);
      await ctx.work(40);
      const disks = disksOf(ctx.store);
      const intoUuid = into.uuid as string;
      if (!disks?.copy(src.uuid as string, intoUuid, into.virtual_size as number))
        disks?.remove(intoUuid);
      vdiContentChanged(ctx.store, intoRef);
      return intoRef;
    }
    if (srRef && !isNull(srRef)) assertSrSpace(ctx.store, srRef, src.virtual_size as number);
    await ctx.work(40);
    return copyVdi(ctx.store, vdiRef, 'copy', srRef);
  });
  defineMessage('VDI.clone', async (ctx, [vdiRef]) => {
    ctx.store.get('VDI', vdiRef);
    await ctx.work(20);
    return copyVdi(ctx.store, vdiRef, 'clone');
  });
  defineMessage('VDI.snapshot', async (ctx, [vdiRef]) => {
    ctx.store.get('VDI', vdiRef);
    await ctx.work(20);
    return copyVdi(ctx.store, vdiRef, 'snapshot');
  });
  defineMessage('VDI.resize', async (ctx, [vdiRef, size]) => {
    const vdi = ctx.store.get('VDI', vdiRef);
    const attached = (vdi.VBDs as string[]).some(
      (v) => ctx.store.find('VBD', v)?.currently_attached === true,
    );
    if (attached) throw new XapiFault('VDI_IN_USE', [vdiRef, 'resize']);
    await ctx.work(10);
    resizeVdi(ctx.store, vdiRef, toInt(size, 'size'));
  });
  defineMessage('VDI.resize_online', async (ctx, [vdiRef, size]) => {
    ctx.store.get('VDI', vdiRef);
    await ctx.work(10);
    resizeVdi(ctx.store, vdiRef, toInt(size, 'size'));
  });
  defineMessage('VDI.update', (ctx, [vdiRef]) => void ctx.store.get('VDI', vdiRef));
}

function registerSrMessages(): void {
  defineMessage('SR.scan', async (ctx, [srRef]) => {
    const sr = ctx.store.get('SR', srRef);
    await ctx.work(10);
    if (!isIscsiSr(sr)) return;
    // xapi scans through a host with the SR attached; an iSCSI SR finds its LUNs there.
    const pbd = (sr.PBDs as string[])
      .map((p) => ctx.store.find('PBD', p))
      .find((p) => p?.currently_attached === true);
    if (!pbd) throw new XapiFault('SR_HAS_NO_PBDS', [srRef]);
    if (sr.type === 'iscsi')
      scanIscsiSr(ctx.store, srRef, pbd.device_config as Rec, pbd.host as string);
  });
  defineMessage('SR.probe', async (ctx, [hostRef, deviceConfig, type]) => {
    ctx.store.get('host', hostRef);
    await ctx.work(10);
    // Only the iSCSI types are probed here; xapi's other drivers are not simulated.
    if (!isIscsiSr({ type })) throw new XapiFault('NOT_IMPLEMENTED', [`SR.probe of ${type}`]);
    return probeIscsi(ctx.store, hostRef, String(type), (deviceConfig as Rec) ?? {});
  });
  defineMessage('SR.introduce', (ctx, args) => {
    const [uuid, nameLabel, nameDescription, type, contentType, shared, smConfig] = args;
    if (ctx.store.byUuid('SR', uuid)) throw new XapiFault('SR_UUID_EXISTS', [uuid]);
    return ctx.store.create('SR', {
      uuid,
      name_label: nameLabel,
      name_description: nameDescription,
      type,
      content_type: contentType,
      shared: shared === true,
      physical_size: 0,
      sm_config: smConfig ?? {},
      allowed_operations: ['scan', 'forget', 'plug', 'unplug', 'update', 'destroy'],
    });
  });
  defineMessage('SR.get_supported_types', () => [
    'lvm',
    'ext',
    'nfs',
    'iso',
    'lvmoiscsi',
    'lvmohba',
    'smb',
    'udev',
    'dummy',
  ]);
  defineMessage('SR.update', (ctx, [srRef]) => void ctx.store.get('SR', srRef));
  defineMessage('SR.create', async (ctx, args) => {
    const [
      hostRef,
      deviceConfig,
      physicalSize,
      nameLabel,
      nameDescription,
      type,
      contentType,
      shared,
      smConfig,
    ] = args;
    ctx.store.get('host', hostRef);
    await ctx.work(30);
    const hosts = shared === true ? [...ctx.store.all('host').keys()] : [hostRef as string];
    if (isIscsiSr({ type })) for (const h of hosts) loginTarget(ctx.store, h, deviceConfig as Rec);
    const srRef = ctx.store.create('SR', {
      name_label: nameLabel,
      name_description: nameDescription,
      type,
      content_type: contentType,
      shared: shared === true,
      physical_size: toInt(physicalSize, 'physical_size') || 100 * 1024 * MIB,
      sm_config: smConfig ?? {},
      allowed_operations: [
        'scan',
        'destroy',
        'forget',
        'plug',
        'unplug',
        'vdi_create',
        'vdi_destroy',
        'vdi_resize',
        'vdi_clone',
        'vdi_snapshot',
      ],
    });
    for (const h of hosts)
      createPbd(ctx.store, h, srRef, movePasswordsToSecrets(ctx.store, deviceConfig as Rec), true);
    return srRef;
  });
  const forget = async (ctx: CallContext, [srRef]: string[]) => {
    const sr = ctx.store.get('SR', srRef);
    if ((sr.PBDs as string[]).some((p) => ctx.store.find('PBD', p)?.currently_attached === true)) {
      throw new XapiFault('SR_HAS_PBD', [srRef]);
    }
    await ctx.work(10);
    for (const vdiRef of sr.VDIs as string[])
      if (ctx.store.has('VDI', vdiRef)) destroyVdi(ctx.store, vdiRef);
    for (const pbdRef of sr.PBDs as string[]) destroyPbd(ctx.store, pbdRef);
    ctx.store.destroy('SR', srRef);
  };
  defineMessage('SR.forget', forget);
  defineMessage('SR.destroy', forget);
}

export function createPbd(
  store: Store,
  hostRef: string,
  srRef: string,
  deviceConfig: Rec,
  attached: boolean,
): string {
  const ref = store.create('PBD', {
    host: hostRef,
    SR: srRef,
    device_config: deviceConfig ?? {},
    currently_attached: attached,
  });
  linkRef(store, 'SR', srRef, 'PBDs', ref);
  linkRef(store, 'host', hostRef, 'PBDs', ref);
  return ref;
}

function destroyPbd(store: Store, pbdRef: string): void {
  const pbd = store.find('PBD', pbdRef);
  if (!pbd) return;
  cleanOutSecrets(store, pbd.device_config as Rec);
  unlinkRef(store, 'SR', pbd.SR as string, 'PBDs', pbdRef);
  unlinkRef(store, 'host', pbd.host as string, 'PBDs', pbdRef);
  store.destroy('PBD', pbdRef);
}

function registerPbdMessages(): void {
  defineMessage('PBD.create', (ctx, [rec]) => {
    const r = rec as Rec;
    ctx.store.get('host', r.host as string);
    ctx.store.get('SR', r.SR as string);
    const ref = createPbd(
      ctx.store,
      r.host as string,
      r.SR as string,
      movePasswordsToSecrets(ctx.store, (r.device_config as Rec) ?? {}),
      false,
    );
    if (r.other_config) ctx.store.update('PBD', ref, { other_config: r.other_config });
    return ref;
  });
  defineMessage('PBD.destroy', (ctx, [pbdRef]) => {
    const pbd = ctx.store.get('PBD', pbdRef);
    if (pbd.currently_attached)
      throw new XapiFault('OPERATION_NOT_ALLOWED', ['PBD is currently attached']);
    destroyPbd(ctx.store, pbdRef);
  });
  defineMessage('PBD.plug', async (ctx, [pbdRef]) => {
    const pbd = ctx.store.get('PBD', pbdRef);
    await ctx.work(10);
    if (pbd.currently_attached) return;
    if (isIscsiSr(ctx.store.get('SR', pbd.SR as string)))
      loginTarget(ctx.store, pbd.host as string, pbd.device_config as Rec);
    ctx.store.update('PBD', pbdRef, { currently_attached: true });
  });
  defineMessage('PBD.unplug', async (ctx, [pbdRef]) => {
    const pbd = ctx.store.get('PBD', pbdRef);
    const sr = ctx.store.get('SR', pbd.SR as string);
    for (const vdiRef of sr.VDIs as string[]) {
      const vdi = ctx.store.find('VDI', vdiRef);
      const inUse = (vdi?.VBDs as string[] | undefined)?.some((v) => {
        const vbd = ctx.store.find('VBD', v);
        if (!vbd?.currently_attached) return false;
        return ctx.store.find('VM', vbd.VM as string)?.resident_on === pbd.host;
      });
      if (inUse) throw new XapiFault('VDI_IN_USE', [vdiRef, 'unplug']);
    }
    await ctx.work(10);
    ctx.store.update('PBD', pbdRef, { currently_attached: false });
  });
}

export function registerStorageMessages(): void {
  registerVdiMessages();
  registerVbdMessages();
  registerSrMessages();
  registerPbdMessages();
}
