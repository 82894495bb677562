// The config drive of an existing instance rebuilt: the ISO made as the spawn makes it (from the
// instance's name and its NICs as they are now), written into a new VDI, swapped into the CD
// drive (VBD.eject, VBD.insert; a halted instance without a drive gets a new CD VBD), the former
// VDI destroyed. Each step registers its undo, so a failure leaves the former drive in place.
// Never touches a VDI or VBD that is not the instance's config drive.
import type { XapiClient } from '../../xapi';
import type { VBDRecord, VIFRecord, VMRecord } from '../../xapi/datamodel.generated';
import { NULL_REF } from '../../xapi/ref';
import { MiB } from '../../xapi/units';
import { badPowerState, ignoreGone, type OpRun } from './common';
import { ApiError, isGone } from '../errors';
import { waitForMirror } from '../mirror-wait';
import { buildConfigDrive } from '../spawn/config-drive';
import { freeDevice } from '../spawn/records';
import { runSteps } from '../steps';
import { TAG, ownerTags, type Owner } from '../tags';
import type { Schema } from '../types';

/** xcd_role of the config drive's VDI and VBD (as the spawn tags them). */
export const CONFIG_DRIVE_ROLE = 'config-drive';

type Request = Schema<'ConfigDriveRequest'>;

/** Is the VBD the instance's config drive (a CD the service made, tagged for the role)? */
export function isConfigDrive(vbd: Pick<VBDRecord, 'type' | 'other_config'>): boolean {
  return vbd.type === 'CD' && vbd.other_config?.[TAG.role] === CONFIG_DRIVE_ROLE;
}

/** A drive can be rebuilt while halted, or while running when the CD drive is already there. */
export function requireDriveWritable(vmRef: string, power: string, hasDrive: boolean): void {
  if (power === 'Halted' || (power === 'Running' && hasDrive)) return;
  throw badPowerState(vmRef, power === 'Running' ? ['halted'] : ['halted', 'running'], power);
}

/** The config drive's VDIs of the instance that no VBD holds (a former drive a failed or
 * interrupted update left), from the mirror. */
function looseDrives(xapi: XapiClient, owner: Owner): string[] {
  return xapi.mirror
    .query('VDI', {
      where: {
        [`other_config.${TAG.namespace}`]: owner.namespace,
        [`other_config.${TAG.instanceId}`]: owner.instanceId,
        [`other_config.${TAG.role}`]: CONFIG_DRIVE_ROLE,
      },
      fields: ['VBDs'],
    })
    .filter((v) => v.VBDs.length === 0)
    .map((v) => v.$ref);
}

interface State {
  newRef?: string;
  newUuid?: string;
}

