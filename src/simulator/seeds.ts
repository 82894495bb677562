// Seeded pools: seedPool fills an empty store with a pool that looks like a small real one
// (hosts with CPUs and dom0s, local/NFS/ISO SRs, management and VLAN networks, templates, a few
// VMs in each power state), and `vms: N` adds N plausible VMs in bulk. It must not start
// servers or define messages; the records it writes obey the same rules the messages keep.
import { createConsole } from './console';
import { computeMemoryOverhead, refreshHostMemory, setResident } from './host';
import { createVmMetrics, metricsOnRunning } from './metrics';
import { createNetwork, createPif, createVif, createVlan, generateMac } from './network';
import { createPbd, createVbd, createVdi, setVbdAttached } from './storage';
import { NULL_REF, computeAllowedOperations, now, updateAllowedOperations } from './vm-lifecycle';
import { newRef, type Rec, type Store } from './store';

export interface SeedOptions {
  hosts: number;
  vms?: number;
  seed: 'default' | 'empty';
}

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

const CPU_FLAGS =
  'fpu de tsc msr pae mce cx8 apic sep mca cmov pat clflush acpi mmx fxsr sse sse2 ht syscall nx lm constant_tsc ' +
  'rep_good nopl nonstop_tsc cpuid pni pclmulqdq monitor est ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand hypervisor';

function softwareVersion(hostname: string): Record<string, string> {
  return {
    product_brand: 'XCP-ng',
    product_version: '8.3.0',
    product_version_text: '8.3',
    product_version_text_short: '8.3',
    platform_name: 'XCP',
    platform_version: '3.4.0',
    build_number: 'cloud',
    xapi: '24.19',
    xapi_build: '24.19.2',
    xen: '4.17.4-3',
    linux: '4.19.0+1',
    xencenter_min: '2.21',
    xencenter_max: '2.21',
    network_backend: 'openvswitch',
    db_schema: '5.775',
    hostname,
    date: '2024-10-01',
  };
}

function cpuInfo(): Record<string, string> {
  return {
    cpu_count: '16',
    socket_count: '2',
    threads_per_core: '2',
    vendor: 'GenuineIntel',
    speed: '2194.843',
    modelname: 'Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz',
    family: '6',
    model: '85',
    stepping: '7',
    flags: CPU_FLAGS,
    features_pv: '1fc9cbf5-f6f83203-2991cbf5-00000123-00000007-fdbb4fff-00000000-00000000',
    features_hvm: '1fcbfbff-f7fa3223-2d93fbff-00000523-0000000f-fdbb4fff-00000000-00000000',
  };
}

interface Topology {
  hostRefs: string[];
  localSrs: string[];
  nfsSr: string;
  isoVdis: string[];
  mgmtNet: string;
  vlanNets: string[];
}

