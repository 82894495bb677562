// Behaviour of the console and diagnostics reads: XAPI's own console form of a running instance
// (host, port and the CONNECT path with a session id, from the console record) for admins only,
// 403 for operators and viewers, who get the proxied forms; 409 when halted, suspended or paused;
// the console log through the host's plugin, or 404 console_not_available where the host has
// none; and diagnostics from the metrics objects.
import type { Caller } from '../../src/driver';
import { setState, spawnInstance } from './instance-helpers';
import { alice, aliceViewer, startDriverStack, type DriverStack } from './stack';

const aliceAdmin: Caller = { namespace: 'alice', role: 'admin', tokenId: 'alice-admin' };
const origin = { host: '127.0.0.1', port: 8780, secure: false };

describe('console and diagnostics', () => {
  let stack: DriverStack;
  let vmRef: string;
  beforeAll(async () => {
    stack = await startDriverStack();
    vmRef = await spawnInstance(stack, 'con-1', {
      vcpus: 2,
      memory_mb: 512,
      nics: [{ network: stack.driver.networks()[0].uuid }],
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("gives XAPI's own console of a running instance as a noVNC proxy needs it", async () => {
    await setState(stack, vmRef, 'Running');
    const c = await stack.driver.console(aliceAdmin, 'con-1', 'xapi', origin);
    if (c.type !== 'xapi') throw new Error('not the xapi form');
    const vm = stack.sim.store.get('VM', vmRef) as any;
    const rec = (vm.consoles as string[])
      .map((r) => stack.sim.store.get('console', r) as any)
      .find((x) => x.protocol === 'rfb');
    const host = stack.sim.store.get('host', vm.resident_on) as any;
    expect(c).toMatchObject({
      protocol: 'vnc',
      host: host.address,
      port: Number(new URL(stack.sim.url).port), // where the service reaches XAPI, plain HTTP
      tls: false,
      url: rec.location,
      console_uuid: rec.uuid,
    });
    expect(c.path).toBe(
      `/console?uuid=${rec.uuid}&session_id=${encodeURIComponent(stack.xapi.sessionRef)}`,
    );
  });

  it.each(['Halted', 'Suspended', 'Paused'] as const)(
    'answers 409 invalid_power_state when %s, in every form',
    async (state) => {
      await setState(stack, vmRef, state);
      for (const type of ['xapi', 'vnc', 'tunnel', 'websocket', 'url'] as const)
        await expect(stack.driver.console(aliceAdmin, 'con-1', type, origin)).rejects.toMatchObject({
          status: 409,
          code: 'invalid_power_state',
          extra: {
            expected_power_states: ['running'],
            actual_power_state: state.toLowerCase(),
          },
        });
    },
  );

  it("the console answer carries the service's own XAPI session: operators and viewers get 403 forbidden, other namespaces 404", async () => {
    await setState(stack, vmRef, 'Running');
    for (const caller of [alice, aliceViewer]) {
      let thrown: unknown;
      try {
        await stack.driver.console(caller, 'con-1', 'xapi', origin);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toMatchObject({ status: 403, code: 'forbidden' });
      // Nothing of the session in the refusal.
      expect(JSON.stringify((thrown as { toJSON(): unknown }).toJSON())).not.toContain(
        stack.xapi.sessionRef,
      );
      expect((thrown as Error).message).toMatch(/admin/);
    }
    for (const type of ['xapi', 'vnc'] as const)
      await expect(
        stack.driver.console({ ...aliceAdmin, namespace: 'bob' }, 'con-1', type, origin),
      ).rejects.toMatchObject({ status: 404, code: 'instance_not_found' });
    // operators get the proxied forms, which carry no session
    const vnc = await stack.driver.console(alice, 'con-1', 'vnc', origin);
    expect(vnc).toMatchObject({ type: 'vnc', host: '127.0.0.1' });
    expect(JSON.stringify(vnc)).not.toContain(stack.xapi.sessionRef);
  });

  it('answers console_not_available where the host cannot read the console log', async () => {
    await setState(stack, vmRef, 'Running');
    await expect(stack.driver.consoleLog(alice, 'con-1')).rejects.toMatchObject({
      status: 404,
      code: 'console_not_available',
    });
    await setState(stack, vmRef, 'Halted');
    await expect(stack.driver.consoleLog(alice, 'con-1')).rejects.toMatchObject({
      status: 404,
      code: 'console_not_available',
    });
  });

  it('reads the console log through the host console plugin where the host has it', async () => {
    await setState(stack, vmRef, 'Running');
    for (const hostRef of stack.sim.store.all('host').keys())
      await stack.xapi.call('host.add_to_other_config', hostRef, 'sim_plugins', 'console');
    try {
      const log = await stack.driver.consoleLog(alice, 'con-1');
      expect(log.text).toContain('con-1 login:');
      expect(log.text).toContain('Linux version');
    } finally {
      for (const hostRef of stack.sim.store.all('host').keys())
        await stack.xapi.call('host.remove_from_other_config', hostRef, 'sim_plugins');
    }
  });

  it('reports diagnostics from the metrics objects of a running instance', async () => {
    await setState(stack, vmRef, 'Running');
    const d = stack.driver.diagnostics(alice, 'con-1');
    expect(d).toMatchObject({
      instance_id: 'con-1',
      power_state: 'running',
      driver: 'xen',
      memory: { max_mb: 512 },
    });
    expect(d.cpus).toHaveLength(2);
    for (const c of d.cpus) expect(c.utilisation).toBeGreaterThanOrEqual(0);
    expect(d.memory.actual_mb).toBeGreaterThan(0);
    expect(d.disks.length).toBeGreaterThan(0);
    expect(d.nics).toHaveLength(1);
    expect(d.nics[0].attached).toBe(true);
    expect(d.uptime_s).toBeGreaterThanOrEqual(0);
  });

  it('reports a halted instance with no vCPU figures and no uptime', async () => {
    await setState(stack, vmRef, 'Halted');
    const d = stack.driver.diagnostics(alice, 'con-1');
    expect(d).toMatchObject({
      power_state: 'shutdown',
      uptime_s: 0,
      cpus: [],
      memory: { actual_mb: 0 },
    });
    expect(d.nics[0].attached).toBe(false);
  });
});
