// Spawn as XAPI steps: plan (resolve template or image, SRs, networks from the mirror, before any
// call), then clone or create, provision, size, disks, NICs, config drive, tag, start; each step
// registers the undo of what it made, so a failed spawn leaves no VM, VDI, VBD or VIF behind.
// Does not decide idempotency or scheduling (index.ts does); never reads the mirror after planning.
import type { MirrorView, XapiClient } from '../xapi';
import type { VBDRecord, VDIRecord, VIFRecord, VMRecord } from '../xapi/datamodel.generated';
import { buildConfigDrive } from './config-drive';
import { removeVm } from './destroy';
import { ApiError, isGone } from './errors';
import type { Step, StepContext } from './steps';
import { TAG, isOwnedBy, mergeTags, ownerOf, ownerTags, type Owner } from './tags';
import type { SpawnRequest } from './types';

const NULL_REF = 'OpaqueRef:NULL';
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface SpawnPlan {
  owner: Owner;
  hash: string;
  name: string;
  body: SpawnRequest;
  templateRef?: string;
  templateRec?: VMRecord;
  /** The template's other_config.disks XML, when provision must build its disks. */
  provisionXml?: string;
  imageVdiRef?: string;
  source: string;
  /** SR for the root disk, the image copy and the config drive (undefined: the template's choice). */
  srRef?: string;
  srUuid?: string;
  disks: Array<{ bytes: number; srRef: string }>;
  nics: Array<{ networkRef: string; mac?: string; mtu: number }>;
  userData?: Buffer;
  vcpus: number;
  memoryBytes: number;
}

type Mirror = MirrorView;

function notFound(code: string, what: string, name: string): ApiError {
  return new ApiError(404, code, `${what} '${name}' not found`);
}

function defaultSr(mirror: Mirror): { ref: string; uuid: string } | undefined {
  const pool = mirror.query('pool', { fields: ['default_SR'] })[0];
  const sr = pool && pool.default_SR !== NULL_REF ? mirror.get('SR', pool.default_SR) : undefined;
  return sr ? { ref: sr.$ref, uuid: sr.uuid } : undefined;
}

function resolveSr(mirror: Mirror, uuid: string | undefined): { ref: string; uuid: string } {
  if (uuid !== undefined) {
    const sr = mirror.getByUuid('SR', uuid);
    if (!sr) throw notFound('sr_not_found', 'SR', uuid);
    return { ref: sr.$ref, uuid: sr.uuid };
  }
  const d = defaultSr(mirror);
  if (!d) throw new ApiError(404, 'sr_not_found', 'no SR named and the pool has no default SR');
  return d;
}

function resolveNetwork(mirror: Mirror, name: string): { ref: string; mtu: number } {
  const byUuid = mirror.getByUuid('network', name);
  const found =
    byUuid ??
    mirror.query('network', { where: { name_label: name }, fields: ['MTU'], limit: 1 })[0] ??
    mirror.query('network', { where: { bridge: name }, fields: ['MTU'], limit: 1 })[0];
  if (!found) throw notFound('network_not_found', 'network', name);
  return { ref: found.$ref, mtu: Number(found.MTU) || 1500 };
}

function resolveTemplate(mirror: Mirror, name: string): VMRecord & { $ref: string } {
  const byUuid = mirror.getByUuid('VM', name);
  if (byUuid && byUuid.is_a_template && !byUuid.is_a_snapshot) return byUuid;
  const row = mirror.query('VM', {
    where: { name_label: name, is_a_template: true, is_a_snapshot: false },
    fields: ['uuid'],
    limit: 1,
  })[0];
  const rec = row ? mirror.get('VM', row.$ref) : undefined;
  if (!rec) throw notFound('template_not_found', 'template', name);
  return rec;
}

