// Volumes by connection, as the old Nova XenAPI driver attached Cinder's iSCSI LUNs: the target's
// SR (type `iscsi`, a VDI per LUN, uuid from the target) introduced or reused, PBDs plugged on the
// live hosts, SR.scan, the LUN's VDI by sm_config LUNid, a VBD; each step with its undo; detach.
// The CHAP password goes to XAPI in PBD device_config only (xapi keeps it as a secret), never
// into tags, errors or logs.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { XapiClient } from '../../xapi';
import type { PBDRecord, SRRecord, VBDRecord, VDIRecord } from '../../xapi/datamodel.generated';
import { NULL_REF } from '../../xapi/ref';
import { ApiError, isGone } from '../errors';
import { waitForMirror } from '../mirror-wait';
import { runSteps, type StepContext } from '../steps';
import { ISCSI_ROLE, TAG, VOLUME_TAG, ownerTags, type Owner } from '../tags';
import type { Schema } from '../types';
import { createAndPlug, ignoreGone, type OpRun } from './common';
import { ACTIVE_TAGS, forgetIscsiSr, pbdsOf, retag } from './iscsi-sr';
import { pickDevice, vbdsOf } from './volume';

/** A connection's target, parsed: what the SR's PBDs are configured with. */
export interface IscsiTarget {
  host: string;
  port: number;
  iqn: string;
  lun: number;
  chap?: { user: string; password: string };
}

const DEFAULT_PORT = 3260;

/** The target of a connection, or 400 invalid_request (the schema has checked the shapes). */
export function parseConnection(conn: Schema<'VolumeConnection'>): IscsiTarget {
  const d = conn.data;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::([0-9]{1,5}))?$/.exec(d.target_portal);
  const port = m?.[3] === undefined ? DEFAULT_PORT : Number(m[3]);
  if (!m || port < 1 || port > 65535)
    throw new ApiError(
      400,
      'invalid_request',
      `target_portal '${d.target_portal}' is not host:port`,
    );
  const chap =
    d.auth_method?.toUpperCase() === 'CHAP'
      ? { user: d.auth_username ?? '', password: d.auth_password ?? '' }
      : undefined;
  return { host: (m[1] ?? m[2])!.toLowerCase(), port, iqn: d.target_iqn, lun: d.target_lun, chap };
}

