// Seeded pools: seedPool fills an empty store with a pool that looks like a small real one
// (hosts with CPUs and dom0s, local/NFS/ISO SRs, management and VLAN networks, templates, a few
// VMs in each power state), and `vms: N` adds N plausible VMs in bulk. It must not start
// servers or define messages; the records it writes obey the same rules the messages keep.
import { createConsole } from '../classes/console';
import { setResident } from '../classes/host';
import { metricsOnRunning } from '../classes/metrics';
import { createVif } from '../classes/network';
import { seedScaleVms } from './scale';
import {
  GIB,
  HVM_PLATFORM,
  MIB,
  newVm,
  seedHost,
  seedNetworks,
  seedStorage,
  type Topology,
} from './topology';
import { createVdi } from '../classes/storage';
import { createVbd, setVbdAttached } from '../classes/vbd';
import { NULL_REF, updateAllowedOperations } from '../classes/vm-lifecycle';
import { newRef, type Store } from '../engine/store';

export interface SeedOptions {
  hosts: number;
  vms?: number;
  seed: 'default' | 'empty';
  xapiVersion: string; // MAJOR.MINOR.PATCH, as host.software_version.xapi_build
}

const TEMPLATE_RECOMMENDATIONS =
  '<restrictions><restriction field="memory-static-max" max="1649267441664"/><restriction field="vcpus-max" max="64"/>' +
  '<restriction property="number-of-vbds" max="255"/><restriction property="number-of-vifs" max="7"/></restrictions>';

function disksXml(size: number): string {
  return `<provision><disk device="0" size="${size}" sr="" bootable="true" type="system"/></provision>`;
}

function seedTemplates(store: Store): void {
  const templates: Array<[string, string, number, number, Record<string, string>]> = [
    [
      'Debian Bookworm 12',
      'Template that allows VM installation from Xen-aware Debian-based distros',
      10 * GIB,
      GIB,
      {
        'install-methods': 'cdrom,nfs,http,ftp',
        linux_template: 'true',
        'install-distro': 'debianlike',
        'install-repository': 'http://deb.debian.org/debian',
      },
    ],
    [
      'Ubuntu Jammy Jellyfish 22.04',
      'Template that allows VM installation from Xen-aware Debian-based distros',
      10 * GIB,
      2 * GIB,
      {
        'install-methods': 'cdrom,nfs,http,ftp',
        linux_template: 'true',
        'install-distro': 'debianlike',
      },
    ],
    [
      'Other install media',
      'Template which allows VM installation from install media',
      32 * GIB,
      2 * GIB,
      { 'install-methods': 'cdrom' },
    ],
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
    if (name === 'Other install media')
      store.update('VM', ref, { platform: { ...HVM_PLATFORM, viridian: 'true' } });
  }
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
  const vmRef = newVm(store, {
    name_label: g.name,
    name_description: '',
    memory: g.memory,
    vcpus: g.vcpus,
    other_config: { base_template_name: 'Debian Bookworm 12', mac_seed: newRef().slice(10) },
  });
  const vdiRef = createVdi(store, {
    SR: g.sr,
    name_label: `${g.name} 0`,
    name_description: 'Created by template provisioner',
    virtual_size: g.disk,
    type: 'system',
    sharable: false,
    read_only: false,
    other_config: {},
  });
  createVbd(store, {
    VM: vmRef,
    VDI: vdiRef,
    userdevice: '0',
    bootable: true,
    mode: 'RW',
    type: 'Disk',
  });
  createVbd(store, {
    VM: vmRef,
    VDI: g.cd ?? NULL_REF,
    userdevice: '3',
    bootable: false,
    mode: 'RO',
    type: 'CD',
  });
  createVif(store, { VM: vmRef, network: g.net, device: '0', MAC: '', MTU: 1500 });
  if (g.power === 'Running' || g.power === 'Paused') {
    const vm = store.get('VM', vmRef);
    store.update('VM', vmRef, {
      power_state: g.power,
      domid: 0,
      memory_target: vm.memory_dynamic_max,
    });
    setResident(store, vmRef, g.host ?? topo.hostRefs[0]);
    for (const vbd of store.get('VM', vmRef).VBDs as string[]) setVbdAttached(store, vbd, true);
    for (const vif of store.get('VM', vmRef).VIFs as string[])
      store.update('VIF', vif, {
        currently_attached: true,
        allowed_operations: ['attach', 'unplug'],
      });
    metricsOnRunning(store, vmRef, true);
    createConsole(store, vmRef, g.host ?? topo.hostRefs[0]);
  } else if (g.power === 'Suspended') {
    const suspendVdi = createVdi(store, {
      SR: topo.nfsSr,
      name_label: `Suspend image for ${g.name}`,
      virtual_size: g.memory + 2 * MIB,
      type: 'suspend',
      other_config: {},
    });
    store.update('VM', vmRef, { power_state: 'Suspended', suspend_VDI: suspendVdi });
  }
  updateAllowedOperations(store, vmRef);
  return vmRef;
}