/** Resolves everything the body names, from the mirror, before any XAPI call (404s here). */
export function planSpawn(
  mirror: Mirror,
  owner: Owner,
  hash: string,
  body: SpawnRequest,
): SpawnPlan {
  const plan: SpawnPlan = {
    owner,
    hash,
    body,
    name: body.name ?? owner.instanceId,
    source: '',
    disks: [],
    nics: [],
    vcpus: 1,
    memoryBytes: 512 * MiB,
  };
  const explicitSr = body.sr !== undefined ? resolveSr(mirror, body.sr) : undefined;
  if (body.template !== undefined) {
    const t = resolveTemplate(mirror, body.template);
    plan.templateRef = t.$ref;
    plan.templateRec = t;
    plan.source = t.uuid;
    plan.vcpus = Number(t.VCPUs_at_startup) || 1;
    plan.memoryBytes = Number(t.memory_static_max) || plan.memoryBytes;
    const xml = t.other_config?.disks;
    if (xml && /<disk\b/.test(xml) && t.VBDs.length === 0) plan.provisionXml = xml;
  } else if (body.image_vdi !== undefined) {
    const vdi = mirror.getByUuid('VDI', body.image_vdi);
    if (!vdi) throw notFound('image_not_found', 'image VDI', body.image_vdi);
    plan.imageVdiRef = vdi.$ref;
    plan.source = `image:${vdi.uuid}`;
  } else {
    throw new ApiError(400, 'invalid_request', 'a spawn names a template or an image_vdi');
  }
  if (body.vcpus !== undefined) plan.vcpus = body.vcpus;
  if (body.memory_mb !== undefined) plan.memoryBytes = body.memory_mb * MiB;
  const needsSr =
    plan.imageVdiRef !== undefined || body.user_data !== undefined || body.metadata !== undefined;
  const sr = explicitSr ?? (needsSr ? resolveSr(mirror, undefined) : defaultSr(mirror));
  if (sr) {
    plan.srRef = sr.ref;
    plan.srUuid = sr.uuid;
  }
  for (const d of body.disks ?? []) {
    const dsr =
      d.sr !== undefined ? resolveSr(mirror, d.sr) : (explicitSr ?? resolveSr(mirror, undefined));
    plan.disks.push({ bytes: d.size_gb * GiB, srRef: dsr.ref });
  }
  for (const n of body.nics ?? []) {
    const net = resolveNetwork(mirror, n.network);
    plan.nics.push({
      networkRef: net.ref,
      mtu: net.mtu,
      ...(n.mac ? { mac: n.mac.toLowerCase() } : {}),
    });
  }
  if (body.user_data !== undefined) plan.userData = Buffer.from(body.user_data, 'base64');
  return plan;
}

export interface SpawnState {
  plan: SpawnPlan;
  vmRef?: string;
  /** True when provision will make the root disk at the requested size. */
  rootSized?: boolean;
  /** The operation as persisted in the VM's tag (`final`: as it reads once succeeded). */
  operationJson: (final?: boolean) => string;
}

interface Devices {
  vbds: Array<VBDRecord & { ref: string }>;
  vifs: Array<VIFRecord & { ref: string }>;
}

async function devices(xapi: XapiClient, vmRef: string): Promise<Devices> {
  const vm = await xapi.call<VMRecord>('VM.get_record', vmRef);
  const vbds: Devices['vbds'] = [];
  for (const ref of vm.VBDs)
    vbds.push({ ...(await xapi.call<VBDRecord>('VBD.get_record', ref)), ref });
  const vifs: Devices['vifs'] = [];
  for (const ref of vm.VIFs)
    vifs.push({ ...(await xapi.call<VIFRecord>('VIF.get_record', ref)), ref });
  return { vbds, vifs };
}

/** The lowest free device number, skipping `reserved` (3 is where templates put the CD). */
function freeDevice(used: Iterable<string>, reserved: number[] = []): string {
  const taken = new Set([...used].map((u) => Number(u)));
  for (let i = 0; ; i++) if (!taken.has(i) && !reserved.includes(i)) return String(i);
}