function seedHost(store: Store, i: number): string {
  const name = `xcp-host-${i + 1}`;
  const metricsRef = store.create('host_metrics', { memory_total: 64 * GIB, memory_free: 64 * GIB, live: true, last_updated: now() });
  const hostRef = store.create('host', {
    name_label: name,
    name_description: 'Default install',
    hostname: name,
    address: `127.0.0.${i + 1}`,
    enabled: true,
    metrics: metricsRef,
    memory_overhead: 1230 * MIB,
    API_version_major: 2,
    API_version_minor: 21,
    API_version_vendor: 'XenSource',
    software_version: softwareVersion(name),
    cpu_info: cpuInfo(),
    capabilities: ['xen-3.0-x86_64', 'hvm-3.0-x86_32', 'hvm-3.0-x86_32p', 'hvm-3.0-x86_64'],
    sched_policy: 'credit',
    supported_bootloaders: ['pygrub', 'eliloader'],
    edition: 'xcp-ng',
    license_params: { sku_type: 'free', expiry: '20380119T03:14:07Z' },
    other_config: { agent_start_time: String(Math.floor(Date.now() / 1000)), iscsi_iqn: `iqn.2024-10.com.example:${name}` },
    bios_strings: { 'bios-vendor': 'Xen', 'system-manufacturer': 'Supermicro', 'system-product-name': 'SYS-1029P-WTR' },
    iscsi_iqn: `iqn.2024-10.com.example:${name}`,
  });
  const cpus: string[] = [];
  for (let n = 0; n < 16; n++) {
    cpus.push(
      store.create('host_cpu', {
        host: hostRef,
        number: n,
        vendor: 'GenuineIntel',
        speed: 2194,
        modelname: 'Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz',
        family: 6,
        model: 85,
        stepping: '7',
        flags: CPU_FLAGS,
        utilisation: 0.01 + (n % 5) / 100,
      }),
    );
  }
  store.update('host', hostRef, { host_CPUs: cpus });
  const dom0 = newVm(store, {
    name_label: `Control domain on host: ${name}`,
    name_description: 'The domain which manages physical devices and manages other domains',
    is_control_domain: true,
    memory: 4 * GIB,
    vcpus: 8,
  });
  store.update('VM', dom0, { power_state: 'Running', domid: 0, memory_target: 4 * GIB });
  setResident(store, dom0, hostRef);
  metricsOnRunning(store, dom0, true);
  store.update('host', hostRef, { control_domain: dom0 });
  updateAllowedOperations(store, dom0);
  return hostRef;
}

interface VmSpec {
  name_label: string;
  name_description?: string;
  memory: number;
  vcpus: number;
  is_control_domain?: boolean;
  template?: boolean;
  other_config?: Record<string, string>;
  hvm?: boolean;
}

const HVM_PLATFORM = { viridian: 'false', acpi: '1', apic: 'true', pae: 'true', nx: 'true', vga: 'std', videoram: '8', 'device-model': 'qemu-upstream-compat', secureboot: 'false' };

function vmFields(spec: VmSpec): Rec {
  const hvm = spec.hvm !== false && !spec.is_control_domain;
  const base: Rec = {
    name_label: spec.name_label,
    name_description: spec.name_description ?? '',
    user_version: 1,
    is_a_template: spec.template === true,
    is_default_template: spec.template === true && spec.other_config?.default_template === 'true',
    is_control_domain: spec.is_control_domain === true,
    memory_static_min: spec.is_control_domain ? spec.memory : Math.min(spec.memory, 512 * MIB),
    memory_static_max: spec.memory,
    memory_dynamic_min: spec.memory,
    memory_dynamic_max: spec.memory,
    VCPUs_max: spec.vcpus,
    VCPUs_at_startup: spec.vcpus,
    actions_after_shutdown: 'destroy',
    actions_after_reboot: 'restart',
    actions_after_crash: 'restart',
    HVM_boot_policy: hvm ? 'BIOS order' : '',
    HVM_boot_params: hvm ? { order: 'cdn' } : {},
    platform: hvm ? { ...HVM_PLATFORM } : {},
    domain_type: hvm ? 'hvm' : 'pv',
    other_config: spec.other_config ?? {},
    domid: -1,
    snapshot_of: NULL_REF,
    parent: NULL_REF,
    generation_id: spec.template ? '' : `${Math.floor(Math.random() * 2 ** 52)}:${Math.floor(Math.random() * 2 ** 52)}`,
    hardware_platform_version: 2,
    has_vendor_device: false,
  };
  base.memory_overhead = computeMemoryOverhead(base);
  return base;
}

function newVm(store: Store, spec: VmSpec): string {
  const fields = vmFields(spec);
  fields.metrics = createVmMetrics(store, fields);
  const ref = store.create('VM', fields);
  updateAllowedOperations(store, ref);
  return ref;
}

const TEMPLATE_RECOMMENDATIONS =
  '<restrictions><restriction field="memory-static-max" max="1649267441664"/><restriction field="vcpus-max" max="64"/>' +
  '<restriction property="number-of-vbds" max="255"/><restriction property="number-of-vifs" max="7"/></restrictions>';

function disksXml(size: number): string {
  return `<provision><disk device="0" size="${size}" sr="" bootable="true" type="system"/></provision>`;
}