export async function updateConfigDrive(
  xapi: XapiClient,
  body: Request,
  run: OpRun,
): Promise<void> {
  const vm = await xapi.call<VMRecord>('VM.get_record', run.vmRef);
  let drive: (VBDRecord & { ref: string }) | undefined;
  const used: string[] = [];
  for (const ref of vm.VBDs) {
    const vbd = await ignoreGone(xapi.call<VBDRecord>('VBD.get_record', ref), isGone);
    if (!vbd) continue;
    used.push(vbd.userdevice);
    if (!drive && isConfigDrive(vbd)) drive = { ...vbd, ref };
  }
  requireDriveWritable(run.vmRef, vm.power_state, drive !== undefined);
  const oldRef = drive && !drive.empty && drive.VDI !== NULL_REF ? drive.VDI : undefined;
  const srRef = oldRef
    ? await xapi.call<string>('VDI.get_SR', oldRef)
    : xapi.mirror.query('pool', { fields: ['default_SR'] })[0]?.default_SR;
  if (!srRef || srRef === NULL_REF)
    throw new ApiError(404, 'sr_not_found', 'the pool has no default SR for the config drive');

  const nics: Array<{ device: number; mac: string; mtu: number }> = [];
  for (const ref of vm.VIFs) {
    const vif = await ignoreGone(xapi.call<VIFRecord>('VIF.get_record', ref), isGone);
    if (vif) nics.push({ device: Number(vif.device), mac: vif.MAC, mtu: Number(vif.MTU) });
  }
  nics.sort((a, b) => a.device - b.device);
  const iso = buildConfigDrive({
    instanceId: run.owner.instanceId,
    name: vm.name_label,
    ...(body.user_data !== undefined ? { userData: Buffer.from(body.user_data, 'base64') } : {}),
    ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
    nics: nics.map(({ mac, mtu }) => ({ mac, mtu })),
  });

  const state: State = {};
  await runSteps<State>(
    [
      {
        name: 'VDI.create',
        run: async (s, ctx) => {
          const newRef = await xapi.call<string>('VDI.create', {
            name_label: `${vm.name_label} config drive`,
            name_description: `config-drive of instance ${run.owner.instanceId}`,
            SR: srRef,
            virtual_size: Math.ceil(iso.length / MiB) * MiB,
            type: 'user',
            sharable: false,
            read_only: false,
            other_config: ownerTags(run.owner, { [TAG.role]: CONFIG_DRIVE_ROLE }),
            xenstore_data: {},
            sm_config: {},
            tags: [],
          });
          s.newRef = newRef;
          ctx.onUndo('destroy the new drive', async () => {
            await ignoreGone(xapi.call('VDI.destroy', newRef), isGone);
          });
          s.newUuid = await xapi.call<string>('VDI.get_uuid', newRef);
        },
      },
      {
        name: 'import',
        weight: 2,
        run: async (s) => {
          await xapi.httpPut('/import_raw_vdi', { vdi: s.newRef! }, iso);
        },
      },
      {
        name: 'VBD.eject',
        when: () => oldRef !== undefined,
        run: async (_s, ctx) => {
          await xapi.callAsync('VBD.eject', [drive!.ref], { signal: ctx.signal });
          ctx.onUndo('put the former drive back', async () => {
            await ignoreGone(xapi.callAsync('VBD.insert', [drive!.ref, oldRef]), isGone);
          });
        },
      },
      {
        name: 'VBD.insert',
        when: () => drive !== undefined,
        run: async (s, ctx) => {
          await xapi.callAsync('VBD.insert', [drive!.ref, s.newRef], { signal: ctx.signal });
          ctx.onUndo('take the new drive out', async () => {
            await ignoreGone(xapi.callAsync('VBD.eject', [drive!.ref]), isGone);
          });
        },
      },
      {
        name: 'VBD.create',
        when: () => drive === undefined,
        run: async (s, ctx) => {
          const vbdRef = await xapi.call<string>('VBD.create', {
            VM: run.vmRef,
            VDI: s.newRef,
            userdevice: freeDevice(used),
            bootable: false,
            mode: 'RO',
            type: 'CD',
            empty: false,
            unpluggable: true,
            other_config: ownerTags(run.owner, { [TAG.role]: CONFIG_DRIVE_ROLE }),
            qos_algorithm_type: '',
            qos_algorithm_params: {},
          });
          ctx.onUndo('destroy the drive', async () => {
            await ignoreGone(xapi.call('VBD.destroy', vbdRef), isGone);
          });
        },
      },
    ],
    state,
    run.steps,
  );
  // The former drive, and any an interrupted update left, now held by no VBD (what fails from
  // here leaves the new drive in place; a retry removes what is left).
  if (oldRef) await ignoreGone(xapi.call('VDI.destroy', oldRef), isGone);
  await waitForMirror(
    xapi.mirror,
    () => !oldRef || !xapi.mirror.get('VDI', oldRef),
    run.mirrorWaitMs,
  );
  for (const ref of looseDrives(xapi, run.owner)) {
    const vbds = await ignoreGone(xapi.call<string[]>('VDI.get_VBDs', ref), isGone);
    if (vbds && vbds.length === 0) await ignoreGone(xapi.call('VDI.destroy', ref), isGone);
  }
  await run.viewed((v) => !!v?.disks.some((d) => d.type === 'cdrom' && d.uuid === state.newUuid));
}