async function undoable(
  ctx: StepContext,
  label: string,
  undo: () => Promise<unknown>,
): Promise<void> {
  ctx.onUndo(label, async () => {
    try {
      await undo();
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  });
}

function vdiRecord(
  plan: SpawnPlan,
  srRef: string,
  bytes: number,
  role: string,
  name: string,
): Record<string, unknown> {
  return {
    name_label: name,
    name_description: `${role} of instance ${plan.owner.instanceId}`,
    SR: srRef,
    virtual_size: bytes,
    type: 'user',
    sharable: false,
    read_only: false,
    other_config: ownerTags(plan.owner, { [TAG.role]: role }),
    xenstore_data: {},
    sm_config: {},
    tags: [],
  };
}

function vbdRecord(
  plan: SpawnPlan,
  vmRef: string,
  vdiRef: string,
  userdevice: string,
  kind: { type: 'Disk' | 'CD'; bootable: boolean; role: string },
): Record<string, unknown> {
  return {
    VM: vmRef,
    VDI: vdiRef,
    userdevice,
    bootable: kind.bootable,
    mode: kind.type === 'CD' ? 'RO' : 'RW',
    type: kind.type,
    empty: false,
    unpluggable: true,
    other_config: ownerTags(plan.owner, { [TAG.role]: kind.role }),
    qos_algorithm_type: '',
    qos_algorithm_params: {},
  };
}

/** Rewrites the provision XML: requested root size, and an explicit SR for disks without one. */
function rewriteDisksXml(
  xml: string,
  rootBytes: number | undefined,
  srUuid: string | undefined,
): string {
  return xml.replace(/<disk\b[^>]*>/g, (tag) => {
    let out = tag;
    const device = /\bdevice="([^"]*)"/.exec(tag)?.[1];
    if (rootBytes !== undefined && device === '0') {
      const size = Number(/\bsize="(\d+)"/.exec(tag)?.[1] ?? 0);
      if (size < rootBytes) out = out.replace(/\bsize="\d*"/, `size="${rootBytes}"`);
    }
    if (srUuid !== undefined) out = out.replace(/\bsr=""/, `sr="${srUuid}"`);
    return out;
  });
}

function blankVmRecord(plan: SpawnPlan): Record<string, unknown> {
  const mem = plan.memoryBytes;
  return {
    name_label: plan.name,
    name_description: `instance ${plan.owner.instanceId}`,
    user_version: 1,
    is_a_template: false,
    affinity: NULL_REF,
    memory_static_max: mem,
    memory_dynamic_max: mem,
    memory_dynamic_min: mem,
    memory_static_min: Math.min(mem, 128 * MiB),
    VCPUs_params: {},
    VCPUs_max: plan.vcpus,
    VCPUs_at_startup: plan.vcpus,
    actions_after_shutdown: 'destroy',
    actions_after_reboot: 'restart',
    actions_after_crash: 'restart',
    PV_bootloader: '',
    PV_kernel: '',
    PV_ramdisk: '',
    PV_args: '',
    PV_bootloader_args: '',
    PV_legacy_args: '',
    HVM_boot_policy: 'BIOS order',
    HVM_boot_params: { order: 'dc' },
    HVM_shadow_multiplier: 1,
    platform: { acpi: '1', apic: 'true', pae: 'true', viridian: 'true', nx: 'true' },
    PCI_bus: '',
    domain_type: 'hvm',
    other_config: buildingTags(plan, '{}'),
    recommendations: '',
  };
}

function buildingTags(plan: SpawnPlan, operationJson: string): Record<string, string> {
  return ownerTags(plan.owner, {
    [TAG.state]: 'building',
    [TAG.spec]: plan.hash,
    [TAG.source]: plan.source,
    [TAG.createdAt]: new Date().toISOString(),
    [TAG.operation]: operationJson,
  });
}

