// The simulated iSCSI fabric: targets tests register (portal, IQN, LUNs, CHAP, initiators) and
// what xapi's storage manager answers for `iscsi` / `lvmoiscsi` SRs: PBD login (SR_BACKEND_FAILURE
// codes of sm's XE_SR_ERRORCODES.xml), SR.scan (a VDI per LUN), SR.probe (sm's XML). Defines no
// messages (storage.ts calls in) and changes SR and VDI records only.
import { createHash } from 'node:crypto';
import { XapiFault } from '../engine/fault';
import type { Rec, Store } from '../engine/store';
import { configPassword } from './secret';
import { VDI_IDLE_OPS } from './vbd';
import { linkRef } from './vm-lifecycle';

export interface IscsiLun {
  lun: number;
  sizeBytes: number;
  /** The LUN's SCSI id (default: derived from the target IQN and LUN number). */
  scsiId?: string;
}

export interface IscsiTargetSpec {
  /** 'host:port' (port 3260 when left out). */
  portal: string;
  iqn: string;
  luns: IscsiLun[];
  /** When set, a login must present exactly these credentials. */
  chap?: { user: string; password: string };
  /** When set, only these initiator IQNs (host.iscsi_iqn) may log in. */
  initiators?: string[];
}

/** The SR types whose PBDs log in to an iSCSI target. */
export const ISCSI_SR_TYPES = ['iscsi', 'lvmoiscsi'] as const;
const DEFAULT_PORT = 3260;

/** sm's error of that number, as xapi raises it: SR_BACKEND_FAILURE_<n> [status, stdout, stderr]. */
function smError(n: number, text: string, stderr = ''): XapiFault {
  return new XapiFault(`SR_BACKEND_FAILURE_${n}`, ['', text, stderr]);
}

export function normalPortal(portal: string): string {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(portal.trim());
  if (!m) return portal;
  return `${m[1]!.toLowerCase()}:${m[2] ?? DEFAULT_PORT}`;
}

/** The simulated targets of one pool (per Store): the test knob behind handle.iscsi. */
export class IscsiTargets {
  private readonly targets = new Map<string, IscsiTargetSpec>();

  private key(portal: string, iqn: string): string {
    return `${normalPortal(portal)} ${iqn}`;
  }

  /** Registers (or replaces) a target; throws on a malformed one (it may come as JSON). */
  add(spec: IscsiTargetSpec): void {
    const str = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
    if (!spec || !str(spec.portal) || !str(spec.iqn) || !Array.isArray(spec.luns))
      throw new Error('iscsi: a target needs portal, iqn and luns');
    if (spec.chap && (typeof spec.chap.user !== 'string' || typeof spec.chap.password !== 'string'))
      throw new Error('iscsi: chap needs user and password');
    if (spec.initiators && !(Array.isArray(spec.initiators) && spec.initiators.every(str)))
      throw new Error('iscsi: initiators must be IQNs');
    for (const l of spec.luns)
      if (!l || !Number.isInteger(l.lun) || l.lun < 0 || !(Number(l.sizeBytes) > 0))
        throw new Error(`iscsi: bad LUN ${JSON.stringify(l)}`);
    this.targets.set(this.key(spec.portal, spec.iqn), {
      ...spec,
      luns: spec.luns.map((l) => ({ ...l })),
    });
  }

  remove(portal: string, iqn: string): boolean {
    return this.targets.delete(this.key(portal, iqn));
  }

  list(): IscsiTargetSpec[] {
    return [...this.targets.values()];
  }

  /** The target at the portal with that IQN, when registered. */
  find(portal: string, iqn: string): IscsiTargetSpec | undefined {
    return this.targets.get(this.key(portal, iqn));
  }

  /** Does any target listen on the portal? */
  listens(portal: string): boolean {
    const p = normalPortal(portal);
    return this.list().some((t) => normalPortal(t.portal) === p);
  }
}