function seedTemplates(store: Store): void {
  const templates: Array<[string, string, number, number, Record<string, string>]> = [
    ['Debian Bookworm 12', 'Template that allows VM installation from Xen-aware Debian-based distros', 10 * GIB, GIB, { 'install-methods': 'cdrom,nfs,http,ftp', linux_template: 'true', 'install-distro': 'debianlike', 'install-repository': 'http://deb.debian.org/debian' }],
    ['Ubuntu Jammy Jellyfish 22.04', 'Template that allows VM installation from Xen-aware Debian-based distros', 10 * GIB, 2 * GIB, { 'install-methods': 'cdrom,nfs,http,ftp', linux_template: 'true', 'install-distro': 'debianlike' }],
    ['Other install media', 'Template which allows VM installation from install media', 32 * GIB, 2 * GIB, { 'install-methods': 'cdrom' }],
  ];
  for (const [name, description, disk, memory, extra] of templates) {
    const ref = newVm(store, {
      name_label: name,
      name_description: description,
      memory,
      vcpus: name === 'Other install media' ? 2 : 1,
      template: true,
      other_config: { default_template: 'true', disks: disksXml(disk), ...extra },
    });
    store.update('VM', ref, { recommendations: TEMPLATE_RECOMMENDATIONS, generation_id: '' });
    if (name === 'Other install media') store.update('VM', ref, { platform: { ...HVM_PLATFORM, viridian: 'true' } });
  }
}

function seedStorage(store: Store, hostRefs: string[]): Pick<Topology, 'localSrs' | 'nfsSr' | 'isoVdis'> {
  const localSrs = hostRefs.map((hostRef, i) => {
    const sr = store.create('SR', {
      name_label: 'Local storage',
      name_description: `Local LVM storage on xcp-host-${i + 1}`,
      type: 'lvm',
      content_type: 'user',
      shared: false,
      physical_size: 900 * GIB,
      other_config: { 'i18n-key': 'local-storage', 'i18n-original-value-name_label': 'Local storage' },
      sm_config: { allocation: 'thick', devserial: `scsi-3600508b1001c${i}a4e`, use_vhd: 'true' },
      allowed_operations: ['forget', 'VDI.create', 'VDI.snapshot', 'plug', 'update', 'destroy', 'VDI.destroy', 'scan', 'VDI.clone', 'VDI.resize', 'unplug'],
    });
    createPbd(store, hostRef, sr, { device: '/dev/sda3' }, true);
    return sr;
  });
  const nfsSr = store.create('SR', {
    name_label: 'NFS storage',
    name_description: 'NFS SR [192.168.10.5:/export/xcp]',
    type: 'nfs',
    content_type: 'user',
    shared: true,
    physical_size: 4 * 1024 * GIB,
    other_config: { auto_scan: 'true' },
    sm_config: {},
    allowed_operations: ['forget', 'VDI.create', 'VDI.snapshot', 'plug', 'update', 'destroy', 'VDI.destroy', 'scan', 'VDI.clone', 'VDI.resize', 'unplug'],
  });
  const isoSr = store.create('SR', {
    name_label: 'ISO library',
    name_description: 'NFS ISO library [192.168.10.5:/export/iso]',
    type: 'iso',
    content_type: 'iso',
    shared: true,
    physical_size: 500 * GIB,
    other_config: {},
    sm_config: { iso_type: 'nfs_iso' },
    allowed_operations: ['forget', 'plug', 'update', 'destroy', 'scan', 'unplug'],
  });
  for (const hostRef of hostRefs) {
    createPbd(store, hostRef, nfsSr, { server: '192.168.10.5', serverpath: '/export/xcp', nfsversion: '4.1' }, true);
    createPbd(store, hostRef, isoSr, { location: '192.168.10.5:/export/iso' }, true);
  }
  const iso = (name: string, size: number): string =>
    createVdi(store, { SR: isoSr, name_label: name, name_description: '', virtual_size: size, type: 'user', sharable: false, read_only: true, location: name, other_config: {} });
  const isoVdis = [iso('debian-12.5.0-amd64-netinst.iso', 659 * MIB), iso('ubuntu-22.04.4-live-server-amd64.iso', 2055 * MIB)];
  return { localSrs, nfsSr, isoVdis };
}

