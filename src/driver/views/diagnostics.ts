// Diagnostics of an instance (Nova's get_instance_diagnostics): vCPU, memory, disk and NIC
// figures from the mirror's VM_metrics, VM_guest_metrics, VBD, VDI and VIF records. Read-only;
// makes no XAPI call.
import type { MirrorView } from '../../xapi';
import type { VMRecord } from '../../xapi/datamodel.generated';
import { sizeGb } from '../../xapi/units';
import { normalizePowerState } from '../power-states';
import type { Schema } from '../types';
import { NULL_REF } from '../../xapi/ref';
import { MiB } from '../../xapi/units';

type VmRec = VMRecord & { $ref: string };

function toDate(d: unknown): Date | undefined {
  const t = d instanceof Date ? d.getTime() : Date.parse(String(d ?? ''));
  return Number.isNaN(t) || t <= 0 ? undefined : new Date(t);
}

export function diagnostics(
  mirror: MirrorView,
  instanceId: string,
  vm: VmRec,
): Schema<'Diagnostics'> {
  const live = vm.power_state === 'Running' || vm.power_state === 'Paused';
  const metrics = vm.metrics !== NULL_REF ? mirror.get('VM_metrics', vm.metrics) : undefined;
  const guest =
    vm.guest_metrics && vm.guest_metrics !== NULL_REF
      ? mirror.get('VM_guest_metrics', vm.guest_metrics)
      : undefined;

  const cpus: Schema<'Diagnostics'>['cpus'] = [];
  if (live && metrics) {
    const util = (metrics.VCPUs_utilisation ?? {}) as Record<string, number>;
    const where = (metrics.VCPUs_CPU ?? {}) as Record<string, number>;
    const n = Number(metrics.VCPUs_number) || Object.keys(util).length;
    for (let i = 0; i < n; i++)
      cpus.push({
        id: i,
        utilisation: Number(util[String(i)] ?? 0),
        ...(where[String(i)] !== undefined ? { pcpu: Number(where[String(i)]) } : {}),
      });
  }
  const start = live ? toDate(metrics?.start_time) : undefined;

  const ipsByDevice = new Map<string, string[]>();
  for (const [key, value] of Object.entries((guest?.networks ?? {}) as Record<string, string>)) {
    const device = key.split('/')[0];
    ipsByDevice.set(device, [...(ipsByDevice.get(device) ?? []), value]);
  }

  const disks: Schema<'Diagnostics'>['disks'] = [];
  for (const vbdRef of vm.VBDs) {
    const vbd = mirror.get('VBD', vbdRef);
    if (!vbd || vbd.type !== 'Disk') continue;
    const vdi = vbd.VDI !== NULL_REF ? mirror.get('VDI', vbd.VDI) : undefined;
    disks.push({
      device: vbd.userdevice,
      uuid: vdi?.uuid ?? '',
      size_gb: vdi ? sizeGb(vdi.virtual_size) : 0,
      ...(vdi ? { used_gb: sizeGb(vdi.physical_utilisation) } : {}),
      attached: vbd.currently_attached,
    });
  }
  disks.sort((a, b) => Number(a.device) - Number(b.device));

  const nics: Schema<'Diagnostics'>['nics'] = [];
  for (const vifRef of vm.VIFs) {
    const vif = mirror.get('VIF', vifRef);
    if (!vif) continue;
    nics.push({
      device: vif.device,
      mac: vif.MAC,
      network: mirror.get('network', vif.network)?.uuid ?? '',
      attached: vif.currently_attached,
      ips: ipsByDevice.get(vif.device) ?? [],
    });
  }
  nics.sort((a, b) => Number(a.device) - Number(b.device));

  const guestFree = Number((guest?.memory as Record<string, string> | undefined)?.free);
  const updated = toDate(guest?.last_updated);
  return {
    instance_id: instanceId,
    power_state: normalizePowerState(vm.power_state),
    driver: 'xen',
    ...(metrics?.current_domain_type ? { domain_type: String(metrics.current_domain_type) } : {}),
    uptime_s: start ? Math.max(0, Math.floor((Date.now() - start.getTime()) / 1000)) : 0,
    cpus,
    memory: {
      actual_mb: live && metrics ? Math.round(Number(metrics.memory_actual) / MiB) : 0,
      target_mb: Math.round(Number(vm.memory_target) / MiB),
      max_mb: Math.round(Number(vm.memory_static_max) / MiB),
      ...(Number.isFinite(guestFree) ? { guest_free_mb: Math.round(guestFree / 1024) } : {}),
    },
    disks,
    nics,
    guest: guest
      ? {
          os: (guest.os_version ?? {}) as Record<string, string>,
          pv_drivers_version: (guest.PV_drivers_version ?? {}) as Record<string, string>,
          live: guest.live === true,
          ...(updated ? { last_updated: updated.toISOString() } : {}),
        }
      : null,
  };
}
