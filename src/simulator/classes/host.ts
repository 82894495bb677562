// Hosts and the pool: memory accounting (what resident VMs use, host_metrics.memory_free),
// host liveness and enablement (HOST_OFFLINE, HOST_DISABLED), the choice of a host for a VM
// to start on, and the host.* messages (call_plugin has a console plugin only where
// host.other_config.sim_plugins lists it). It never changes VM power states (vm.ts does).
import { deflateSync } from 'node:zlib';
import { XapiFault } from '../engine/fault';
import { defineMessage, type CallContext, type SimContext } from '../engine/registry';
import { isNull, linkRef, now, unlinkRef } from './vm-lifecycle';
import type { Rec, Store } from '../engine/store';

/** Bytes a VM occupies on its host while it has a domain: its target plus overhead. */
export function vmFootprint(vmRec: Rec): number {
  const target = (vmRec.memory_target as number) || (vmRec.memory_dynamic_max as number);
  return target + ((vmRec.memory_overhead as number) || 0);
}

/** What starting this VM needs (xapi: dynamic_max plus overhead). */
export function vmStartMemory(vmRec: Rec): number {
  return (vmRec.memory_dynamic_max as number) + ((vmRec.memory_overhead as number) || 0);
}

/** xapi-style overhead estimate: ~1% of static_max plus 1 MiB per vCPU, MiB aligned. */
export function computeMemoryOverhead(vmRec: Rec): number {
  const mib = 1024 * 1024;
  const raw =
    Math.ceil((vmRec.memory_static_max as number) / 128) + (vmRec.VCPUs_max as number) * mib;
  return Math.ceil(raw / mib) * mib;
}

export function hostFreeMemory(store: Store, hostRef: string): number {
  const hostRec = store.get('host', hostRef);
  const metrics = store.find('host_metrics', hostRec.metrics as string);
  const total = metrics ? (metrics.memory_total as number) : 0;
  let used = (hostRec.memory_overhead as number) || 0;
  for (const vmRef of hostRec.resident_VMs as string[]) {
    const vmRec = store.find('VM', vmRef);
    if (vmRec) used += vmFootprint(vmRec);
  }
  return Math.max(0, total - used);
}

/** Recompute host_metrics.memory_free from the resident VMs. */
export function refreshHostMemory(store: Store, hostRef: string): void {
  const hostRec = store.find('host', hostRef);
  if (!hostRec || isNull(hostRec.metrics)) return;
  const free = hostFreeMemory(store, hostRef);
  const metrics = store.find('host_metrics', hostRec.metrics as string);
  if (!metrics || metrics.memory_free === free) return;
  store.update('host_metrics', hostRec.metrics as string, {
    memory_free: free,
    last_updated: now(),
  });
}

export function setResident(store: Store, vmRef: string, hostRef: string): void {
  const vmRec = store.get('VM', vmRef);
  const old = vmRec.resident_on as string;
  if (old === hostRef) return;
  store.update('VM', vmRef, {
    resident_on: hostRef,
    scheduled_to_be_resident_on: 'OpaqueRef:NULL',
  });
  if (!isNull(old)) {
    unlinkRef(store, 'host', old, 'resident_VMs', vmRef);
    refreshHostMemory(store, old);
  }
  if (!isNull(hostRef)) {
    linkRef(store, 'host', hostRef, 'resident_VMs', vmRef);
    refreshHostMemory(store, hostRef);
  }
}

export function isHostLive(sim: SimContext, hostRef: string): boolean {
  const info = sim.hosts.find((h) => h.ref === hostRef);
  if (info && !info.online) return false;
  const hostRec = sim.store.find('host', hostRef);
  if (!hostRec) return false;
  const metrics = sim.store.find('host_metrics', hostRec.metrics as string);
  return metrics ? metrics.live === true : true;
}

