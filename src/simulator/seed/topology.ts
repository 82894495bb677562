// The seeded pool's fabric: hosts (software_version, cpu_info, host_cpu records, metrics and a
// dom0 each), local/NFS/ISO storage with PBDs, the management network and VLAN networks with
// their PIFs, and the VM record shape every seeded VM shares. Used by pool.ts only; it defines
// no messages and starts nothing.
import { computeMemoryOverhead, setResident } from '../classes/host';
import { createVmMetrics, metricsOnRunning } from '../classes/metrics';
import { createNetwork, createPif, createVlan, generateMac } from '../classes/network';
import { createPbd, createVdi } from '../classes/storage';
import { NULL_REF, now, updateAllowedOperations } from '../classes/vm-lifecycle';
import type { Rec, Store } from '../engine/store';

const KIB = 1024;
export const MIB = 1024 * KIB;
export const GIB = 1024 * MIB;

const CPU_FLAGS =
  'fpu de tsc msr pae mce cx8 apic sep mca cmov pat clflush acpi mmx fxsr sse sse2 ht syscall nx lm constant_tsc ' +
  'rep_good nopl nonstop_tsc cpuid pni pclmulqdq monitor est ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand hypervisor';

/**
 * host.software_version as xapi reports it: `xapi` holds MAJOR.MINOR of the toolstack and
 * `xapi_build` the full MAJOR.MINOR.PATCH (the fields a client reads to tell what the pool takes).
 */
