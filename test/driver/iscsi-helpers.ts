// Helpers of the iSCSI volume tests: a simulated target with three LUNs and CHAP, Cinder's
// connection_info for one of its LUNs, and a snapshot of the pool's storage objects to compare
// before and after. Fakes nothing: the target is the simulator's.
import type { SimulatorHandle } from '../../src/simulator';

const GiB = 1024 ** 3;
export const ISCSI_PORTAL = '10.0.0.5:3260';
export const ISCSI_IQN = 'iqn.2010-10.org.openstack:volumes';
export const SECRET = 'chap-s3cret-pw';

export function connection(
  lun: number,
  over: Partial<Record<string, unknown>> = {},
): { driver_volume_type: 'iscsi'; data: any } {
  return {
    driver_volume_type: 'iscsi',
    data: {
      target_portal: ISCSI_PORTAL,
      target_iqn: ISCSI_IQN,
      target_lun: lun,
      auth_method: 'CHAP',
      auth_username: 'cinder',
      auth_password: SECRET,
      target_discovered: false,
      volume_id: 'ignored',
      ...over,
    },
  };
}

/** Every SR, PBD, VDI and VBD of the pool (refs with the SRs' and VDIs' other_config, the
 * PBDs' attachment, sorted): equal snapshots, same storage. */
export function storageSnapshot(sim: SimulatorHandle): Record<string, string[]> {
  const rows = (
    cls: 'SR' | 'PBD' | 'VDI' | 'VBD',
    show: (r: any) => unknown = () => '',
  ): string[] =>
    [...sim.store.all(cls).entries()].map(([ref, r]) => `${ref} ${JSON.stringify(show(r))}`).sort();
  return {
    SR: rows('SR', (r) => r.other_config),
    PBD: rows('PBD', (r) => r.currently_attached),
    VDI: rows('VDI', (r) => r.other_config),
    VBD: rows('VBD'),
    secret: [...sim.secrets()].sort(),
  };
}

export function registerTarget(sim: SimulatorHandle): void {
  sim.iscsi.add({
    portal: ISCSI_PORTAL,
    iqn: ISCSI_IQN,
    luns: [
      { lun: 0, sizeBytes: 2 * GiB },
      { lun: 1, sizeBytes: 3 * GiB },
      { lun: 2, sizeBytes: 1 * GiB },
    ],
    chap: { user: 'cinder', password: SECRET },
  });
}