const registries = new WeakMap<Store, IscsiTargets>();

export function iscsiTargetsOf(store: Store): IscsiTargets {
  let r = registries.get(store);
  if (!r) {
    r = new IscsiTargets();
    registries.set(store, r);
  }
  return r;
}

export function scsiIdOf(target: IscsiTargetSpec, lun: IscsiLun): string {
  if (lun.scsiId) return lun.scsiId;
  const h = createHash('sha1').update(`${target.iqn}/${lun.lun}`).digest('hex');
  return `36${h.slice(0, 31)}`;
}

/** RawISCSISR's VDI uuid: derived from the LUN's SCSI id, the same on every scan. */
function vdiUuidOf(scsiId: string): string {
  const h = createHash('sha1').update(`lun:${scsiId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * What the storage manager does when a PBD of an iSCSI SR is plugged on `hostRef`: checks the
 * device_config (BaseISCSI.load), reaches the portal (ISCSITarget 141), discovers the IQN
 * (ISCSIDiscovery 83), logs in with the CHAP credentials and the host's initiator (ISCSILogin
 * 68) and, for lvmoiscsi, finds the SCSIid (ConfigSCSIid 107). Throws the sm error, or returns
 * the target.
 */
export function loginTarget(store: Store, hostRef: string, deviceConfig: Rec): IscsiTargetSpec {
  const dc = deviceConfig as Record<string, string | undefined>;
  if (!dc.target) throw smError(95, 'The request is missing the target parameter');
  const port = dc.port ?? String(DEFAULT_PORT);
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    throw smError(142, 'Incorrect value for iSCSI port, must be a number between 1 and 65535');
  const host = store.get('host', hostRef);
  const initiator = String(host.iscsi_iqn || (host.other_config as Rec).iscsi_iqn || '');
  if (!initiator)
    throw smError(97, 'Unable to retrieve the host configuration ISCSI IQN parameter');
  if (!dc.targetIQN)
    throw smError(96, 'The request is missing or has an incorrect target IQN parameter');
  const registry = iscsiTargetsOf(store);
  const portal = `${dc.target.includes(':') ? `[${dc.target}]` : dc.target}:${port}`;
  if (!registry.listens(portal)) throw smError(141, 'Unable to connect to ISCSI service on target');
  const target = registry.find(portal, dc.targetIQN);
  if (!target) throw smError(83, 'ISCSI discovery failed [opterr=check target settings]');
  const chapOk =
    !target.chap ||
    (dc.chapuser === target.chap.user &&
      configPassword(store, deviceConfig, 'chappassword') === target.chap.password);
  const initiatorOk = !target.initiators || target.initiators.includes(initiator);
  if (!chapOk || !initiatorOk)
    throw smError(
      68,
      'ISCSI login failed - check access settings for the initiator on the storage, if CHAP is used verify CHAP credentials',
    );
  if (dc.SCSIid !== undefined && !target.luns.some((l) => scsiIdOf(target, l) === dc.SCSIid))
    throw smError(107, 'The SCSIid parameter is missing or incorrect');
  return target;
}

/**
 * SR.scan of an `iscsi` SR (LUN per VDI): a VDI for every LUN of the target its attached PBD
 * logs in to, each with sm_config LUNid and SCSIid and a uuid derived from the SCSI id; the
 * SR's sizes become the LUNs' total. LUNs already known keep their VDI.
 */
export function scanIscsiSr(store: Store, srRef: string, deviceConfig: Rec, hostRef: string): void {
  const target = loginTarget(store, hostRef, deviceConfig);
  const sr = store.get('SR', srRef);
  const known = new Set(
    (sr.VDIs as string[]).map((v) => (store.find('VDI', v)?.sm_config as Rec | undefined)?.SCSIid),
  );
  let total = 0;
  for (const lun of target.luns) {
    total += lun.sizeBytes;
    const scsiId = scsiIdOf(target, lun);
    if (known.has(scsiId)) continue;
    const uuid = vdiUuidOf(scsiId);
    if (store.byUuid('VDI', uuid)) continue; // the same LUN through another SR
    const ref = store.create('VDI', {
      uuid,
      SR: srRef,
      name_label: `LUN${lun.lun}`,
      name_description: `${target.iqn} LUN ${lun.lun}`,
      type: 'user',
      sharable: false,
      read_only: false,
      managed: true,
      virtual_size: lun.sizeBytes,
      physical_utilisation: lun.sizeBytes,
      location: scsiId,
      sm_config: { LUNid: String(lun.lun), SCSIid: scsiId },
      allowed_operations: VDI_IDLE_OPS,
    });
    linkRef(store, 'SR', srRef, 'VDIs', ref);
  }
  store.update('SR', srRef, {
    physical_size: total,
    physical_utilisation: total,
    virtual_allocation: total,
  });
}

export function isIscsiSr(sr: Rec): boolean {
  return (ISCSI_SR_TYPES as readonly string[]).includes(String(sr.type));
}

const xmlText = (v: string): string =>
  v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * SR.probe of an `iscsi` / `lvmoiscsi` SR type, as sm answers it: without targetIQN, error 96
 * whose stderr lists the portal's IQNs (`<iscsi-target-iqns>`); an lvmoiscsi probe without
 * SCSIid logs in and fails with 107 listing the target's LUNs (`<iscsi-target>`); otherwise the
 * `<SRlist>` of the SRs whose sm_config names the target IQN.
 */
export function probeIscsi(store: Store, hostRef: string, type: string, deviceConfig: Rec): string {
  const dc = deviceConfig as Record<string, string | undefined>;
  if (!dc.target) throw smError(95, 'The request is missing the target parameter');
  const portal = `${dc.target.includes(':') ? `[${dc.target}]` : dc.target}:${dc.port ?? DEFAULT_PORT}`;
  const registry = iscsiTargetsOf(store);
  if (!registry.listens(portal)) throw smError(141, 'Unable to connect to ISCSI service on target');
  if (!dc.targetIQN) {
    const p = normalPortal(portal);
    const tgts = registry
      .list()
      .filter((t) => normalPortal(t.portal) === p)
      .map(
        (t, i) =>
          `<TGT><Index>${i}</Index><IPAddress>${xmlText(dc.target!)}</IPAddress>` +
          `<TargetIQN>${xmlText(t.iqn)}</TargetIQN></TGT>`,
      );
    throw smError(
      96,
      'The request is missing or has an incorrect target IQN parameter',
      `<?xml version="1.0" ?><iscsi-target-iqns>${tgts.join('')}</iscsi-target-iqns>`,
    );
  }
  if (type === 'lvmoiscsi') {
    const target = loginTarget(store, hostRef, deviceConfig);
    if (dc.SCSIid === undefined) {
      const luns = target.luns.map(
        (l) =>
          `<LUN><vendor>SIM</vendor><serial></serial><LUNid>${l.lun}</LUNid>` +
          `<size>${l.sizeBytes}</size><SCSIid>${scsiIdOf(target, l)}</SCSIid></LUN>`,
      );
      throw smError(
        107,
        'The SCSIid parameter is missing or incorrect',
        `<?xml version="1.0" ?><iscsi-target>${luns.join('')}</iscsi-target>`,
      );
    }
  }
  const srs: string[] = [];
  for (const sr of store.all('SR').values()) {
    const sm = sr.sm_config as Record<string, string>;
    if (sm.targetIQN === dc.targetIQN)
      srs.push(
        `<SR><UUID>${xmlText(String(sr.uuid))}</UUID><Target>${xmlText(sm.target ?? '')}</Target>` +
          `<TargetIQN>${xmlText(sm.targetIQN)}</TargetIQN></SR>`,
      );
  }
  return `<?xml version="1.0" ?><SRlist>${srs.join('')}</SRlist>`;
}