/** HOST_OFFLINE / HOST_DISABLED for a host a VM should go to. */
export function assertHostUsable(ctx: CallContext, hostRef: string): Rec {
  const hostRec = ctx.store.get('host', hostRef);
  if (!isHostLive(ctx.sim, hostRef)) throw new XapiFault('HOST_OFFLINE', [hostRef]);
  if (hostRec.enabled !== true) throw new XapiFault('HOST_DISABLED', [hostRef]);
  return hostRec;
}

/** The first SR holding one of the VM's disks that hostRef has no attached PBD for. */
export function missingSr(store: Store, vmRec: Rec, hostRef: string): string | undefined {
  for (const vbdRef of vmRec.VBDs as string[]) {
    const vbd = store.find('VBD', vbdRef);
    if (!vbd || isNull(vbd.VDI)) continue;
    const srRef = store.find('VDI', vbd.VDI as string)?.SR as string | undefined;
    if (!srRef) continue;
    const sr = store.find('SR', srRef);
    if (!sr) continue;
    const seen = (sr.PBDs as string[]).some((p) => {
      const pbd = store.find('PBD', p);
      return pbd?.host === hostRef && pbd.currently_attached === true;
    });
    if (!seen) return srRef;
  }
  return undefined;
}

/** VM_REQUIRES_SR [vm, sr] when the host cannot reach one of the VM's disks. */
export function assertHostSeesDisks(
  store: Store,
  vmRef: string,
  vmRec: Rec,
  hostRef: string,
): void {
  const sr = missingSr(store, vmRec, hostRef);
  if (sr) throw new XapiFault('VM_REQUIRES_SR', [vmRef, sr]);
}

export function assertHostHasMemory(store: Store, hostRef: string, needed: number): void {
  const free = hostFreeMemory(store, hostRef);
  if (needed > free)
    throw new XapiFault('HOST_NOT_ENOUGH_FREE_MEMORY', [String(needed), String(free)]);
}

/**
 * Pick a host for VM.start / VM.resume: the affinity host when it fits, else the live enabled
 * host with the most free memory. A pool of one answers HOST_NOT_ENOUGH_FREE_MEMORY like the
 * host itself would; larger pools answer NO_HOSTS_AVAILABLE.
 */
export function chooseHost(ctx: CallContext, vmRec: Rec): string {
  const { store, sim } = ctx;
  const needed = vmStartMemory(vmRec);
  const usable = [...store.all('host').entries()]
    .filter(
      ([ref, rec]) => rec.enabled === true && isHostLive(sim, ref) && !missingSr(store, vmRec, ref),
    )
    .map(([ref]) => ({ ref, free: hostFreeMemory(store, ref) }));
  const affinity = vmRec.affinity as string;
  const pick = usable.find((h) => h.ref === affinity && h.free >= needed);
  if (pick) return pick.ref;
  const fitting = usable.filter((h) => h.free >= needed).sort((a, b) => b.free - a.free);
  if (fitting.length > 0) return fitting[0].ref;
  if (store.count('host') === 1 && usable.length === 1) {
    throw new XapiFault('HOST_NOT_ENOUGH_FREE_MEMORY', [String(needed), String(usable[0].free)]);
  }
  throw new XapiFault('NO_HOSTS_AVAILABLE', []);
}

