// Spawn as XAPI steps: clone or create, root disk or volume, provision, boot settings, size,
// disks, NICs, config drive, tag, start (the plan is resolved before, in plan.ts); each step
// registers the undo of what it made, so a failed spawn leaves no VM, VDI, VBD or VIF behind. Does not decide idempotency or
// scheduling (index.ts does); never reads the mirror.
import type { XapiClient } from '../../xapi';
import type { VDIRecord, VMRecord } from '../../xapi/datamodel.generated';
import { bootFields } from '../boot';
import { buildConfigDrive } from './config-drive';
import type { ImageBaseIn } from '../procedures/disk';
import { portKeys } from '../procedures/network';
import { quiesceVm, removeQuiet } from '../procedures/destroy';
import { ApiError } from '../errors';
import { IMAGE_NOT_FOUND, usableVdi, vdiNotFound } from '../ownership';
import type { SpawnPlan } from './plan';
import { claimBase } from '../procedures/persistent-disk';
import { attachRootVolume } from './root-volume';
import {
  blankVmRecord,
  buildingTags,
  devices,
  freeDevice,
  type Devices,
  reservedName,
  rewriteDisksXml,
  undoable,
  vbdRecord,
  vdiRecord,
} from './records';
import type { Step, StepContext } from '../steps';
import { TAG, isOwnedBy, mergeTags, ownerOf, ownerTags } from '../tags';
import { NULL_REF } from '../../xapi/ref';
import { MiB, GiB } from '../../xapi/units';

export { planSpawn, type SpawnPlan } from './plan';

export interface SpawnState {
  plan: SpawnPlan;
  /** This service's id (lease.ts): the owner of the spawn while it is in flight. */
  serviceId: string;
  /** The operator's volume sources (ownership.ts), for the image check before the copy. */
  volumeSrs: readonly string[];
  /** How long a step waits for the mirror to show what it did (a root volume's detach). */
  mirrorWaitMs: number;
  /** An image's active base VDI in an SR, copied there first when it has none (images.ts). */
  imageBase?: ImageBaseIn;
  /** Finds or makes the service's network of a VLAN (a NIC's `vlan`). */
  ensureVlan?: (tag: number) => Promise<{ ref: string; mtu: number }>;
  vmRef?: string;
  /** True when provision will make the root disk at the requested size. */
  rootSized?: boolean;
  /** The VM's devices as clone / provision / create made them (read once, lazily). */
  cloned?: Devices;
  /** Device numbers and NICs the later steps made. */
  made: { vbdDevices: string[]; vifDevices: string[]; nicVifs: string[] };
  /** The operation as persisted in the VM's tag (`final`: as it reads once succeeded). */
  operationJson: (final?: boolean) => string;
}

