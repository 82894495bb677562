// The records a spawn hands to XAPI constructors (VM.create, VDI.create, VBD.create), the
// provision XML rewrite, and reading a VM's devices back: plain builders for spawn.ts's steps.
// Decides nothing about order or undo.
import type { XapiClient } from '../../xapi';
import type { VBDRecord, VIFRecord, VMRecord } from '../../xapi/datamodel.generated';
import { isGone } from '../errors';
import type { StepContext } from '../steps';
import { TAG, ownerTags, type Owner } from '../tags';
import { blankBootFields } from '../boot';
import type { SpawnPlan } from './plan';
import { NULL_REF } from '../../xapi/ref';
import { MiB } from '../../xapi/units';

export interface Devices {
  vbds: Array<VBDRecord & { ref: string }>;
  vifs: Array<VIFRecord & { ref: string }>;
}

export async function devices(xapi: XapiClient, vmRef: string): Promise<Devices> {
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
export function freeDevice(used: Iterable<string>, reserved: number[] = []): string {
  const taken = new Set([...used].map((u) => Number(u)));
  for (let i = 0; ; i++) if (!taken.has(i) && !reserved.includes(i)) return String(i);
}

export async function undoable(
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

export function vdiRecord(
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

export function vbdRecord(
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
export function rewriteDisksXml(
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

export function blankVmRecord(plan: SpawnPlan, serviceId: string): Record<string, unknown> {
  const mem = plan.memoryBytes;
  return {
    name_label: plan.name,
    name_description: `instance ${plan.owner.instanceId}`,
    user_version: 1,
    is_a_template: false,
    affinity: NULL_REF,
    memory_static_max: plan.maxMemoryBytes,
    memory_dynamic_max: mem,
    memory_dynamic_min: mem,
    memory_static_min: Math.min(mem, 128 * MiB),
    VCPUs_params: {},
    VCPUs_max: plan.maxVcpus,
    VCPUs_at_startup: plan.vcpus,
    actions_after_shutdown: 'destroy',
    actions_after_reboot: 'restart',
    actions_after_crash: 'restart',
    PV_kernel: '',
    PV_ramdisk: '',
    PV_args: '',
    PV_bootloader_args: '',
    PV_legacy_args: '',
    HVM_shadow_multiplier: 1,
    PCI_bus: '',
    ...blankBootFields(plan.boot),
    other_config: buildingTags(plan, '{}', serviceId),
    recommendations: '',
  };
}

export function buildingTags(
  plan: SpawnPlan,
  operationJson: string,
  serviceId: string,
): Record<string, string> {
  return ownerTags(plan.owner, {
    [TAG.state]: 'building',
    [TAG.owner]: serviceId,
    [TAG.spec]: plan.hash,
    [TAG.source]: plan.source,
    [TAG.createdAt]: new Date().toISOString(),
    [TAG.operation]: operationJson,
  });
}

/** The name a clone / copy gets from XAPI until the spawn has tagged it and set the real name:
 * a service killed while the task runs leaves an untagged VM that reconcile still knows by it,
 * and by the service id after '@', whose lease says whether its spawn may still be running. */
export const RESERVED_NAME_PREFIX = 'xcd-building/';

export function reservedName(owner: Owner, serviceId: string): string {
  return `${RESERVED_NAME_PREFIX}${owner.namespace}/${owner.instanceId}@${serviceId}`;
}

/** The owner (the instance id is after the last '/') and service a reserved name encodes. */
export function parseReservedName(name: string): { owner: Owner; serviceId?: string } | undefined {
  if (!name.startsWith(RESERVED_NAME_PREFIX)) return undefined;
  const rest = name.slice(RESERVED_NAME_PREFIX.length);
  const cut = rest.lastIndexOf('/');
  if (cut <= 0 || cut === rest.length - 1) return undefined;
  const tail = rest.slice(cut + 1);
  const at = tail.indexOf('@');
  const instanceId = at < 0 ? tail : tail.slice(0, at);
  if (!instanceId) return undefined;
  const owner = { namespace: rest.slice(0, cut), instanceId };
  return at < 0 ? { owner } : { owner, serviceId: tail.slice(at + 1) };
}
