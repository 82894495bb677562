// NICs on VLANs and orchestrator ports, through the driver: a NIC's `vlan` finds or makes the
// service's pool-wide VLAN network on the configured device (one network for NICs asking at
// once), refused outside the range (422) or when a network the service did not make carries the
// tag (409); `port_id` lands in the VIF's other_config and so on the vswitch port's external-ids;
// an admin makes a named VLAN network explicitly; a failed make leaves no network behind.
import type { Instance } from '../../src/driver/types';
import { Networks } from '../../src/driver/networks';
import { done, setState, simVm, spawnInstance } from './instance-helpers';
import {
  alice,
  poolSnapshot,
  provisioningTemplate,
  settle,
  startDriverStack,
  type DriverStack,
} from './stack';

const admin = { namespace: 'alice', role: 'admin' as const, tokenId: 'alice-admin' };
const VLANS = { device: 'eth1', min: 100, max: 399 };

describe('NICs on VLANs and ports', () => {
  let stack: DriverStack;
  let running: string;
  let halted: string;
  beforeAll(async () => {
    stack = await startDriverStack({ driver: { vlans: VLANS } });
    running = await spawnInstance(stack, 'nv-run', {});
    halted = await spawnInstance(stack, 'nv-halt', { power_on: false });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const store = (): DriverStack['sim']['store'] => stack.sim.store;
  const vifsOf = (vmRef: string): Array<Record<string, any>> =>
    (simVm(stack, vmRef).VIFs as string[]).map((r) => store().get('VIF', r) as Record<string, any>);
  const networksCarrying = (tag: number): string[] =>
    [
      ...new Set(
        [...store().all('PIF').values()]
          .filter((p) => p.device === 'eth1' && Number(p.VLAN) === tag)
          .map((p) => String(p.network)),
      ),
    ].sort();
  const hosts = (): number => store().count('host');

  it('makes the VLAN network pool-wide on first use and plugs the NIC on it (running)', async () => {
    stack.calls.length = 0;
    const final = await done(
      stack,
      stack.driver.attachNic(alice, 'nv-run', { vlan: 300, device: '4' }),
    );
    expect(final.status).toBe('succeeded');
    const [netRef] = networksCarrying(300);
    expect(networksCarrying(300)).toHaveLength(1);
    const net = store().get('network', netRef!) as Record<string, any>;
    expect(net).toMatchObject({
      name_label: 'xcd-vlan-300',
      other_config: { xcd_managed: 'true', xcd_vlan: '300' },
    });
    expect((net.PIFs as string[]).length).toBe(hosts());
    expect(stack.calls).toEqual(expect.arrayContaining(['network.create', 'pool.create_VLAN']));
    const vif = vifsOf(running).find((v) => v.device === '4')!;
    expect(vif).toMatchObject({ network: netRef, currently_attached: true });
    expect(stack.driver.networks()).toContainEqual(
      expect.objectContaining({ uuid: net.uuid, managed: true, vlan: 300 }),
    );
    expect(stack.driver.networks().find((n) => n.name_label === 'VLAN 100')).toMatchObject({
      managed: false,
    });
  });

  it('reuses the network for the next NIC on that VLAN (halted instance: not plugged)', async () => {
    stack.calls.length = 0;
    const final = await done(stack, stack.driver.attachNic(alice, 'nv-halt', { vlan: 300 }));
    expect(final.status).toBe('succeeded');
    expect(stack.calls).not.toContain('network.create');
    expect(stack.calls).not.toContain('pool.create_VLAN');
    const vif = vifsOf(halted).find((v) => v.network === networksCarrying(300)[0]);
    expect(vif).toMatchObject({ currently_attached: false });
    // A retry at the same device is answered at once.
    const again = stack.driver.attachNic(alice, 'nv-run', { vlan: 300, device: '4' });
    expect(again.status).toBe('succeeded');
  });

  it('makes one network for NICs that ask for a new VLAN at once', async () => {
    const ops = [
      stack.driver.attachNic(alice, 'nv-run', { vlan: 301 }),
      stack.driver.attachNic(alice, 'nv-halt', { vlan: 301 }),
    ];
    for (const op of ops) expect((await done(stack, op)).status).toBe('succeeded');
    expect(networksCarrying(301)).toHaveLength(1);
  });

  it('refuses a VLAN outside the range (422 vlan_not_allowed), and any without a VLAN device', () => {
    for (const vlan of [99, 400])
      expect(() => stack.driver.attachNic(alice, 'nv-run', { vlan })).toThrow(
        expect.objectContaining({ status: 422, code: 'vlan_not_allowed' }),
      );
    expect(() =>
      stack.driver.spawn(alice, 'nv-x', {
        template: provisioningTemplate(stack),
        nics: [{ vlan: 4000 }],
      }),
    ).toThrow(expect.objectContaining({ status: 422, code: 'vlan_not_allowed' }));
    expect(() => new Networks(stack.xapi, undefined, 1000).checkVlan(300)).toThrow(
      expect.objectContaining({ status: 422, code: 'vlan_not_allowed' }),
    );
  });

  it('refuses a VLAN carried by a network the service did not make (409 vlan_in_use)', async () => {
    const nets = store().count('network');
    const final = await done(stack, stack.driver.attachNic(alice, 'nv-run', { vlan: 100 }));
    expect(final).toMatchObject({
      status: 'failed',
      error: { status: 409, code: 'vlan_in_use', vlan: 100 },
    });
    expect(store().count('network')).toBe(nets);
  });

  it.each(['network.create', 'pool.create_VLAN'])(
    'leaves no network behind when %s fails',
    async (method) => {
      const nets = store().count('network');
      const pifs = store().count('PIF');
      stack.sim.faults.add(`fail:${method}:1:INTERNAL_ERROR,injected`);
      const final = await done(stack, stack.driver.attachNic(alice, 'nv-run', { vlan: 350 }));
      stack.sim.faults.clear();
      expect(final).toMatchObject({ status: 'failed', error: { code: 'xapi_error' } });
      expect([store().count('network'), store().count('PIF')]).toEqual([nets, pifs]);
      expect(store().count('VLAN')).toBe(
        [...store().all('PIF').values()].filter((p) => Number(p.VLAN) >= 0).length,
      );
    },
  );

  it('a spawn whose VLAN network cannot be made leaves no VM, disk, NIC or network', async () => {
    const before = poolSnapshot(stack.sim);
    const nets = store().count('network');
    stack.sim.faults.add('fail:pool.create_VLAN:1:INTERNAL_ERROR,injected');
    const { operation } = stack.driver.spawn(alice, 'nv-fail', {
      template: provisioningTemplate(stack),
      nics: [{ network: 'xenbr0' }, { vlan: 360, port_id: 'port-x' }],
    });
    const final = await settle(stack, alice, operation);
    stack.sim.faults.clear();
    expect(final).toMatchObject({ status: 'failed', error: { code: 'xapi_error' } });
    expect(poolSnapshot(stack.sim)).toEqual(before);
    expect(store().count('network')).toBe(nets);
    expect(() => stack.driver.getInstance(alice, 'nv-fail')).toThrow(
      expect.objectContaining({ status: 404 }),
    );
  });

  it('refuses (422) and removes the network when no host has the VLAN device', async () => {
    const nets = store().count('network');
    const misconfigured = new Networks(stack.xapi, { device: 'eth9', min: 1, max: 4094 }, 1000);
    await expect(
      misconfigured.ensureVlan(500, { signal: new AbortController().signal }),
    ).rejects.toMatchObject({ cause: { status: 422, code: 'vlan_not_allowed' } });
    expect(store().count('network')).toBe(nets);
  });

  it('binds a NIC to a port: nicira-iface-id and nicira-vm-id on the VIF and the vswitch port', async () => {
    const net = stack.driver.networks().find((n) => n.bridge === 'xenbr1')!;
    const final = await done(
      stack,
      stack.driver.attachNic(alice, 'nv-run', {
        network: net.bridge,
        port_id: 'port-1',
        device: '5',
      }),
    );
    expect(final.status).toBe('succeeded');
    const vm = simVm(stack, running);
    const vif = vifsOf(running).find((v) => v.device === '5')!;
    expect(vif.other_config).toMatchObject({
      'nicira-iface-id': 'port-1',
      'nicira-vm-id': vm.uuid,
    });
    expect(stack.sim.ovsPorts()).toContainEqual(
      expect.objectContaining({
        bridge: 'xenbr1',
        name: `vif${vm.domid}.5`,
        external_ids: expect.objectContaining({
          'iface-id': 'port-1',
          'vm-id': vm.uuid,
          'attached-mac': vif.MAC,
        }),
      }),
    );
    expect(stack.driver.listNics(alice, 'nv-run')).toContainEqual(
      expect.objectContaining({ device: '5', port_id: 'port-1' }),
    );
  });

  it('spawns with a VLAN NIC and a port, the vswitch port appearing once it runs', async () => {
    const { operation } = stack.driver.spawn(alice, 'nv-spawn', {
      template: provisioningTemplate(stack),
      power_on: false,
      nics: [{ vlan: 310, port_id: 'port-2' }, { network: 'xenbr0' }],
    });
    const final = await settle(stack, alice, operation);
    expect(final.status).toBe('succeeded');
    const ref = store().byUuid('VM', (final.result as Instance).uuid)!;
    const vm = simVm(stack, ref);
    const [vlanNet] = networksCarrying(310);
    const vif = vifsOf(ref).find((v) => v.network === vlanNet)!;
    expect(vif.other_config).toMatchObject({
      'nicira-iface-id': 'port-2',
      'nicira-vm-id': vm.uuid,
    });
    const portOf = (): unknown =>
      stack.sim.ovsPorts().find((p) => p.external_ids['iface-id'] === 'port-2');
    expect(portOf()).toBeUndefined();
    await setState(stack, ref, 'Running');
    expect(portOf()).toMatchObject({ external_ids: { 'vm-id': vm.uuid } });
  });

  it('makes a named VLAN network for an admin, idempotently, and refuses clashes', async () => {
    const made = await stack.driver.createNetwork(admin, 'tenant-a', { vlan: 320, mtu: 1400 });
    expect(made).toMatchObject({
      created: true,
      network: { name_label: 'tenant-a', managed: true, vlan: 320, mtu: 1400 },
    });
    expect(networksCarrying(320)).toHaveLength(1);
    const again = await stack.driver.createNetwork(admin, 'tenant-a', { vlan: 320 });
    expect(again).toMatchObject({ created: false, network: { uuid: made.network.uuid } });
    await expect(
      stack.driver.createNetwork(admin, 'tenant-b', { vlan: 320 }),
    ).rejects.toMatchObject({ status: 409, code: 'network_exists' });
    await expect(
      stack.driver.createNetwork(admin, 'VLAN 200', { vlan: 330 }),
    ).rejects.toMatchObject({ status: 409, code: 'network_exists' });
    await expect(stack.driver.createNetwork(admin, 'mine', { vlan: 200 })).rejects.toMatchObject({
      status: 409,
      code: 'vlan_in_use',
    });
    await expect(stack.driver.createNetwork(admin, 'far', { vlan: 4000 })).rejects.toMatchObject({
      status: 422,
      code: 'vlan_not_allowed',
    });
    await expect(stack.driver.createNetwork(alice, 'op', { vlan: 340 })).rejects.toMatchObject({
      status: 403,
      code: 'forbidden',
    });
  });
});
