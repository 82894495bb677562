// The content of an OpenStack-style config drive (label config-2): openstack/latest/
// meta_data.json, user_data and network_data.json, built into an ISO 9660 image in memory.
// Knows the file layout cloud-init and cloudbase-init read; does not talk to XAPI.
import { buildIso } from './iso9660';

export const CONFIG_DRIVE_LABEL = 'config-2';

export interface ConfigDriveInput {
  instanceId: string;
  name: string;
  /** Decoded user data, or undefined. */
  userData?: Buffer;
  /** Free-form metadata merged over the generated meta_data.json members. */
  metadata?: Record<string, unknown>;
  nics: Array<{ mac: string; mtu?: number }>;
}

function hostnameOf(name: string): string {
  const h = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  return h || 'instance';
}

export function configDriveFiles(input: ConfigDriveInput): Array<{ path: string; data: Buffer }> {
  const meta = {
    uuid: input.instanceId,
    name: input.name,
    hostname: hostnameOf(input.name),
    launch_index: 0,
    ...(input.metadata ?? {}),
  };
  const network = {
    links: input.nics.map((n, i) => ({
      id: `eth${i}`,
      type: 'phy',
      ethernet_mac_address: n.mac.toLowerCase(),
      mtu: n.mtu ?? 1500,
    })),
    networks: input.nics.map((_n, i) => ({
      id: `network${i}`,
      type: 'ipv4_dhcp',
      link: `eth${i}`,
    })),
    services: [],
  };
  const files: Array<{ path: string; data: Buffer }> = [
    { path: 'openstack/latest/meta_data.json', data: Buffer.from(JSON.stringify(meta)) },
    { path: 'openstack/latest/network_data.json', data: Buffer.from(JSON.stringify(network)) },
  ];
  if (input.userData) files.push({ path: 'openstack/latest/user_data', data: input.userData });
  return files;
}

export function buildConfigDrive(input: ConfigDriveInput): Buffer {
  return buildIso(CONFIG_DRIVE_LABEL, configDriveFiles(input));
}
