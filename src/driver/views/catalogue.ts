// What a spawn can name, read from the mirror: templates (not snapshots), networks and SRs in
// the REST contract's shapes. Never calls XAPI and never filters by namespace (the catalogue is
// the pool's, like `xe template-list`; the SRs of iSCSI volumes are not part of it).
import type { MirrorView } from '../../xapi';
import { NETWORK_TAG, TAG, isIscsiSr } from '../tags';
import type { Schema } from '../types';
import { NULL_REF } from '../../xapi/ref';
import { MiB, GiB } from '../../xapi/units';

/** Size of the root disk a template's provision XML describes (device 0), in GiB. */
function templateDiskGb(disksXml: string | undefined): number | undefined {
  if (!disksXml) return undefined;
  for (const tag of disksXml.match(/<disk\b[^>]*>/g) ?? []) {
    if (/\bdevice="0"/.test(tag)) {
      const size = Number(/\bsize="(\d+)"/.exec(tag)?.[1]);
      if (Number.isFinite(size)) return Math.ceil(size / GiB);
    }
  }
  return undefined;
}

export function templates(mirror: MirrorView): Array<Schema<'Template'>> {
  return mirror
    .query('VM', {
      where: { is_a_template: true, is_a_snapshot: false },
      fields: [
        'uuid',
        'name_label',
        'name_description',
        'other_config',
        'is_default_template',
        'VCPUs_at_startup',
        'memory_static_max',
      ],
    })
    .filter((t) => t.other_config?.[TAG.state] !== 'building') // a spawn's clone, mid-build
    .map((t) => {
      const out: Schema<'Template'> = {
        uuid: t.uuid,
        name_label: t.name_label,
        name_description: t.name_description,
        default_template: t.is_default_template || t.other_config?.default_template === 'true',
        vcpus: Number(t.VCPUs_at_startup),
        memory_mb: Math.round(Number(t.memory_static_max) / MiB),
      };
      const disk = templateDiskGb(t.other_config?.disks);
      if (disk !== undefined) out.disk_gb = disk;
      return out;
    })
    .sort((a, b) => a.name_label.localeCompare(b.name_label));
}

export function networks(mirror: MirrorView): Array<Schema<'Network'>> {
  return mirror
    .query('network', {
      fields: ['uuid', 'name_label', 'name_description', 'bridge', 'MTU', 'other_config'],
    })
    .map((n) => {
      const managed = n.other_config?.[NETWORK_TAG.managed] === 'true';
      const vlan = Number(n.other_config?.[NETWORK_TAG.vlan]);
      return {
        uuid: n.uuid,
        name_label: n.name_label,
        name_description: n.name_description,
        bridge: n.bridge,
        mtu: Number(n.MTU),
        managed,
        ...(managed && Number.isInteger(vlan) ? { vlan } : {}),
      };
    })
    .sort((a, b) => a.name_label.localeCompare(b.name_label));
}

export function defaultSrRef(mirror: MirrorView): string | undefined {
  const pool = mirror.query('pool', { fields: ['default_SR'] })[0];
  return pool && pool.default_SR !== NULL_REF ? pool.default_SR : undefined;
}

/** The pool's SRs, without those the service introduced for iSCSI volumes: they hold one
 * namespace's LUNs, are no place for new disks, and their targets are nobody else's business. */
export function srs(mirror: MirrorView): Array<Schema<'SR'>> {
  const def = defaultSrRef(mirror);
  return mirror
    .query('SR', {
      fields: [
        'uuid',
        'name_label',
        'name_description',
        'type',
        'content_type',
        'shared',
        'physical_size',
        'physical_utilisation',
        'other_config',
      ],
    })
    .filter((sr) => !isIscsiSr(sr.other_config))
    .map((sr) => {
      const size = Math.floor(Number(sr.physical_size) / GiB);
      const used = Math.ceil(Number(sr.physical_utilisation) / GiB);
      return {
        uuid: sr.uuid,
        name_label: sr.name_label,
        name_description: sr.name_description,
        type: sr.type,
        content_type: sr.content_type,
        shared: sr.shared,
        default: sr.$ref === def,
        size_gb: size,
        used_gb: used,
        free_gb: Math.max(0, size - used),
      };
    })
    .sort((a, b) => a.name_label.localeCompare(b.name_label));
}