function seedNetworks(store: Store, hostRefs: string[]): Pick<Topology, 'mgmtNet' | 'vlanNets'> {
  const mgmtNet = createNetwork(store, { name_label: 'Pool-wide network associated with eth0', bridge: 'xenbr0', MTU: 1500, other_config: {} });
  const dataNet = createNetwork(store, { name_label: 'Pool-wide network associated with eth1', bridge: 'xenbr1', MTU: 1500, other_config: {} });
  const eth1: string[] = [];
  hostRefs.forEach((hostRef, i) => {
    createPif(store, {
      device: 'eth0', network: mgmtNet, host: hostRef, MAC: generateMac(), MTU: 1500, VLAN: -1, physical: true,
      currently_attached: true, management: true, ip_configuration_mode: 'Static', IP: `192.168.10.${11 + i}`,
      netmask: '255.255.255.0', gateway: '192.168.10.1', DNS: '192.168.10.1', disallow_unplug: false,
    });
    eth1.push(createPif(store, { device: 'eth1', network: dataNet, host: hostRef, MAC: generateMac(), MTU: 1500, VLAN: -1, physical: true, currently_attached: true }));
  });
  const vlanNets = [100, 200].map((tag) => {
    const net = createNetwork(store, { name_label: `VLAN ${tag}`, name_description: `Tenant network on eth1, tag ${tag}`, MTU: 1500, other_config: {} });
    for (const pif of eth1) createVlan(store, pif, tag, net);
    return net;
  });
  return { mgmtNet, vlanNets };
}

interface GuestSpec {
  name: string;
  memory: number;
  vcpus: number;
  disk: number;
  sr: string;
  net: string;
  power: 'Halted' | 'Running' | 'Paused' | 'Suspended';
  host?: string;
  cd?: string;
}