/** Give running seeded VMs distinct domids (per host numbering, as real hosts do). */
function numberDomains(store: Store): void {
  const next = new Map<string, number>();
  for (const [ref, vm] of store.all('VM')) {
    if (vm.is_control_domain || (vm.power_state !== 'Running' && vm.power_state !== 'Paused'))
      continue;
    const host = vm.resident_on as string;
    const n = (next.get(host) ?? 0) + 1;
    next.set(host, n);
    store.update('VM', ref, { domid: n });
  }
}

export function seedPool(store: Store, opts: SeedOptions): void {
  const hostRefs: string[] = [];
  for (let i = 0; i < Math.max(1, opts.hosts); i++)
    hostRefs.push(seedHost(store, i, opts.xapiVersion));
  const poolRef = store.create('pool', {
    name_label: opts.seed === 'empty' ? '' : 'sim-pool',
    name_description: 'Simulated XCP-ng pool',
    master: hostRefs[0],
    other_config: { memory_ratio_hvm: '0.25', memory_ratio_pv: '0.25' },
    cpu_info: {
      cpu_count: String(16 * hostRefs.length),
      socket_count: String(2 * hostRefs.length),
      vendor: 'GenuineIntel',
    },
    restrictions: {
      restrict_vm_snapshot: 'false',
      restrict_pool_size: 'false',
      restrict_cpu_masking: 'false',
    },
  });
  const storage = seedStorage(store, hostRefs);
  const networks = seedNetworks(store, hostRefs);
  store.update('pool', poolRef, {
    default_SR: storage.nfsSr,
    suspend_image_SR: storage.nfsSr,
    crash_dump_SR: storage.nfsSr,
  });
  const topo: Topology = { hostRefs, ...storage, ...networks };
  if (opts.seed === 'default') {
    seedTemplates(store);
    const host = (i: number): string => hostRefs[i % hostRefs.length];
    const guests: GuestSpec[] = [
      {
        name: 'web-01',
        memory: 2 * GIB,
        vcpus: 2,
        disk: 20 * GIB,
        sr: topo.nfsSr,
        net: topo.mgmtNet,
        power: 'Running',
        host: host(0),
      },
      {
        name: 'db-01',
        memory: 8 * GIB,
        vcpus: 4,
        disk: 100 * GIB,
        sr: topo.localSrs[1 % topo.localSrs.length],
        net: topo.vlanNets[0],
        power: 'Running',
        host: host(1),
      },
      {
        name: 'build-01',
        memory: 4 * GIB,
        vcpus: 4,
        disk: 40 * GIB,
        sr: topo.nfsSr,
        net: topo.mgmtNet,
        power: 'Halted',
        cd: topo.isoVdis[0],
      },
      {
        name: 'cache-01',
        memory: GIB,
        vcpus: 1,
        disk: 10 * GIB,
        sr: topo.nfsSr,
        net: topo.vlanNets[1],
        power: 'Suspended',
      },
      {
        name: 'test-01',
        memory: GIB,
        vcpus: 1,
        disk: 10 * GIB,
        sr: topo.nfsSr,
        net: topo.vlanNets[0],
        power: 'Paused',
        host: host(2),
      },
    ];
    for (const g of guests) seedGuest(store, topo, g);
  }
  numberDomains(store);
  if (opts.vms && opts.vms > 0) seedScaleVms(store, opts.vms, topo);
}
