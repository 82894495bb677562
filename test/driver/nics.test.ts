// Behaviour of NICs through the driver: attach on a network named by uuid, name_label or bridge,
// with or without a MAC, hot on a running instance (plugged) and cold on a halted one; detach;
// retries at a device, taken devices and MACs, unknown networks; paused/suspended 409.
import { done, setState, spawnInstance } from './instance-helpers';
import { alice, bob, someNetwork, startDriverStack, type DriverStack } from './stack';

describe('nics', () => {
  let stack: DriverStack;
  let vmRef: string;
  beforeAll(async () => {
    stack = await startDriverStack();
    vmRef = await spawnInstance(stack, 'nic-1');
  });
  afterAll(async () => {
    await stack?.close();
  });

  const vifAt = (device: string): any =>
    (stack.sim.store.get('VM', vmRef) as any).VIFs.map((r: string) =>
      stack.sim.store.get('VIF', r),
    ).find((v: any) => v.device === device);

  it.each([
    ['Running', 'uuid'],
    ['Halted', 'name_label'],
    ['Running', 'bridge'],
  ] as const)(
    'attaches a NIC to a %s instance on a network named by %s, then detaches it',
    async (state, by) => {
      await setState(stack, vmRef, state);
      const net = someNetwork(stack);
      const mac = by === 'uuid' ? '02:aa:bb:cc:dd:01' : undefined;
      const op = stack.driver.attachNic(alice, 'nic-1', {
        network: net[by],
        device: '4',
        ...(mac ? { mac } : {}),
      });
      expect(op).toMatchObject({ kind: 'attach-nic', status: 'running' });
      const final = await done(stack, op);
      expect(final.error).toBeNull();
      const vif = vifAt('4');
      expect(vif).toMatchObject({ currently_attached: state === 'Running' });
      if (mac) expect(vif.MAC).toBe(mac);
      else expect(vif.MAC).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      expect(stack.driver.listNics(alice, 'nic-1')).toContainEqual(
        expect.objectContaining({ device: '4', network: net.uuid, attached: state === 'Running' }),
      );
      expect(stack.driver.getInstance(alice, 'nic-1').nics.map((n) => n.device)).toContain('4');

      // The same device and network again: nothing new.
      const replay = stack.driver.attachNic(alice, 'nic-1', {
        network: net.uuid,
        device: '4',
      });
      expect(replay.status).toBe('succeeded'); // answered at once, no new operation to wait for
      expect((stack.sim.store.get('VM', vmRef) as any).VIFs.length).toBe(
        stack.driver.listNics(alice, 'nic-1').length,
      );

      const detach = await done(stack, stack.driver.detachNic(alice, 'nic-1', '4'));
      expect(detach.error).toBeNull();
      expect(vifAt('4')).toBeUndefined();
      expect(stack.driver.detachNic(alice, 'nic-1', '4')).toBeNull();
    },
  );

  it('answers device_in_use for a device on another network or a MAC already used', async () => {
    await setState(stack, vmRef, 'Halted');
    const nets = stack.driver.networks();
    await done(
      stack,
      stack.driver.attachNic(alice, 'nic-1', {
        network: nets[0].uuid,
        device: '5',
        mac: '02:aa:bb:cc:dd:05',
      }),
    );
    const other = await done(
      stack,
      stack.driver.attachNic(alice, 'nic-1', { network: nets[1].uuid, device: '5' }),
    );
    expect(other).toMatchObject({
      status: 'failed',
      error: { status: 409, code: 'device_in_use' },
    });
    const sameMac = await done(
      stack,
      stack.driver.attachNic(alice, 'nic-1', {
        network: nets[0].uuid,
        mac: '02:AA:BB:CC:DD:05',
      }),
    );
    expect(sameMac).toMatchObject({
      status: 'failed',
      error: { status: 409, code: 'device_in_use' },
    });
    await done(stack, stack.driver.detachNic(alice, 'nic-1', '5'));
  });

  it('answers an unknown network 404 network_not_found, with nothing left behind', async () => {
    const before = (stack.sim.store.get('VM', vmRef) as any).VIFs.length;
    const final = await done(
      stack,
      stack.driver.attachNic(alice, 'nic-1', { network: 'no-such-net' }),
    );
    expect(final).toMatchObject({
      status: 'failed',
      error: { status: 404, code: 'network_not_found' },
    });
    expect((stack.sim.store.get('VM', vmRef) as any).VIFs.length).toBe(before);
  });

  it('undoes the VIF when the hot plug fails', async () => {
    await setState(stack, vmRef, 'Running');
    const before = [...stack.sim.store.all('VIF').keys()].sort();
    stack.sim.faults.add('fail:VIF.plug:1:INTERNAL_ERROR,plug failed');
    const final = await done(
      stack,
      stack.driver.attachNic(alice, 'nic-1', { network: someNetwork(stack).uuid }),
    );
    stack.sim.faults.clear();
    expect(final.status).toBe('failed');
    expect([...stack.sim.store.all('VIF').keys()].sort()).toEqual(before);
  });

  it.each(['Paused', 'Suspended'] as const)(
    'answers 409 invalid_power_state when %s',
    async (state) => {
      await setState(stack, vmRef, state);
      expect(() =>
        stack.driver.attachNic(alice, 'nic-1', { network: someNetwork(stack).uuid }),
      ).toThrow(expect.objectContaining({ status: 409, code: 'invalid_power_state' }));
      expect(() => stack.driver.listNics(bob, 'nic-1')).toThrow(
        expect.objectContaining({ status: 404 }),
      );
    },
  );
});
