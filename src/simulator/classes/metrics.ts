// VM_metrics and VM_guest_metrics values that move with the VM: memory_actual, VCPUs_number,
// start_time (uptime), state, and a guest agent report while the VM runs. Called by the VM
// lifecycle on power transitions; it never changes power states or host accounting itself.
import { isNull, now } from './vm-lifecycle';
import type { Rec, Store } from '../engine/store';

export function createVmMetrics(store: Store, vmRec: Rec, installTime = now()): string {
  return store.create('VM_metrics', {
    memory_actual: 0,
    VCPUs_number: vmRec.VCPUs_at_startup as number,
    install_time: installTime,
    last_updated: installTime,
    hvm: vmRec.HVM_boot_policy !== '',
    current_domain_type: 'unspecified',
  });
}

function vcpuMaps(n: number): { util: Record<string, number>; cpu: Record<string, number> } {
  const util: Record<string, number> = {};
  const cpu: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    util[String(i)] = 0.02 + ((i * 7) % 10) / 100;
    cpu[String(i)] = i;
  }
  return { util, cpu };
}

/** A /16 address derived from the VM uuid, so a VM keeps its IP across boots. */
function guestIp(vmUuid: string, device: string): string {
  const hex = vmUuid.replace(/-/g, '');
  const a = parseInt(hex.slice(0, 2), 16);
  const b = (parseInt(hex.slice(2, 4), 16) % 253) + 1;
  return `10.${20 + Number(device)}.${a}.${b}`;
}

/** The VM got a domain (start, resume, reboot): metrics move, the guest agent reports. */
export function metricsOnRunning(store: Store, vmRef: string, fresh: boolean): void {
  const vmRec = store.get('VM', vmRef);
  const n = vmRec.VCPUs_at_startup as number;
  const { util, cpu } = vcpuMaps(n);
  const domainType =
    vmRec.domain_type === 'unspecified'
      ? vmRec.HVM_boot_policy
        ? 'hvm'
        : 'pv'
      : vmRec.domain_type;
  const t = now();
  const patch: Rec = {
    memory_actual: vmRec.memory_target as number,
    VCPUs_number: n,
    VCPUs_utilisation: util,
    VCPUs_CPU: cpu,
    state: [vmRec.power_state === 'Paused' ? 'paused' : 'running'],
    last_updated: t,
    current_domain_type: domainType,
  };
  if (fresh) patch.start_time = t;
  if (store.has('VM_metrics', vmRec.metrics as string))
    store.update('VM_metrics', vmRec.metrics as string, patch);
  if (vmRec.is_control_domain) return;
  const networks: Record<string, string> = {};
  for (const vifRef of vmRec.VIFs as string[]) {
    const vif = store.find('VIF', vifRef);
    if (vif)
      networks[`${String(vif.device)}/ip`] = guestIp(vmRec.uuid as string, String(vif.device));
  }
  const gm: Rec = {
    os_version: {
      name: 'Debian GNU/Linux 12 (bookworm)',
      distro: 'debian',
      major: '12',
      minor: '5',
      uname: '6.1.0-18-amd64',
    },
    PV_drivers_version: { major: '8', minor: '4', micro: '0', build: '1' },
    PV_drivers_up_to_date: true,
    PV_drivers_detected: true,
    networks,
    memory: {},
    disks: {},
    other: {
      'feature-shutdown': '1',
      'feature-suspend': '1',
      'feature-vcpu-hotplug': '1',
      has_vendor_device: '0',
    },
    live: true,
    can_use_hotplug_vbd: 'yes',
    can_use_hotplug_vif: 'yes',
    last_updated: t,
  };
  if (
    !isNull(vmRec.guest_metrics) &&
    store.has('VM_guest_metrics', vmRec.guest_metrics as string)
  ) {
    store.update('VM_guest_metrics', vmRec.guest_metrics as string, gm);
  } else {
    store.update('VM', vmRef, { guest_metrics: store.create('VM_guest_metrics', gm) });
  }
}

export function metricsOnPaused(store: Store, vmRef: string, paused: boolean): void {
  const vmRec = store.get('VM', vmRef);
  if (!store.has('VM_metrics', vmRec.metrics as string)) return;
  store.update('VM_metrics', vmRec.metrics as string, {
    state: [paused ? 'paused' : 'running'],
    last_updated: now(),
  });
}

/** The domain went away (halt, suspend): memory and vCPUs drop, the guest report goes. */
export function metricsOnStopped(store: Store, vmRef: string): void {
  const vmRec = store.get('VM', vmRef);
  if (store.has('VM_metrics', vmRec.metrics as string)) {
    store.update('VM_metrics', vmRec.metrics as string, {
      memory_actual: 0,
      VCPUs_utilisation: {},
      VCPUs_CPU: {},
      state: [],
      last_updated: now(),
    });
  }
  if (!isNull(vmRec.guest_metrics)) {
    if (store.has('VM_guest_metrics', vmRec.guest_metrics as string)) {
      store.destroy('VM_guest_metrics', vmRec.guest_metrics as string);
    }
    store.update('VM', vmRef, { guest_metrics: 'OpaqueRef:NULL' });
  }
}

/** Memory changed on a running VM (set_memory_dynamic_range / set_memory_target). */
export function metricsOnMemory(store: Store, vmRef: string): void {
  const vmRec = store.get('VM', vmRef);
  if (!store.has('VM_metrics', vmRec.metrics as string)) return;
  store.update('VM_metrics', vmRec.metrics as string, {
    memory_actual: vmRec.memory_target as number,
    last_updated: now(),
  });
}

export function metricsOnVcpus(store: Store, vmRef: string): void {
  const vmRec = store.get('VM', vmRef);
  if (!store.has('VM_metrics', vmRec.metrics as string)) return;
  const n = vmRec.VCPUs_at_startup as number;
  const { util, cpu } = vcpuMaps(n);
  store.update('VM_metrics', vmRec.metrics as string, {
    VCPUs_number: n,
    VCPUs_utilisation: util,
    VCPUs_CPU: cpu,
    last_updated: now(),
  });
}
