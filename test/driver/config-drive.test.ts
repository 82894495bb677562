// The config drive image: an ISO 9660 volume labelled config-2 whose Joliet tree holds the
// OpenStack layout under lowercase names, and whose primary tree is valid ISO level 2.
import { buildConfigDrive } from '../../src/driver/spawn/config-drive';
import { buildIso } from '../../src/driver/spawn/iso9660';
import { readIso } from './iso-reader';

describe('config drive image', () => {
  const userData = Buffer.from('#cloud-config\nhostname: web-1\n');
  const iso = buildConfigDrive({
    instanceId: 'i-1',
    name: 'Web 1',
    userData,
    metadata: { meta: { role: 'web' }, public_keys: { k: 'ssh-ed25519 AAAA' } },
    nics: [{ mac: 'AA:BB:CC:00:11:22', mtu: 9000 }],
  });

  it('is labelled config-2 in both volume descriptors, sector aligned', () => {
    const c = readIso(iso);
    expect(iso.length % 2048).toBe(0);
    expect(c.label).toBe('config-2');
    expect(c.jolietLabel).toBe('config-2');
  });

  it('holds meta_data.json, network_data.json and user_data under openstack/latest', () => {
    const c = readIso(iso);
    expect([...c.files.keys()].sort()).toEqual([
      'openstack/latest/meta_data.json',
      'openstack/latest/network_data.json',
      'openstack/latest/user_data',
    ]);
    expect(c.files.get('openstack/latest/user_data')).toEqual(userData);
    const meta = JSON.parse(c.files.get('openstack/latest/meta_data.json')!.toString());
    expect(meta).toMatchObject({
      uuid: 'i-1',
      name: 'Web 1',
      hostname: 'web-1',
      meta: { role: 'web' },
    });
    const net = JSON.parse(c.files.get('openstack/latest/network_data.json')!.toString());
    expect(net.links).toEqual([
      { id: 'eth0', type: 'phy', ethernet_mac_address: 'aa:bb:cc:00:11:22', mtu: 9000 },
    ]);
  });

  it('gives the primary tree uppercase ISO names for the same bytes', () => {
    const c = readIso(iso, 'primary');
    expect(c.files.get('OPENSTACK/LATEST/USER_DATA.')).toEqual(userData);
    expect(c.files.has('OPENSTACK/LATEST/META_DATA.JSON')).toBe(true);
  });

  it('lays out many files and deep directories across sector boundaries', () => {
    const files = Array.from({ length: 80 }, (_, i) => ({
      path: `a/b${i % 3}/file-${String(i).padStart(3, '0')}.txt`,
      data: Buffer.alloc(i * 100, i),
    }));
    const c = readIso(buildIso('vol', files));
    expect(c.files.size).toBe(80);
    for (const f of files) expect(c.files.get(f.path)?.equals(f.data)).toBe(true);
  });
});