export const portalOf = (t: Pick<IscsiTarget, 'host' | 'port'>): string =>
  `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;

/** The namespace of the SR uuids (a name-based UUID, RFC 9562 version 5). */
const SR_NAMESPACE = Buffer.from('6f1c2d0e8a5b4c1d9e7f0a1b2c3d4e5f', 'hex');

/** The uuid of the SR of a target: the same for every attach of one of its LUNs. */
export function srUuidOf(t: Pick<IscsiTarget, 'host' | 'port' | 'iqn'>): string {
  const h = createHash('sha1')
    .update(SR_NAMESPACE)
    .update(`${portalOf(t)}/${t.iqn}`)
    .digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The PBDs' device_config: RawISCSISR's keys (BaseISCSI.load). */
function deviceConfig(t: IscsiTarget): Record<string, string> {
  return {
    target: t.host,
    port: String(t.port),
    targetIQN: t.iqn,
    ...(t.chap ? { chapuser: t.chap.user, chappassword: t.chap.password } : {}),
  };
}

/** The SR's sm_config: the target without its credentials (what sm's probe lists SRs by), and
 * `backend-kind` `vbd`, which the old Nova driver set for raw iSCSI SRs from XenServer 6.5 on
 * (its bug 1502929) so the LUN reaches the guest through blkback. */
function srSmConfig(t: IscsiTarget): Record<string, string> {
  return { 'backend-kind': 'vbd', target: t.host, port: String(t.port), targetIQN: t.iqn };
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Do the credentials match those a PBD of the SR logs in with? xapi keeps a device_config
 * password in a secret object (`chappassword_secret`, PBD.create moves it there); read back here
 * only to compare, in constant time. */
async function sameCredentials(
  xapi: XapiClient,
  dc: Record<string, string>,
  t: IscsiTarget,
): Promise<boolean> {
  let password = dc.chappassword;
  if (password === undefined && dc.chappassword_secret !== undefined) {
    const secretRef = await xapi.call<string>('secret.get_by_uuid', dc.chappassword_secret);
    password = await xapi.call<string>('secret.get_value', secretRef);
  }
  const want = t.chap ? `${t.chap.user}\u0000${t.chap.password}` : '';
  const have = dc.chapuser !== undefined ? `${dc.chapuser}\u0000${password ?? ''}` : '';
  return timingSafeEqual(digest(want), digest(have));
}

function lunNotFound(t: IscsiTarget): ApiError {
  return new ApiError(404, 'iscsi_lun_not_found', `the target '${t.iqn}' has no LUN ${t.lun}`);
}

/** Live hosts, from the mirror: where the VM can run, so where the SR must be plugged. */
function liveHosts(xapi: XapiClient): string[] {
  return xapi.mirror
    .query('host', { fields: ['metrics'] })
    .filter((h) => h.metrics !== NULL_REF && xapi.mirror.get('host_metrics', h.metrics)?.live)
    .map((h) => h.$ref);
}

/** What the SR of a target always carries (an SR a crash left untagged gets them on reuse). */
function srTags(t: IscsiTarget): Record<string, string> {
  return { [TAG.role]: ISCSI_ROLE.sr, [VOLUME_TAG.portal]: portalOf(t), [VOLUME_TAG.iqn]: t.iqn };
}

/** The SR's tags while an attach of `owner` works on it (reconcile.ts knows them). */
function buildingTags(owner: Owner, serviceId: string): Record<string, string> {
  return ownerTags(owner, { [TAG.state]: 'building', [TAG.owner]: serviceId });
}

interface AttachState {
  srRef?: string;
  vdiRef?: string;
}

/**
 * Attaches the LUN of `body.connection` as volume `volumeId` of the run's instance. A fault at
 * any step undoes the steps before it: the pool's SRs, PBDs, VDIs and VBDs are as they were.
 */
export async function attachIscsiVolume(
  xapi: XapiClient,
  volumeId: string,
  body: Schema<'VolumeAttachRequest'>,
  run: OpRun,
  serviceId: string,
): Promise<void> {
  const t = parseConnection(body.connection!);
  const srUuid = srUuidOf(t);
  const state: AttachState = {};
  const step = (name: string, act: (s: AttachState, ctx: StepContext) => Promise<void>) => ({
    name,
    run: act,
  });
  await runSteps<AttachState>(
    [
      step('SR.introduce', async (s, ctx) => {
        const existing = await ignoreGone(xapi.call<string>('SR.get_by_uuid', srUuid), isGone);
        if (existing) {
          s.srRef = existing;
          // Another LUN of this target is attached: its PBDs must log in as this caller would.
          for (const pbd of await pbdsOf(xapi, existing))
            if (!(await sameCredentials(xapi, pbd.device_config, t)))
              throw new ApiError(
                422,
                'iscsi_login_failed',
                `the credentials differ from those the target '${t.iqn}' is attached with`,
              );
          ctx.onUndo(
            'restore the SR tags',
            await retag(xapi, 'SR', existing, {
              ...srTags(t),
              ...buildingTags(run.owner, serviceId),
            }),
          );
          return;
        }
        const srRef = await xapi.call<string>(
          'SR.introduce',
          srUuid,
          `iSCSI ${t.iqn}`,
          `iSCSI target ${t.iqn} at ${portalOf(t)} (xen-compute-driver volumes)`,
          'iscsi',
          '',
          true,
          srSmConfig(t),
        );
        s.srRef = srRef;
        ctx.onUndo('forget the SR', async () => {
          await ignoreGone(xapi.call('SR.forget', srRef), isGone);
        });
        await xapi.call('SR.set_other_config', srRef, {
          ...srTags(t),
          ...buildingTags(run.owner, serviceId),
        });
      }),
      step('PBD.plug', async (s, ctx) => {
        const srRef = s.srRef!;
        const pbds = await pbdsOf(xapi, srRef);
        for (const hostRef of liveHosts(xapi)) {
          let pbd = pbds.find((p) => p.host === hostRef);
          if (!pbd) {
            const ref = await xapi.call<string>('PBD.create', {
              host: hostRef,
              SR: srRef,
              device_config: deviceConfig(t),
              other_config: {},
            });
            ctx.onUndo('destroy the PBD', async () => {
              await ignoreGone(xapi.call('PBD.destroy', ref), isGone);
            });
            pbd = { ref, currently_attached: false } as PBDRecord & { ref: string };
          }
          if (pbd.currently_attached) continue;
          const ref = pbd.ref;
          await xapi.callAsync('PBD.plug', [ref], { signal: ctx.signal });
          ctx.onUndo('unplug the PBD', async () => {
            await ignoreGone(xapi.call('PBD.unplug', ref), isGone);
          });
        }
      }),
      step('SR.scan', async (s, ctx) => {
        await xapi.callAsync('SR.scan', [s.srRef!], { signal: ctx.signal });
      }),
      step('VDI.find', async (s, ctx) => {
        const vdiRefs = await xapi.call<string[]>('SR.get_VDIs', s.srRef!);
        let found: (VDIRecord & { ref: string }) | undefined;
        for (const ref of vdiRefs) {
          const vdi = await ignoreGone(xapi.call<VDIRecord>('VDI.get_record', ref), isGone);
          if (vdi?.sm_config.LUNid === String(t.lun)) found = { ...vdi, ref };
        }
        if (!found) throw lunNotFound(t);
        for (const vbdRef of found.VBDs) {
          const vbd = await ignoreGone(xapi.call<VBDRecord>('VBD.get_record', vbdRef), isGone);
          if (vbd && vbd.VM !== run.vmRef)
            throw new ApiError(
              409,
              'volume_in_use',
              `LUN ${t.lun} of '${t.iqn}' is attached to another instance`,
            );
        }
        s.vdiRef = found.ref;
        ctx.onUndo(
          'restore the VDI tags',
          await retag(xapi, 'VDI', found.ref, {
            [TAG.role]: ISCSI_ROLE.vdi,
            [TAG.namespace]: run.owner.namespace,
            [VOLUME_TAG.id]: volumeId,
          }),
        );
      }),
      step('VBD.create', async (s, ctx) => {
        const vbds = await vbdsOf(xapi, run.vmRef);
        if (vbds.some((v) => v.VDI === s.vdiRef)) return; // a retry: already attached here
        const vbdRef = await createAndPlug(xapi, run, 'VBD', {
          VM: run.vmRef,
          VDI: s.vdiRef!,
          userdevice: pickDevice(vbds, body.device),
          bootable: body.bootable === true,
          mode: body.mode ?? 'RW',
          type: 'Disk',
          empty: false,
          unpluggable: true,
          other_config: ownerTags(run.owner, { [TAG.role]: 'volume', [VOLUME_TAG.id]: volumeId }),
          qos_algorithm_type: '',
          qos_algorithm_params: {},
        });
        ctx.onUndo('take the VBD away', () => removeVbd(xapi, vbdRef));
      }),
      step('SR.activate', async (s) => {
        await retag(xapi, 'SR', s.srRef!, ACTIVE_TAGS);
      }),
    ],
    state,
    run.steps,
  );
  await run.viewed(
    (v) => !!v?.disks.some((d) => d.uuid === xapi.mirror.get('VDI', state.vdiRef!)?.uuid),
  );
}

async function removeVbd(xapi: XapiClient, vbdRef: string): Promise<void> {
  const vbd = await ignoreGone(xapi.call<VBDRecord>('VBD.get_record', vbdRef), isGone);
  if (!vbd) return;
  if (vbd.currently_attached) await ignoreGone(xapi.call('VBD.unplug_force', vbdRef), isGone);
  await ignoreGone(xapi.call('VBD.destroy', vbdRef), isGone);
}

/**
 * Detaches volume `volumeId` (its VDI `vdiRef`) from the run's instance: VBD unplugged and
 * destroyed; then, when no VBD uses a VDI of its SR any more, the PBDs unplugged and destroyed
 * and the SR forgotten; otherwise the VDI's volume tags removed. A failure leaves the volume's
 * VDI tagged, so a retry of the detach finds it and finishes.
 */
export async function detachIscsiVolume(
  xapi: XapiClient,
  vdiRef: string,
  run: OpRun,
): Promise<void> {
  const vdi = await ignoreGone(xapi.call<VDIRecord>('VDI.get_record', vdiRef), isGone);
  if (!vdi) return;
  for (const vbd of await vbdsOf(xapi, run.vmRef)) {
    if (vbd.VDI !== vdiRef) continue;
    if (vbd.currently_attached)
      await xapi.callAsync('VBD.unplug', [vbd.ref], {
        signal: run.signal,
        onProgress: (f) => run.onProgress(f * 0.5, 'VBD.unplug'),
      });
    await ignoreGone(xapi.call('VBD.destroy', vbd.ref), isGone);
  }
  await releaseIscsiVolume(xapi, vdiRef, run.mirrorWaitMs);
}

/**
 * The end of a detach, once no VBD of the instance holds the volume's VDI `vdiRef` (also after
 * its instance was destroyed with it attached): when no VBD uses a VDI of its SR any more, the
 * PBDs unplugged and destroyed and the SR forgotten; otherwise the VDI's volume tags removed.
 * Run it in the SR's iscsiTurn.
 */
export async function releaseIscsiVolume(
  xapi: XapiClient,
  vdiRef: string,
  mirrorWaitMs: number,
): Promise<void> {
  const vdi = await ignoreGone(xapi.call<VDIRecord>('VDI.get_record', vdiRef), isGone);
  if (!vdi) return;
  const srRef = vdi.SR;
  const sr = await ignoreGone(xapi.call<SRRecord>('SR.get_record', srRef), isGone);
  if (!sr || sr.other_config[TAG.role] !== ISCSI_ROLE.sr) return;
  let used = false;
  for (const ref of sr.VDIs) {
    const vbds = await ignoreGone(xapi.call<string[]>('VDI.get_VBDs', ref), isGone);
    if (vbds && vbds.length > 0) used = true;
  }
  if (used) {
    await retag(xapi, 'VDI', vdiRef, {
      [TAG.role]: undefined,
      [TAG.namespace]: undefined,
      [VOLUME_TAG.id]: undefined,
    });
  } else {
    await forgetIscsiSr(xapi, srRef);
  }
  // Reads answer from the mirror: the volume is gone once its VDI is (or is untagged).
  await waitForMirror(
    xapi.mirror,
    () => xapi.mirror.get('VDI', vdiRef)?.other_config[VOLUME_TAG.id] === undefined,
    mirrorWaitMs,
  );
}
