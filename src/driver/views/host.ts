// The pool seen as one compute node (the REST contract's Host), from the mirror only: identity,
// Xen version as an integer, vCPU / memory / disk totals over the live hosts and a per-host
// breakdown with each host's iSCSI initiator IQN. Never calls XAPI and never counts the control
// domains as instances.
import type { MirrorView } from '../../xapi';
import { defaultSrRef } from './catalogue';
import type { Schema } from '../types';
import { NULL_REF } from '../../xapi/ref';
import { MiB, GiB } from '../../xapi/units';

/** '4.17.2' -> 4017002 (Nova's convert_version_to_int); garbage -> 0. */
export function versionToInt(version: string | undefined): number {
  const parts = (version ?? '')
    .split(/[.-]/)
    .slice(0, 3)
    .map((p) => parseInt(p, 10));
  if (parts.length === 0 || parts.some((p) => !Number.isFinite(p))) return 0;
  while (parts.length < 3) parts.push(0);
  return parts[0]! * 1_000_000 + parts[1]! * 1_000 + parts[2]!;
}

/** A host's CPU figures from its host_cpu records (none mirrored: no figures). */
function cpuFigures(
  acc: { usage: number; n: number; speed: number } | undefined,
): Pick<Schema<'HostSummary'>, 'cpu_usage' | 'cpu_speed_mhz'> {
  if (!acc || acc.n === 0) return {};
  return {
    cpu_usage: Math.min(1, Math.max(0, acc.usage / acc.n)),
    cpu_speed_mhz: Math.round(acc.speed),
  };
}

export function hostView(mirror: MirrorView): Schema<'Host'> {
  const pool = mirror.query('pool', { fields: ['uuid', 'master'] })[0];
  const hosts = mirror.query('host', {
    fields: [
      'uuid',
      'name_label',
      'hostname',
      'address',
      'iscsi_iqn',
      'enabled',
      'metrics',
      'cpu_info',
      'software_version',
      'other_config',
    ],
  });
  const running = mirror.query('VM', {
    where: { power_state: 'Running', is_control_domain: false },
    fields: ['VCPUs_at_startup', 'resident_on'],
  });
  const cpuOf = new Map<string, { usage: number; n: number; speed: number }>();
  for (const c of mirror.query('host_cpu', { fields: ['host', 'utilisation', 'speed'] })) {
    const acc = cpuOf.get(c.host) ?? { usage: 0, n: 0, speed: 0 };
    acc.usage += Number(c.utilisation) || 0;
    acc.n += 1;
    acc.speed = Math.max(acc.speed, Number(c.speed) || 0);
    cpuOf.set(c.host, acc);
  }
  const perHost = new Map<string, { vcpus: number; count: number }>();
  for (const vm of running) {
    const h = perHost.get(vm.resident_on) ?? { vcpus: 0, count: 0 };
    h.vcpus += Number(vm.VCPUs_at_startup) || 0;
    h.count += 1;
    perHost.set(vm.resident_on, h);
  }

  const summaries: Array<Schema<'HostSummary'>> = [];
  const totals = { vcpus: 0, vcpusUsed: 0, memTotal: 0, memFree: 0 };
  for (const h of hosts) {
    const metrics = h.metrics !== NULL_REF ? mirror.get('host_metrics', h.metrics) : undefined;
    const live = metrics?.live ?? false;
    const cpus = parseInt(h.cpu_info?.cpu_count ?? '0', 10) || 0;
    const memTotal = Math.floor(Number(metrics?.memory_total ?? 0) / MiB);
    const memFree = Math.floor(Number(metrics?.memory_free ?? 0) / MiB);
    const use = perHost.get(h.$ref) ?? { vcpus: 0, count: 0 };
    summaries.push({
      uuid: h.uuid,
      name: h.name_label,
      address: h.address,
      iscsi_iqn: h.iscsi_iqn || h.other_config?.iscsi_iqn || '',
      enabled: h.enabled,
      live,
      master: pool?.master === h.$ref,
      vcpus: { total: cpus, used: use.vcpus },
      memory_mb: { total: memTotal, used: Math.max(0, memTotal - memFree), free: memFree },
      running_instances: use.count,
      ...cpuFigures(cpuOf.get(h.$ref)),
    });
    if (!live) continue;
    totals.vcpus += cpus;
    totals.vcpusUsed += use.vcpus;
    totals.memTotal += memTotal;
    totals.memFree += memFree;
  }

  const master = hosts.find((h) => h.$ref === pool?.master) ?? hosts[0];
  const sv = master?.software_version ?? {};
  const xenVersion = sv.xen ?? sv.xen_version ?? '';
  const bootTime = Number(master?.other_config?.boot_time ?? NaN);

  // Disk: the SRs of the default SR's kind (or every non-ISO SR when there is no default).
  const def = defaultSrRef(mirror);
  const srRows = mirror.query('SR', {
    fields: ['type', 'content_type', 'physical_size', 'physical_utilisation'],
  });
  const defType = srRows.find((s) => s.$ref === def)?.type;
  let diskTotal = 0;
  let diskUsed = 0;
  for (const sr of srRows) {
    const usable =
      defType !== undefined
        ? sr.type === defType
        : sr.content_type !== 'iso' && sr.type !== 'iso' && sr.type !== 'udev';
    if (!usable) continue;
    diskTotal += Number(sr.physical_size) || 0;
    diskUsed += Number(sr.physical_utilisation) || 0;
  }
  const diskTotalGb = Math.floor(diskTotal / GiB);
  const diskUsedGb = Math.ceil(diskUsed / GiB);

  const cpuInfo: Record<string, unknown> = { ...(master?.cpu_info ?? {}), arch: 'x86_64' };
  cpuInfo.topology = {
    sockets: parseInt(master?.cpu_info?.socket_count ?? '1', 10) || 1,
    cores: parseInt(master?.cpu_info?.cpu_count ?? '0', 10) || 0,
    threads: 1,
  };

  return {
    uuid: pool?.uuid ?? master?.uuid ?? '',
    hostname: master?.hostname || master?.name_label || '',
    host_ip: master?.address ?? '',
    hypervisor_type: 'xen',
    hypervisor_version: versionToInt(xenVersion || sv.product_version),
    product: {
      name: sv.product_brand ?? sv.platform_name ?? 'XAPI',
      version: sv.product_version ?? sv.platform_version ?? '',
      ...(xenVersion ? { xen_version: xenVersion } : {}),
    },
    vcpus: { total: totals.vcpus, used: totals.vcpusUsed },
    memory_mb: {
      total: totals.memTotal,
      used: Math.max(0, totals.memTotal - totals.memFree),
      free: totals.memFree,
    },
    disk_gb: { total: diskTotalGb, used: diskUsedGb, free: Math.max(0, diskTotalGb - diskUsedGb) },
    cpu_info: cpuInfo,
    supported_instances: [
      ['x86_64', 'xen', 'hvm'],
      ['x86_64', 'xen', 'xen'],
    ],
    hosts: summaries,
    uptime: Number.isFinite(bootTime) ? Math.max(0, Math.floor(Date.now() / 1000 - bootTime)) : 0,
  };
}