function seedGuest(store: Store, topo: Topology, g: GuestSpec): string {
  const vmRef = newVm(store, { name_label: g.name, name_description: '', memory: g.memory, vcpus: g.vcpus, other_config: { base_template_name: 'Debian Bookworm 12', mac_seed: newRef().slice(10) } });
  const vdiRef = createVdi(store, { SR: g.sr, name_label: `${g.name} 0`, name_description: 'Created by template provisioner', virtual_size: g.disk, type: 'system', sharable: false, read_only: false, other_config: {} });
  createVbd(store, { VM: vmRef, VDI: vdiRef, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk' });
  createVbd(store, { VM: vmRef, VDI: g.cd ?? NULL_REF, userdevice: '3', bootable: false, mode: 'RO', type: 'CD' });
  createVif(store, { VM: vmRef, network: g.net, device: '0', MAC: '', MTU: 1500 });
  if (g.power === 'Running' || g.power === 'Paused') {
    const vm = store.get('VM', vmRef);
    store.update('VM', vmRef, { power_state: g.power, domid: 0, memory_target: vm.memory_dynamic_max });
    setResident(store, vmRef, g.host ?? topo.hostRefs[0]);
    for (const vbd of store.get('VM', vmRef).VBDs as string[]) setVbdAttached(store, vbd, true);
    for (const vif of store.get('VM', vmRef).VIFs as string[]) store.update('VIF', vif, { currently_attached: true, allowed_operations: ['attach', 'unplug'] });
    metricsOnRunning(store, vmRef, true);
    createConsole(store, vmRef, g.host ?? topo.hostRefs[0]);
  } else if (g.power === 'Suspended') {
    const suspendVdi = createVdi(store, { SR: topo.nfsSr, name_label: `Suspend image for ${g.name}`, virtual_size: g.memory + 2 * MIB, type: 'suspend', other_config: {} });
    store.update('VM', vmRef, { power_state: 'Suspended', suspend_VDI: suspendVdi });
  }
  updateAllowedOperations(store, vmRef);
  return vmRef;
}

/** Give running seeded VMs distinct domids (per host numbering, as real hosts do). */
function numberDomains(store: Store): void {
  const next = new Map<string, number>();
  for (const [ref, vm] of store.all('VM')) {
    if (vm.is_control_domain || (vm.power_state !== 'Running' && vm.power_state !== 'Paused')) continue;
    const host = vm.resident_on as string;
    const n = (next.get(host) ?? 0) + 1;
    next.set(host, n);
    store.update('VM', ref, { domid: n });
  }
}

/** A locally administered MAC from Math.random (bulk seeding: no crypto call per VM). */
function quickMac(): string {
  let out = '02';
  for (let i = 0; i < 5; i++) out += ':' + Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
  return out;
}

/** N extra VMs, each with metrics, a disk and a NIC; records are written in bulk for speed. */
function seedScaleVms(store: Store, count: number, topo: Topology): void {
  const srRef = topo.nfsSr;
  const srVdis: string[] = [];
  const netVifs = new Map<string, string[]>();
  const resident = new Map<string, string[]>(topo.hostRefs.map((h) => [h, []]));
  const free = new Map(topo.hostRefs.map((h) => [h, (store.get('host_metrics', store.get('host', h).metrics as string).memory_free as number) * 0.8]));
  const nets = [topo.mgmtNet, ...topo.vlanNets];
  const memory = 512 * MIB;
  const template = vmFields({ name_label: '', memory, vcpus: 1, other_config: {} });
  const probe = { ...template, blocked_operations: {}, current_operations: {}, is_a_snapshot: false };
  const opsRunning = computeAllowedOperations(NULL_REF, { ...probe, power_state: 'Running' });
  const opsHalted = computeAllowedOperations(NULL_REF, { ...probe, power_state: 'Halted' });
  let virtual = 0;
  let physical = 0;
  const t = now();
  for (let i = 0; i < count; i++) {
    const vmRef = newRef();
    const vbdRef = newRef();
    const vifRef = newRef();
    const vdiRef = newRef();
    const net = nets[i % nets.length];
    const host = topo.hostRefs[i % topo.hostRefs.length];
    const running = i % 3 !== 2 && (free.get(host) ?? 0) > memory + (template.memory_overhead as number);
    if (running) free.set(host, (free.get(host) ?? 0) - memory - (template.memory_overhead as number));
    const name = `vm-${String(i + 1).padStart(5, '0')}`;
    const metricsRef = store.create('VM_metrics', {
      memory_actual: running ? memory : 0,
      VCPUs_number: 1,
      VCPUs_utilisation: running ? { '0': 0.03 } : {},
      state: running ? ['running'] : [],
      start_time: running ? t : '19700101T00:00:00Z',
      install_time: t,
      last_updated: t,
      hvm: true,
      current_domain_type: running ? 'hvm' : 'unspecified',
    });
    const fields: Rec = {
      ...template,
      name_label: name,
      other_config: { base_template_name: 'Debian Bookworm 12' },
      HVM_boot_params: { order: 'cdn' },
      platform: { ...HVM_PLATFORM },
      metrics: metricsRef,
      VBDs: [vbdRef],
      VIFs: [vifRef],
      power_state: running ? 'Running' : 'Halted',
      resident_on: running ? host : NULL_REF,
      memory_target: running ? memory : 0,
      domid: running ? 1000 + i : -1,
      generation_id: `${i}:${i}`,
    };
    fields.allowed_operations = running ? opsRunning : opsHalted;
    store.create('VM', fields, vmRef);
    const size = 10 * GIB;
    store.create('VDI', { name_label: `${name} 0`, SR: srRef, snapshot_of: NULL_REF, VBDs: [vbdRef], virtual_size: size, physical_utilisation: 64 * MIB, type: 'system', managed: true, allowed_operations: ['clone', 'copy', 'snapshot'] }, vdiRef);
    store.create('VBD', { VM: vmRef, VDI: vdiRef, userdevice: '0', device: running ? 'hda' : '', bootable: true, mode: 'RW', type: 'Disk', currently_attached: running, allowed_operations: running ? ['attach', 'unplug', 'unplug_force'] : ['attach', 'plug'] }, vbdRef);
    store.create('VIF', { VM: vmRef, network: net, device: '0', MAC: quickMac(), MAC_autogenerated: true, MTU: 1500, currently_attached: running, allowed_operations: running ? ['attach', 'unplug'] : ['attach', 'plug'] }, vifRef);
    srVdis.push(vdiRef);
    virtual += size;
    physical += 64 * MIB;
    if (!netVifs.has(net)) netVifs.set(net, []);
    netVifs.get(net)!.push(vifRef);
    if (running) resident.get(host)!.push(vmRef);
  }
  const sr = store.get('SR', srRef);
  store.update('SR', srRef, {
    VDIs: [...(sr.VDIs as string[]), ...srVdis],
    virtual_allocation: (sr.virtual_allocation as number) + virtual,
    physical_utilisation: (sr.physical_utilisation as number) + physical,
  });
  for (const [net, vifs] of netVifs) store.update('network', net, { VIFs: [...(store.get('network', net).VIFs as string[]), ...vifs] });
  for (const [host, vms] of resident) {
    store.update('host', host, { resident_VMs: [...(store.get('host', host).resident_VMs as string[]), ...vms] });
    refreshHostMemory(store, host);
  }
}

export function seedPool(store: Store, opts: SeedOptions): void {
  const hostRefs: string[] = [];
  for (let i = 0; i < Math.max(1, opts.hosts); i++) hostRefs.push(seedHost(store, i));
  const poolRef = store.create('pool', {
    name_label: opts.seed === 'empty' ? '' : 'sim-pool',
    name_description: 'Simulated XCP-ng pool',
    master: hostRefs[0],
    other_config: { memory_ratio_hvm: '0.25', memory_ratio_pv: '0.25' },
    cpu_info: { cpu_count: String(16 * hostRefs.length), socket_count: String(2 * hostRefs.length), vendor: 'GenuineIntel' },
    restrictions: { restrict_vm_snapshot: 'false', restrict_pool_size: 'false', restrict_cpu_masking: 'false' },
  });
  const storage = seedStorage(store, hostRefs);
  const networks = seedNetworks(store, hostRefs);
  store.update('pool', poolRef, { default_SR: storage.nfsSr, suspend_image_SR: storage.nfsSr, crash_dump_SR: storage.nfsSr });
  const topo: Topology = { hostRefs, ...storage, ...networks };
  if (opts.seed === 'default') {
    seedTemplates(store);
    const host = (i: number): string => hostRefs[i % hostRefs.length];
    const guests: GuestSpec[] = [
      { name: 'web-01', memory: 2 * GIB, vcpus: 2, disk: 20 * GIB, sr: topo.nfsSr, net: topo.mgmtNet, power: 'Running', host: host(0) },
      { name: 'db-01', memory: 8 * GIB, vcpus: 4, disk: 100 * GIB, sr: topo.localSrs[1 % topo.localSrs.length], net: topo.vlanNets[0], power: 'Running', host: host(1) },
      { name: 'build-01', memory: 4 * GIB, vcpus: 4, disk: 40 * GIB, sr: topo.nfsSr, net: topo.mgmtNet, power: 'Halted', cd: topo.isoVdis[0] },
      { name: 'cache-01', memory: GIB, vcpus: 1, disk: 10 * GIB, sr: topo.nfsSr, net: topo.vlanNets[1], power: 'Suspended' },
      { name: 'test-01', memory: GIB, vcpus: 1, disk: 10 * GIB, sr: topo.nfsSr, net: topo.vlanNets[0], power: 'Paused', host: host(2) },
    ];
    for (const g of guests) seedGuest(store, topo, g);
  }
  numberDomains(store);
  if (opts.vms && opts.vms > 0) seedScaleVms(store, opts.vms, topo);
}
