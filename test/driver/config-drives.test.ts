// The config drive of an existing instance rebuilt, through the driver: the new ISO holds the
// user data and metadata given and the NICs as they are now; a running instance gets it by a
// media change (VBD.eject, VBD.insert) without a restart, the former VDI destroyed; a halted
// instance without a drive gets a new CD; a running one without a drive, a paused one: 409; a
// fault at every XAPI call leaves the former drive in place and nothing behind.
import { readFileSync } from 'node:fs';
import { readIso } from './iso-reader';
import { done, setState, simVm, spawnInstance } from './instance-helpers';
import {
  alice,
  poolSnapshot,
  settle,
  someNetwork,
  startDriverStack,
  type DriverStack,
} from './stack';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('config drive updates', () => {
  let stack: DriverStack;
  let vmRef: string;
  beforeAll(async () => {
    stack = await startDriverStack();
    vmRef = await spawnInstance(stack, 'cd-1', {
      vcpus: 1,
      memory_mb: 256,
      nics: [{ network: someNetwork(stack).uuid }],
      user_data: b64('first'),
      metadata: { role: 'web' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const driveOf = (ref: string): Record<string, any> | undefined =>
    (simVm(stack, ref).VBDs as string[])
      .map((r) => stack.sim.store.get('VBD', r) as Record<string, any>)
      .find((v) => v.type === 'CD' && v.other_config.xcd_role === 'config-drive');
  const filesOf = (ref: string): Map<string, Buffer> => {
    const vdi = stack.sim.store.get('VDI', driveOf(ref)!.VDI) as Record<string, any>;
    return readIso(readFileSync(stack.sim.vdiContent(vdi.uuid as string))).files;
  };
  const json = (files: Map<string, Buffer>, name: string): any =>
    JSON.parse(files.get(`openstack/latest/${name}`)!.toString());
  const macs = (ref: string): string[] =>
    (simVm(stack, ref).VIFs as string[])
      .map((r) => stack.sim.store.get('VIF', r) as Record<string, any>)
      .sort((a, b) => Number(a.device) - Number(b.device))
      .map((v) => String(v.MAC).toLowerCase());

  it('swaps a running instance drive by a media change, without a restart', async () => {
    expect(filesOf(vmRef).get('openstack/latest/user_data')!.toString()).toBe('first');
    const drive = driveOf(vmRef)!;
    const oldVdi = drive.VDI as string;
    const domid = simVm(stack, vmRef).domid;
    stack.calls.length = 0;
    const op = stack.driver.updateConfigDrive(alice, 'cd-1', {
      user_data: b64('second'),
      metadata: { role: 'db' },
    });
    const final = await done(stack, op);
    expect(final).toMatchObject({ status: 'succeeded', kind: 'update-config-drive' });
    expect(stack.calls).toEqual(
      expect.arrayContaining(['VDI.create', 'VBD.eject', 'VBD.insert', 'VDI.destroy']),
    );
    expect(stack.calls).not.toContain('VM.hard_shutdown');
    const now = driveOf(vmRef)!;
    expect(now.userdevice).toBe(drive.userdevice);
    expect(now.VDI).not.toBe(oldVdi);
    expect(now.currently_attached).toBe(true);
    expect(stack.sim.store.has('VDI', oldVdi)).toBe(false);
    expect(simVm(stack, vmRef)).toMatchObject({ power_state: 'Running', domid });
    const files = filesOf(vmRef);
    expect(files.get('openstack/latest/user_data')!.toString()).toBe('second');
    expect(json(files, 'meta_data.json')).toMatchObject({ uuid: 'cd-1', role: 'db' });
    expect(json(files, 'meta_data.json').role).toBe('db');
    expect(json(files, 'network_data.json').links.map((l: any) => l.ethernet_mac_address)).toEqual(
      macs(vmRef),
    );
    expect((stack.sim.store.get('VDI', now.VDI) as Record<string, any>).other_config).toMatchObject(
      { xcd_namespace: 'alice', xcd_instance_id: 'cd-1', xcd_role: 'config-drive' },
    );
  });

  it('carries a NIC attached since, and drops the user data left out', async () => {
    const nic = await done(
      stack,
      stack.driver.attachNic(alice, 'cd-1', { network: someNetwork(stack).uuid }),
    );
    expect(nic.status).toBe('succeeded');
    await done(stack, stack.driver.updateConfigDrive(alice, 'cd-1', { metadata: { n: 2 } }));
    const files = filesOf(vmRef);
    expect(files.has('openstack/latest/user_data')).toBe(false);
    const links = json(files, 'network_data.json').links;
    expect(links).toHaveLength(2);
    expect(links.map((l: any) => l.ethernet_mac_address)).toEqual(macs(vmRef));
  });

  it('leaves the former drive in place when any XAPI call of an update fails', async () => {
    stack.calls.length = 0;
    const ok = await done(stack, stack.driver.updateConfigDrive(alice, 'cd-1', { metadata: {} }));
    expect(ok.status).toBe('succeeded');
    // The former VDI's destroy comes after the swap: a failure there leaves the new drive in
    // place (and a retry removes the former), so it is no point of this check.
    const made = stack.calls.filter(
      (m) => !/^VM\.(add_to|remove_from)_other_config$/.test(m) && m !== 'VDI.destroy',
    );
    expect(made).toEqual(expect.arrayContaining(['VDI.create', 'VBD.eject', 'VBD.insert']));
    const seen = new Map<string, number>();
    const failures: string[] = [];
    for (const method of made) {
      const nth = (seen.get(method) ?? 0) + 1;
      seen.set(method, nth);
      const before = { pool: poolSnapshot(stack.sim), drive: driveOf(vmRef)!.VDI };
      stack.sim.faults.add(`fail:${method}:${nth}:INTERNAL_ERROR,injected`);
      const final = await settle(
        stack,
        alice,
        stack.driver.updateConfigDrive(alice, 'cd-1', { user_data: b64('never') }),
      );
      stack.sim.faults.clear();
      const where = `${method} #${nth}`;
      if (final.status !== 'failed') failures.push(`${where}: ${final.status}`);
      const after = { pool: poolSnapshot(stack.sim), drive: driveOf(vmRef)!.VDI };
      if (JSON.stringify(after) !== JSON.stringify(before))
        failures.push(`${where}: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
    }
    expect(failures).toEqual([]);
    expect(filesOf(vmRef).has('openstack/latest/user_data')).toBe(false);
  });

  it('gives a halted instance without a drive one; running without one or paused: 409', async () => {
    const ref = await spawnInstance(stack, 'cd-2', { vcpus: 1, memory_mb: 256 });
    expect(driveOf(ref)).toBeUndefined();
    await setState(stack, ref, 'Running');
    const before = poolSnapshot(stack.sim);
    expect(() => stack.driver.updateConfigDrive(alice, 'cd-2', { user_data: b64('x') })).toThrow(
      expect.objectContaining({ status: 409, code: 'invalid_power_state' }),
    );
    await setState(stack, vmRef, 'Paused');
    expect(() => stack.driver.updateConfigDrive(alice, 'cd-1', {})).toThrow(
      expect.objectContaining({ status: 409, code: 'invalid_power_state' }),
    );
    expect(poolSnapshot(stack.sim)).toEqual(before);
    await setState(stack, ref, 'Halted');
    const final = await done(
      stack,
      stack.driver.updateConfigDrive(alice, 'cd-2', { user_data: b64('late') }),
    );
    expect(final.status).toBe('succeeded');
    expect(driveOf(ref)).toMatchObject({ type: 'CD', mode: 'RO' });
    expect(filesOf(ref).get('openstack/latest/user_data')!.toString()).toBe('late');
  });
});