export function spawnSteps(xapi: XapiClient): Array<Step<SpawnState>> {
  const vmOf = (s: SpawnState): string => {
    if (!s.vmRef) throw new Error('spawn: no VM yet');
    return s.vmRef;
  };
  const removeOnUndo = (ctx: StepContext, s: SpawnState): void => {
    const vmRef = vmOf(s);
    ctx.onUndo('remove the VM', () =>
      removeVm(xapi, vmRef, { owner: s.plan.owner, keepDisks: false, building: true }),
    );
  };
  return [
    {
      name: 'clone',
      weight: 3,
      when: (s) => s.plan.templateRef !== undefined,
      run: async (s, ctx) => {
        // A template with disks of its own is copied onto a named SR; otherwise cloned.
        const p = s.plan;
        const copy =
          p.body.sr !== undefined &&
          p.provisionXml === undefined &&
          (p.templateRec?.VBDs.length ?? 0) > 0;
        const vmRef = await xapi.callAsync<string>(
          copy ? 'VM.copy' : 'VM.clone',
          copy ? [p.templateRef, p.name, p.srRef] : [p.templateRef, p.name],
          { signal: ctx.signal, onProgress: (f) => ctx.progress(f * 0.9) },
        );
        s.vmRef = vmRef;
        removeOnUndo(ctx, s);
        await mergeTags(xapi, 'VM', vmRef, buildingTags(s.plan, s.operationJson()));
      },
    },
    {
      name: 'create',
      when: (s) => s.plan.templateRef === undefined,
      run: async (s, ctx) => {
        const record = blankVmRecord(s.plan);
        (record.other_config as Record<string, string>)[TAG.operation] = s.operationJson();
        s.vmRef = await xapi.call<string>('VM.create', record);
        removeOnUndo(ctx, s);
      },
    },
    {
      name: 'copy-image',
      weight: 4,
      when: (s) => s.plan.imageVdiRef !== undefined,
      run: async (s, ctx) => {
        const p = s.plan;
        const vdiRef = await xapi.callAsync<string>('VDI.copy', [p.imageVdiRef, p.srRef], {
          signal: ctx.signal,
          onProgress: (f) => ctx.progress(f * 0.8),
        });
        await undoable(ctx, 'destroy the image copy', () => xapi.call('VDI.destroy', vdiRef));
        await mergeTags(xapi, 'VDI', vdiRef, ownerTags(p.owner, { [TAG.role]: 'root' }));
        await xapi.call('VDI.set_name_label', vdiRef, `${p.name} root`);
        const vbdRef = await xapi.call<string>(
          'VBD.create',
          vbdRecord(p, vmOf(s), vdiRef, '0', { type: 'Disk', bootable: true, role: 'root' }),
        );
        await undoable(ctx, 'destroy the root VBD', () => xapi.call('VBD.destroy', vbdRef));
        s.rootSized = p.body.root_disk_gb === undefined;
      },
    },
    {
      name: 'provision',
      weight: 3,
      when: (s) => s.plan.provisionXml !== undefined,
      run: async (s, ctx) => {
        const p = s.plan;
        const rootBytes = p.body.root_disk_gb !== undefined ? p.body.root_disk_gb * GiB : undefined;
        const xml = rewriteDisksXml(
          p.provisionXml!,
          rootBytes,
          p.body.sr !== undefined ? p.srUuid : undefined,
        );
        if (xml !== p.provisionXml) {
          await xapi.call('VM.remove_from_other_config', vmOf(s), 'disks');
          await xapi.call('VM.add_to_other_config', vmOf(s), 'disks', xml);
        }
        await xapi.callAsync('VM.provision', [vmOf(s)], {
          signal: ctx.signal,
          onProgress: (f) => ctx.progress(f),
        });
        s.rootSized = true;
      },
    },
    {
      name: 'unmark-template',
      when: (s) => s.plan.templateRef !== undefined,
      run: async (s) => {
        await xapi.call('VM.set_is_a_template', vmOf(s), false);
      },
    },
    {
      name: 'vcpus',
      when: (s) => s.plan.templateRec !== undefined && s.plan.body.vcpus !== undefined,
      run: async (s) => {
        const n = s.plan.vcpus;
        const currentMax = Number(s.plan.templateRec!.VCPUs_max);
        // XAPI keeps 0 < VCPUs_at_startup <= VCPUs_max at every step.
        if (n > currentMax) {
          await xapi.call('VM.set_VCPUs_max', vmOf(s), n);
          await xapi.call('VM.set_VCPUs_at_startup', vmOf(s), n);
        } else {
          await xapi.call('VM.set_VCPUs_at_startup', vmOf(s), n);
          if (n !== currentMax) await xapi.call('VM.set_VCPUs_max', vmOf(s), n);
        }
      },
    },
    {
      name: 'memory',
      when: (s) => s.plan.templateRec !== undefined && s.plan.body.memory_mb !== undefined,
      run: async (s) => {
        const bytes = s.plan.memoryBytes;
        const staticMin = Math.min(Number(s.plan.templateRec!.memory_static_min) || bytes, bytes);
        await xapi.call('VM.set_memory_limits', vmOf(s), staticMin, bytes, bytes, bytes);
      },
    },
    {
      name: 'root-disk',
      weight: 2,
      when: (s) => s.plan.body.root_disk_gb !== undefined && !s.rootSized,
      run: async (s, ctx) => {
        const p = s.plan;
        const bytes = p.body.root_disk_gb! * GiB;
        const { vbds } = await devices(xapi, vmOf(s));
        const root =
          vbds.find((v) => v.type === 'Disk' && v.userdevice === '0' && v.VDI !== NULL_REF) ??
          vbds.find((v) => v.type === 'Disk' && v.bootable && v.VDI !== NULL_REF);
        if (root) {
          const size = Number(await xapi.call('VDI.get_virtual_size', root.VDI));
          if (size < bytes)
            await xapi.callAsync('VDI.resize', [root.VDI, bytes], { signal: ctx.signal });
          return;
        }
        const srRef = p.srRef ?? resolveFailure();
        const vdiRef = await xapi.call<string>(
          'VDI.create',
          vdiRecord(p, srRef, bytes, 'root', `${p.name} root`),
        );
        await undoable(ctx, 'destroy the root disk', () => xapi.call('VDI.destroy', vdiRef));
        const device = freeDevice(
          vbds.map((v) => v.userdevice),
          [3],
        );
        const vbdRef = await xapi.call<string>(
          'VBD.create',
          vbdRecord(p, vmOf(s), vdiRef, device, { type: 'Disk', bootable: true, role: 'root' }),
        );
        await undoable(ctx, 'destroy the root VBD', () => xapi.call('VBD.destroy', vbdRef));
      },
    },
    {
      name: 'disks',
      weight: 2,
      when: (s) => s.plan.disks.length > 0,
      run: async (s, ctx) => {
        const p = s.plan;
        const { vbds } = await devices(xapi, vmOf(s));
        const used = vbds.map((v) => v.userdevice);
        for (const [i, d] of p.disks.entries()) {
          const vdiRef = await xapi.call<string>(
            'VDI.create',
            vdiRecord(p, d.srRef, d.bytes, 'disk', `${p.name} disk ${i + 1}`),
          );
          await undoable(ctx, `destroy disk ${i + 1}`, () => xapi.call('VDI.destroy', vdiRef));
          const device = freeDevice(used, [3]);
          used.push(device);
          const vbdRef = await xapi.call<string>(
            'VBD.create',
            vbdRecord(p, vmOf(s), vdiRef, device, { type: 'Disk', bootable: false, role: 'disk' }),
          );
          await undoable(ctx, `destroy the VBD of disk ${i + 1}`, () =>
            xapi.call('VBD.destroy', vbdRef),
          );
          ctx.progress((i + 1) / p.disks.length);
        }
      },
    },
    {
      name: 'nics',
      when: (s) => s.plan.nics.length > 0,
      run: async (s, ctx) => {
        const p = s.plan;
        const { vifs } = await devices(xapi, vmOf(s));
        const used = vifs.map((v) => v.device);
        for (const [i, n] of p.nics.entries()) {
          const device = freeDevice(used);
          used.push(device);
          const vifRef = await xapi.call<string>('VIF.create', {
            device,
            network: n.networkRef,
            VM: vmOf(s),
            MAC: n.mac ?? '',
            MTU: n.mtu,
            other_config: ownerTags(p.owner, { [TAG.role]: 'nic' }),
            qos_algorithm_type: '',
            qos_algorithm_params: {},
            locking_mode: 'network_default',
          });
          await undoable(ctx, `destroy NIC ${i}`, () => xapi.call('VIF.destroy', vifRef));
        }
      },
    },
    {
      name: 'config-drive',
      weight: 2,
      when: (s) => s.plan.userData !== undefined || s.plan.body.metadata !== undefined,
      run: async (s, ctx) => {
        const p = s.plan;
        const { vbds, vifs } = await devices(xapi, vmOf(s));
        const nicMacs = vifs
          .filter((v) => v.other_config?.[TAG.role] === 'nic')
          .sort((a, b) => Number(a.device) - Number(b.device))
          .map((v) => ({ mac: v.MAC, mtu: Number(v.MTU) || 1500 }));
        const iso = buildConfigDrive({
          instanceId: p.owner.instanceId,
          name: p.name,
          ...(p.userData ? { userData: p.userData } : {}),
          ...(p.body.metadata ? { metadata: p.body.metadata } : {}),
          nics: nicMacs,
        });
        const size = Math.ceil(iso.length / MiB) * MiB;
        const vdiRef = await xapi.call<string>(
          'VDI.create',
          vdiRecord(p, p.srRef ?? resolveFailure(), size, 'config-drive', `${p.name} config drive`),
        );
        await undoable(ctx, 'destroy the config drive', () => xapi.call('VDI.destroy', vdiRef));
        await xapi.httpPut('/import_raw_vdi', { vdi: vdiRef }, iso);
        ctx.progress(0.7);
        const device = freeDevice(vbds.map((v) => v.userdevice));
        const vbdRef = await xapi.call<string>(
          'VBD.create',
          vbdRecord(p, vmOf(s), vdiRef, device, {
            type: 'CD',
            bootable: false,
            role: 'config-drive',
          }),
        );
        await undoable(ctx, 'destroy the config drive VBD', () => xapi.call('VBD.destroy', vbdRef));
      },
    },
    {
      name: 'tag',
      run: async (s) => {
        // Disks made by clone or provision carry no tags yet, or (a template made from an
        // instance) another instance's: mark them as this instance's. Devices cloned with
        // another instance's tags are re-tagged too, so reconcile never takes them for orphans.
        const owner = s.plan.owner;
        const { vbds, vifs } = await devices(xapi, vmOf(s));
        for (const vbd of vbds) {
          if (ownerOf(vbd.other_config) && !isOwnedBy(vbd.other_config, owner))
            await mergeTags(xapi, 'VBD', vbd.ref, ownerTags(owner));
          if (vbd.type !== 'Disk' || vbd.VDI === NULL_REF) continue;
          const oc = await xapi.call<VDIRecord['other_config']>('VDI.get_other_config', vbd.VDI);
          if (isOwnedBy(oc, owner)) continue;
          const role = vbd.userdevice === '0' || vbd.bootable ? 'root' : 'disk';
          const tags: Record<string, string> = { ...oc, ...ownerTags(owner, { [TAG.role]: role }) };
          delete tags[TAG.state]; // a kept disk of the template's instance is this one's now
          await xapi.call('VDI.set_other_config', vbd.VDI, tags);
        }
        for (const vif of vifs)
          if (ownerOf(vif.other_config) && !isOwnedBy(vif.other_config, owner))
            await mergeTags(xapi, 'VIF', vif.ref, ownerTags(owner));
      },
    },
    {
      name: 'start',
      weight: 3,
      when: (s) => s.plan.body.power_on !== false,
      run: async (s, ctx) => {
        const vmRef = vmOf(s);
        await xapi.callAsync('VM.start', [vmRef, false, false], {
          signal: ctx.signal,
          onProgress: (f) => ctx.progress(f),
        });
      },
    },
    {
      name: 'activate',
      run: async (s) => {
        await mergeTags(xapi, 'VM', vmOf(s), {
          [TAG.state]: 'active',
          [TAG.operation]: s.operationJson(true),
        });
      },
    },
  ];
}

function resolveFailure(): never {
  throw new ApiError(404, 'sr_not_found', 'no SR named and the pool has no default SR');
}