export function spawnSteps(xapi: XapiClient): Array<Step<SpawnState>> {
  const vmOf = (s: SpawnState): string => {
    if (!s.vmRef) throw new Error('spawn: no VM yet');
    return s.vmRef;
  };
  const cloned = async (s: SpawnState): Promise<Devices> =>
    (s.cloned ??= await devices(xapi, vmOf(s)));
  const usedVbdDevices = async (s: SpawnState): Promise<string[]> => [
    ...(await cloned(s)).vbds.map((v) => v.userdevice),
    ...s.made.vbdDevices,
  ];
  const removeOnUndo = (ctx: StepContext, s: SpawnState): void => {
    const vmRef = vmOf(s);
    ctx.onUndo('remove the VM', () =>
      removeQuiet(xapi, vmRef, { owner: s.plan.owner, keepDisks: false, building: true }),
    );
  };
  /** Attaches a root disk the spawn made (a copy or clone of an image) at device 0; it is sized
   * already unless the request asks for more. */
  const attachRoot = async (s: SpawnState, ctx: StepContext, vdiRef: string): Promise<void> => {
    const vbdRef = await xapi.call<string>(
      'VBD.create',
      vbdRecord(s.plan, vmOf(s), vdiRef, '0', { type: 'Disk', bootable: true, role: 'root' }),
    );
    s.made.vbdDevices.push('0');
    await undoable(ctx, 'destroy the root VBD', () => xapi.call('VBD.destroy', vbdRef));
    s.rootSized = s.plan.body.root_disk_gb === undefined;
  };
  // Disks and NICs made by clone or provision carry no tags, or (a template made from an
  // instance) another instance's: they become this instance's the moment the VM is known, so a
  // failed undo leaves tagged objects that reconcile's sweep removes, never untagged ones.
  const claimDevices = async (s: SpawnState): Promise<void> => {
    const owner = s.plan.owner;
    s.cloned = undefined;
    const { vbds, vifs } = await cloned(s);
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
        // The clone is born with a reserved name, so a service killed before the tags below
        // leaves a VM reconcile recognises; the real name follows the tags.
        const born = reservedName(p.owner, s.serviceId);
        const vmRef = await xapi.callAsync<string>(
          copy ? 'VM.copy' : 'VM.clone',
          copy ? [p.templateRef, born, p.srRef] : [p.templateRef, born],
          { signal: ctx.signal, onProgress: (f) => ctx.progress(f * 0.9) },
        );
        s.vmRef = vmRef;
        removeOnUndo(ctx, s);
        await mergeTags(xapi, 'VM', vmRef, buildingTags(s.plan, s.operationJson(), s.serviceId));
        await claimDevices(s);
        await xapi.call('VM.set_name_label', vmRef, p.name);
      },
    },
    {
      name: 'create',
      when: (s) => s.plan.templateRef === undefined,
      run: async (s, ctx) => {
        const record = blankVmRecord(s.plan, s.serviceId);
        (record.other_config as Record<string, string>)[TAG.operation] = s.operationJson();
        s.vmRef = await xapi.call<string>('VM.create', record);
        removeOnUndo(ctx, s);
      },
    },
    {
      name: 'root-volume',
      weight: 3,
      when: (s) => s.plan.rootVolume !== undefined,
      run: async (s, ctx) => {
        await attachRootVolume(xapi, ctx, {
          vmRef: vmOf(s),
          owner: s.plan.owner,
          rv: s.plan.rootVolume!,
          serviceId: s.serviceId,
          volumeSrs: s.volumeSrs,
          mirrorWaitMs: s.mirrorWaitMs,
        });
        s.made.vbdDevices.push('0');
      },
    },
    {
      name: 'copy-image',
      weight: 4,
      when: (s) => s.plan.imageVdiRef !== undefined,
      run: async (s, ctx) => {
        // The copy goes into a disk made (and tagged) first: VDI.copy names nothing, so a
        // service killed during the copy would otherwise leave a disk no tag claims.
        const p = s.plan;
        // Checked again in the spawn's turn: the image may have changed hands since planning.
        const policy = { namespace: p.owner.namespace, volumeSrs: s.volumeSrs };
        if (!usableVdi(xapi.mirror, policy, { ref: p.imageVdiRef! }, { kind: 'image' }))
          throw vdiNotFound(IMAGE_NOT_FOUND.code, IMAGE_NOT_FOUND.what, p.body.image_vdi ?? '');
        const image = await xapi.call<VDIRecord>('VDI.get_record', p.imageVdiRef);
        const srRef = p.srRef ?? image.SR;
        const vdiRef = await xapi.call<string>(
          'VDI.create',
          vdiRecord(p, srRef, image.virtual_size, 'root', `${p.name} root`),
        );
        await undoable(ctx, 'destroy the image copy', () => xapi.call('VDI.destroy', vdiRef));
        await xapi.callAsync<string>('VDI.copy', [p.imageVdiRef, srRef, NULL_REF, vdiRef], {
          signal: ctx.signal,
          onProgress: (f) => ctx.progress(f * 0.8),
        });
        await attachRoot(s, ctx, vdiRef);
      },
    },
    {
      name: 'persistent-image',
      weight: 2,
      when: (s) => s.plan.persistentBaseRef !== undefined,
      run: async (s, ctx) => {
        // The image's own base as the root disk: claimed (released by the undo), never cloned.
        const p = s.plan;
        const image = { id: p.imageId!, baseRef: p.persistentBaseRef! };
        await claimBase(xapi, ctx, p.owner, '0', image);
        await attachRoot(s, ctx, image.baseRef);
        s.rootSized = true;
      },
    },
    {
      name: 'clone-image',
      weight: 3,
      when: (s) => s.plan.imageId !== undefined && s.plan.persistentBaseRef === undefined,
      run: async (s, ctx) => {
        // The image's base in the spawn's SR (copied there once, shared), cloned: copy-on-write
        // on real SRs. The clone carries the base's tags until it is made this instance's.
        const p = s.plan;
        if (!s.imageBase || !p.srRef) throw new Error('spawn: no image base for the plan');
        const baseRef = await s.imageBase(p.owner.namespace, p.imageId!, p.srRef, ctx.signal);
        ctx.progress(0.5);
        // A clone is a quick metadata operation (copy-on-write): called, not run as a task.
        const vdiRef = await xapi.call<string>('VDI.clone', baseRef, {});
        await undoable(ctx, 'destroy the image clone', () => xapi.call('VDI.destroy', vdiRef));
        await Promise.all([
          xapi.call('VDI.set_other_config', vdiRef, ownerTags(p.owner, { [TAG.role]: 'root' })),
          xapi.call('VDI.set_name_label', vdiRef, `${p.name} root`),
        ]);
        await attachRoot(s, ctx, vdiRef);
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
        await claimDevices(s);
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
      name: 'boot',
      when: (s) => s.plan.templateRef !== undefined && s.plan.boot !== undefined,
      run: async (s) => {
        // Written before the first start; the template's other boot keys stay.
        const vmRef = vmOf(s);
        const rec = await xapi.call<VMRecord>('VM.get_record', vmRef);
        const next = bootFields(rec, s.plan.boot!);
        if (next.HVM_boot_policy !== rec.HVM_boot_policy)
          await xapi.call('VM.set_HVM_boot_policy', vmRef, next.HVM_boot_policy);
        await xapi.call('VM.set_HVM_boot_params', vmRef, next.HVM_boot_params);
        if (next.PV_bootloader !== rec.PV_bootloader)
          await xapi.call('VM.set_PV_bootloader', vmRef, next.PV_bootloader);
        if (next.domain_type !== rec.domain_type)
          await xapi.call('VM.set_domain_type', vmRef, next.domain_type);
        await xapi.call('VM.set_platform', vmRef, next.platform);
      },
    },
    {
      name: 'vcpus',
      when: (s) =>
        s.plan.templateRec !== undefined &&
        (s.plan.body.vcpus !== undefined || s.plan.body.max_vcpus !== undefined),
      run: async (s) => {
        const { vcpus: n, maxVcpus: max } = s.plan;
        const currentMax = Number(s.plan.templateRec!.VCPUs_max);
        // XAPI keeps 0 < VCPUs_at_startup <= VCPUs_max at every step.
        if (max >= currentMax) {
          if (max !== currentMax) await xapi.call('VM.set_VCPUs_max', vmOf(s), max);
          await xapi.call('VM.set_VCPUs_at_startup', vmOf(s), n);
        } else {
          await xapi.call('VM.set_VCPUs_at_startup', vmOf(s), n);
          await xapi.call('VM.set_VCPUs_max', vmOf(s), max);
        }
      },
    },
    {
      name: 'memory',
      when: (s) =>
        s.plan.templateRec !== undefined &&
        (s.plan.body.memory_mb !== undefined || s.plan.body.max_memory_mb !== undefined),
      run: async (s) => {
        const { memoryBytes: bytes, maxMemoryBytes: max } = s.plan;
        const staticMin = Math.min(Number(s.plan.templateRec!.memory_static_min) || bytes, bytes);
        await xapi.call('VM.set_memory_limits', vmOf(s), staticMin, max, bytes, bytes);
      },
    },
    {
      name: 'root-disk',
      weight: 2,
      when: (s) => s.plan.body.root_disk_gb !== undefined && !s.rootSized,
      run: async (s, ctx) => {
        const p = s.plan;
        const bytes = p.body.root_disk_gb! * GiB;
        const { vbds } = await cloned(s);
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
        const device = freeDevice(await usedVbdDevices(s), [3]);
        const vbdRef = await xapi.call<string>(
          'VBD.create',
          vbdRecord(p, vmOf(s), vdiRef, device, { type: 'Disk', bootable: true, role: 'root' }),
        );
        s.made.vbdDevices.push(device);
        await undoable(ctx, 'destroy the root VBD', () => xapi.call('VBD.destroy', vbdRef));
      },
    },
    {
      name: 'disks',
      weight: 2,
      when: (s) => s.plan.disks.length > 0,
      run: async (s, ctx) => {
        const p = s.plan;
        const used = await usedVbdDevices(s);
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
          s.made.vbdDevices.push(device);
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
        const used = [...(await cloned(s)).vifs.map((v) => v.device), ...s.made.vifDevices];
        const vmUuid = p.nics.some((n) => n.portId !== undefined)
          ? await xapi.call<string>('VM.get_uuid', vmOf(s))
          : '';
        for (const [i, n] of p.nics.entries()) {
          if (n.vlan !== undefined) {
            if (!s.ensureVlan) throw new Error('spawn: no VLAN networks');
            const net = await s.ensureVlan(n.vlan);
            [n.networkRef, n.mtu] = [net.ref, net.mtu];
          }
          const device = freeDevice(used);
          used.push(device);
          const vifRef = await xapi.call<string>('VIF.create', {
            device,
            network: n.networkRef,
            VM: vmOf(s),
            MAC: n.mac ?? '',
            MTU: n.mtu,
            other_config: ownerTags(p.owner, { [TAG.role]: 'nic', ...portKeys(n.portId, vmUuid) }),
            qos_algorithm_type: '',
            qos_algorithm_params: {},
            locking_mode: 'network_default',
          });
          await undoable(ctx, `destroy NIC ${i}`, () => xapi.call('VIF.destroy', vifRef));
          s.made.vifDevices.push(device);
          s.made.nicVifs.push(vifRef);
        }
      },
    },
    {
      name: 'config-drive',
      weight: 2,
      when: (s) => s.plan.userData !== undefined || s.plan.body.metadata !== undefined,
      run: async (s, ctx) => {
        const p = s.plan;
        // The NICs this spawn made, in order, with the MACs XAPI chose for them.
        const nicMacs: Array<{ mac: string; mtu: number }> = [];
        for (const [i, vifRef] of s.made.nicVifs.entries())
          nicMacs.push({
            mac: await xapi.call<string>('VIF.get_MAC', vifRef),
            mtu: p.nics[i]!.mtu,
          });
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
        const device = freeDevice(await usedVbdDevices(s));
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
      name: 'start',
      weight: 3,
      when: (s) => s.plan.body.power_on !== false,
      run: async (s, ctx) => {
        const vmRef = vmOf(s);
        // Registered first: a start whose answer was lost may still have started the VM. The
        // devices' undos that follow need it halted.
        ctx.onUndo('shut the VM down', async () => {
          await quiesceVm(xapi, vmRef, 10_000);
          const power = await xapi.call<string>('VM.get_power_state', vmRef);
          if (power !== 'Halted') await xapi.call('VM.hard_shutdown', vmRef);
        });
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
          [TAG.owner]: undefined,
          [TAG.operation]: s.operationJson(true),
        });
      },
    },
  ];
}

function resolveFailure(): never {
  throw new ApiError(404, 'sr_not_found', 'no SR named and the pool has no default SR');
}