function softwareVersion(hostname: string, xapiVersion: string): Record<string, string> {
  const [major, minor] = xapiVersion.split('.');
  return {
    product_brand: 'XCP-ng',
    product_version: '8.3.0',
    product_version_text: '8.3',
    product_version_text_short: '8.3',
    platform_name: 'XCP',
    platform_version: '3.4.0',
    build_number: 'cloud',
    xapi: `${major}.${minor}`,
    xapi_build: xapiVersion,
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

export interface Topology {
  hostRefs: string[];
  localSrs: string[];
  nfsSr: string;
  isoVdis: string[];
  mgmtNet: string;
  vlanNets: string[];
}

export function seedHost(store: Store, i: number, xapiVersion: string): string {
  const name = `xcp-host-${i + 1}`;
  const metricsRef = store.create('host_metrics', {
    memory_total: 64 * GIB,
    memory_free: 64 * GIB,
    live: true,
    last_updated: now(),
  });
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
    software_version: softwareVersion(name, xapiVersion),
    cpu_info: cpuInfo(),
    capabilities: ['xen-3.0-x86_64', 'hvm-3.0-x86_32', 'hvm-3.0-x86_32p', 'hvm-3.0-x86_64'],
    sched_policy: 'credit',
    supported_bootloaders: ['pygrub', 'eliloader'],
    edition: 'xcp-ng',
    license_params: { sku_type: 'free', expiry: '20380119T03:14:07Z' },
    other_config: {
      agent_start_time: String(Math.floor(Date.now() / 1000)),
      boot_time: String(Math.floor(Date.now() / 1000) - 86400 * (12 + i)),
      iscsi_iqn: `iqn.2024-10.com.example:${name}`,
    },
    bios_strings: {
      'bios-vendor': 'Xen',
      'system-manufacturer': 'Supermicro',
      'system-product-name': 'SYS-1029P-WTR',
    },
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

export interface VmSpec {
  name_label: string;
  name_description?: string;
  memory: number;
  vcpus: number;
  is_control_domain?: boolean;
  template?: boolean;
  other_config?: Record<string, string>;
  hvm?: boolean;
}

export const HVM_PLATFORM = {
  viridian: 'false',
  acpi: '1',
  apic: 'true',
  pae: 'true',
  nx: 'true',
  vga: 'std',
  videoram: '8',
  'device-model': 'qemu-upstream-compat',
  secureboot: 'false',
};

export function vmFields(spec: VmSpec): Rec {
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
    generation_id: spec.template
      ? ''
      : `${Math.floor(Math.random() * 2 ** 52)}:${Math.floor(Math.random() * 2 ** 52)}`,
    hardware_platform_version: 2,
    has_vendor_device: false,
  };
  base.memory_overhead = computeMemoryOverhead(base);
  return base;
}

export function newVm(store: Store, spec: VmSpec): string {
  const fields = vmFields(spec);
  fields.metrics = createVmMetrics(store, fields);
  const ref = store.create('VM', fields);
  updateAllowedOperations(store, ref);
  return ref;
}

export function seedStorage(
  store: Store,
  hostRefs: string[],
): Pick<Topology, 'localSrs' | 'nfsSr' | 'isoVdis'> {
  const localSrs = hostRefs.map((hostRef, i) => {
    const sr = store.create('SR', {
      name_label: 'Local storage',
      name_description: `Local LVM storage on xcp-host-${i + 1}`,
      type: 'lvm',
      content_type: 'user',
      shared: false,
      physical_size: 900 * GIB,
      other_config: {
        'i18n-key': 'local-storage',
        'i18n-original-value-name_label': 'Local storage',
      },
      sm_config: { allocation: 'thick', devserial: `scsi-3600508b1001c${i}a4e`, use_vhd: 'true' },
      allowed_operations: [
        'forget',
        'VDI.create',
        'VDI.snapshot',
        'plug',
        'update',
        'destroy',
        'VDI.destroy',
        'scan',
        'VDI.clone',
        'VDI.resize',
        'unplug',
      ],
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
    allowed_operations: [
      'forget',
      'VDI.create',
      'VDI.snapshot',
      'plug',
      'update',
      'destroy',
      'VDI.destroy',
      'scan',
      'VDI.clone',
      'VDI.resize',
      'unplug',
    ],
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
    createPbd(
      store,
      hostRef,
      nfsSr,
      { server: '192.168.10.5', serverpath: '/export/xcp', nfsversion: '4.1' },
      true,
    );
    createPbd(store, hostRef, isoSr, { location: '192.168.10.5:/export/iso' }, true);
  }
  const iso = (name: string, size: number): string =>
    createVdi(store, {
      SR: isoSr,
      name_label: name,
      name_description: '',
      virtual_size: size,
      type: 'user',
      sharable: false,
      read_only: true,
      location: name,
      other_config: {},
    });
  const isoVdis = [
    iso('debian-12.5.0-amd64-netinst.iso', 659 * MIB),
    iso('ubuntu-22.04.4-live-server-amd64.iso', 2055 * MIB),
  ];
  return { localSrs, nfsSr, isoVdis };
}

export function seedNetworks(
  store: Store,
  hostRefs: string[],
): Pick<Topology, 'mgmtNet' | 'vlanNets'> {
  const mgmtNet = createNetwork(store, {
    name_label: 'Pool-wide network associated with eth0',
    bridge: 'xenbr0',
    MTU: 1500,
    other_config: {},
  });
  const dataNet = createNetwork(store, {
    name_label: 'Pool-wide network associated with eth1',
    bridge: 'xenbr1',
    MTU: 1500,
    other_config: {},
  });
  const eth1: string[] = [];
  hostRefs.forEach((hostRef, i) => {
    createPif(store, {
      device: 'eth0',
      network: mgmtNet,
      host: hostRef,
      MAC: generateMac(),
      MTU: 1500,
      VLAN: -1,
      physical: true,
      currently_attached: true,
      management: true,
      ip_configuration_mode: 'Static',
      IP: `192.168.10.${11 + i}`,
      netmask: '255.255.255.0',
      gateway: '192.168.10.1',
      DNS: '192.168.10.1',
      disallow_unplug: false,
    });
    eth1.push(
      createPif(store, {
        device: 'eth1',
        network: dataNet,
        host: hostRef,
        MAC: generateMac(),
        MTU: 1500,
        VLAN: -1,
        physical: true,
        currently_attached: true,
      }),
    );
  });
  const vlanNets = [100, 200].map((tag) => {
    const net = createNetwork(store, {
      name_label: `VLAN ${tag}`,
      name_description: `Tenant network on eth1, tag ${tag}`,
      MTU: 1500,
      other_config: {},
    });
    for (const pif of eth1) createVlan(store, pif, tag, net);
    return net;
  });
  return { mgmtNet, vlanNets };
}
