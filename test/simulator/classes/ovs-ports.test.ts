// The vswitch view of plugged VIFs: a VIF plugged into a running VM shows as an Open vSwitch
// port `vif<domid>.<device>` on its network's bridge whose external-ids carry the VIF's
// other_config nicira-iface-id / nicira-vm-id (else the VIF's and VM's uuids), as xapi's vif
// script sets them; unplugged VIFs and halted VMs have none. Read through the handle and through
// POST /sim/control {"ovs": true}.
import type { OvsPort } from '../../../src/simulator';
import { openSim, type SimFixture } from '../../helpers/xapi-rpc';

let f: SimFixture;

beforeAll(async () => {
  f = await openSim({ timeScale: 0 });
});
afterAll(async () => {
  await f.sim.close();
});

async function controlPorts(): Promise<OvsPort[]> {
  const res = await fetch(`${f.sim.url}/sim/control`, {
    method: 'POST',
    body: JSON.stringify({ ovs: true }),
  });
  return ((await res.json()) as { ovs_ports: OvsPort[] }).ovs_ports;
}

it('shows plugged VIFs with the port id XAPI copies from other_config', async () => {
  const vm = await f.rpc.byName('VM', 'web-01');
  const vmUuid = await f.rpc.call('VM.get_uuid', vm);
  const domid = await f.rpc.call('VM.get_domid', vm);
  const net = (await f.rpc.call('network.get_by_name_label', 'VLAN 200'))[0];
  const vif = await f.rpc.call('VIF.create', {
    VM: vm,
    network: net,
    device: '5',
    MAC: '',
    MTU: 1500,
    other_config: { 'nicira-iface-id': 'port-42', 'nicira-vm-id': vmUuid },
    qos_algorithm_type: '',
    qos_algorithm_params: {},
  });
  const name = `vif${domid}.5`;
  const find = (ports: OvsPort[]): OvsPort | undefined => ports.find((p) => p.name === name);
  expect(find(f.sim.ovsPorts())).toBeUndefined(); // not plugged yet
  await f.rpc.call('VIF.plug', vif);
  const port = find(f.sim.ovsPorts());
  expect(port).toMatchObject({
    bridge: await f.rpc.call('network.get_bridge', net),
    external_ids: {
      'iface-id': 'port-42',
      'vm-id': vmUuid,
      'attached-mac': await f.rpc.call('VIF.get_MAC', vif),
      'xs-vif-uuid': await f.rpc.call('VIF.get_uuid', vif),
    },
  });
  expect(find(await controlPorts())).toEqual(port);
  // A VIF without the keys: XAPI's defaults are the VIF's and VM's uuids.
  const plain = f.sim.ovsPorts().find((p) => p.name === `vif${domid}.0`);
  expect(plain?.external_ids).toMatchObject({ 'vm-id': vmUuid });
  expect(plain?.external_ids['iface-id']).toBe(plain?.external_ids['xs-vif-uuid']);
  await f.rpc.call('VIF.unplug', vif);
  expect(find(f.sim.ovsPorts())).toBeUndefined();
});

it('has no ports for halted VMs', async () => {
  const vm = await f.rpc.byName('VM', 'build-01');
  const uuid = await f.rpc.call('VM.get_uuid', vm);
  expect(await f.rpc.call('VM.get_power_state', vm)).toBe('Halted');
  expect(f.sim.ovsPorts().filter((p) => p.external_ids['xs-vm-uuid'] === uuid)).toEqual([]);
});