/** The guest's serial console as dom0 logs it: a plausible boot transcript for the domain. */
function consoleLogFor(store: Store, hostRef: string, domid: string): string {
  const vm = [...store.all('VM').values()].find(
    (v) => v.resident_on === hostRef && String(v.domid) === domid && !v.is_control_domain,
  );
  if (!vm) {
    throw new XapiFault('XENAPI_PLUGIN_FAILURE', [
      'get_console_log',
      'IOError',
      `[Errno 2] No such file or directory: '/var/log/xen/guest/console.${domid}'`,
    ]);
  }
  const name = String(vm.name_label);
  const lines = [
    '[    0.000000] Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1',
    '[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/xvda1 ro console=hvc0 console=ttyS0',
    '[    0.000000] Hypervisor detected: Xen HVM',
    `[    0.004000] DMI: Xen HVM domU, BIOS 4.17 ${String(vm.uuid)}`,
    `[    0.120000] Memory: ${Math.round((vm.memory_target as number) / 1024)}K available`,
    `[    0.200000] smpboot: Allowing ${String(vm.VCPUs_at_startup)} CPUs`,
    '[    1.100000] xen_netfront: Initialising Xen virtual ethernet driver',
    '[    1.300000] blkfront: xvda: flush diskcache: enabled; persistent grants: enabled',
    '[    2.500000] EXT4-fs (xvda1): mounted filesystem with ordered data mode',
    `[    4.000000] cloud-init[412]: Cloud-init v. 22.4.2 running 'init' for ${name}`,
    '',
    `Debian GNU/Linux 12 ${name} hvc0`,
    '',
    `${name} login: `,
  ];
  return lines.join('\n');
}

export function registerHostMessages(): void {
  defineMessage('host.call_plugin', (ctx, [hostRef, plugin, fn, args]) => {
    ctx.store.get('host', hostRef);
    // A stock XCP-ng host has no 'console' plugin (Nova installs one in dom0): it answers only
    // where host.other_config.sim_plugins (comma-separated) lists it.
    const installed = String(
      (ctx.store.get('host', hostRef).other_config as Record<string, string>).sim_plugins ?? '',
    );
    if (plugin !== 'console' || !installed.split(',').includes(plugin)) {
      throw new XapiFault('XENAPI_MISSING_PLUGIN', [String(plugin)]);
    }
    if (fn !== 'get_console_log') {
      throw new XapiFault('XENAPI_PLUGIN_FAILURE', [
        String(fn),
        'UnknownFunction',
        `no function ${String(fn)} in plugin console`,
      ]);
    }
    const domid = String((args as Record<string, string>)?.dom_id ?? '');
    // Nova's console plugin answers base64 of the zlib-compressed log tail.
    return deflateSync(Buffer.from(consoleLogFor(ctx.store, hostRef, domid))).toString('base64');
  });
  defineMessage('host.compute_free_memory', (ctx, [hostRef]) => hostFreeMemory(ctx.store, hostRef));
  defineMessage('host.compute_memory_overhead', (ctx, [hostRef]) => {
    return (ctx.store.get('host', hostRef).memory_overhead as number) || 0;
  });
  defineMessage('host.get_servertime', (ctx, [hostRef]) => {
    ctx.store.get('host', hostRef);
    return now();
  });
  defineMessage('host.get_server_localtime', (ctx, [hostRef]) => {
    ctx.store.get('host', hostRef);
    return now();
  });
  defineMessage('host.enable', (ctx, [hostRef]) => {
    if (!isHostLive(ctx.sim, hostRef)) throw new XapiFault('HOST_OFFLINE', [hostRef]);
    ctx.store.update('host', hostRef, { enabled: true });
  });
  defineMessage('host.disable', (ctx, [hostRef]) => {
    if (!isHostLive(ctx.sim, hostRef)) throw new XapiFault('HOST_OFFLINE', [hostRef]);
    ctx.store.update('host', hostRef, { enabled: false });
  });
  defineMessage('host.get_vms_which_prevent_evacuation', (ctx, [hostRef]) => {
    ctx.store.get('host', hostRef);
    return {};
  });
  defineMessage('host.get_management_interface', (ctx, [hostRef]) => {
    const hostRec = ctx.store.get('host', hostRef);
    const pif = (hostRec.PIFs as string[]).find(
      (p) => ctx.store.find('PIF', p)?.management === true,
    );
    if (!pif) throw new XapiFault('PIF_IS_NOT_MANAGEMENT_INTERFACE', [hostRef]);
    return pif;
  });
  defineMessage('host.dmesg', (ctx, [hostRef]) => {
    const rec = ctx.store.get('host', hostRef);
    return `[    0.000000] Linux version 4.19.0+1 (${String(rec.hostname)}) simulated\n`;
  });
}
