// iSCSI storage as xapi and its storage manager answer it, over JSON-RPC: each host's initiator
// IQN; SR.introduce (SR_UUID_EXISTS); PBD.plug of an `iscsi` SR logging in to a target registered
// through handle.iscsi, refusing a missing target or IQN, an unreachable portal, an unknown IQN,
// wrong CHAP or an initiator the target does not allow with sm's SR_BACKEND_FAILURE_<n>; SR.scan
// finding one VDI per LUN (stable uuids, sm_config LUNid / SCSIid); SR_HAS_PBD and SR.forget;
// SR.create of an lvmoiscsi SR checking its SCSIid.
import { expectFault, openSim, type SimFixture } from '../../helpers/xapi-rpc';

const GIB = 1024 ** 3;
const IQN = 'iqn.2004-04.com.example:store';
let f: SimFixture;
let hosts: string[];

beforeAll(async () => {
  f = await openSim({ timeScale: 0 });
  f.sim.iscsi.add({
    portal: '192.0.2.10',
    iqn: IQN,
    luns: [
      { lun: 0, sizeBytes: 4 * GIB },
      { lun: 3, sizeBytes: 1 * GIB, scsiId: '36001405deadbeef' },
    ],
    chap: { user: 'u1', password: 'p1' },
  });
  hosts = await f.rpc.call<string[]>('host.get_all');
});
afterAll(async () => {
  await f.sim.close();
});

const SR_UUID = '0b6a4c32-3f7e-5a1c-9d2e-1f2a3b4c5d6e';

async function introduce(uuid = SR_UUID): Promise<string> {
  return f.rpc.call<string>('SR.introduce', uuid, 'iscsi sr', '', 'iscsi', '', true, {});
}

async function pbd(srRef: string, dc: Record<string, string>, host = hosts[0]): Promise<string> {
  return f.rpc.call<string>('PBD.create', { host, SR: srRef, device_config: dc });
}

const GOOD = {
  target: '192.0.2.10',
  port: '3260',
  targetIQN: IQN,
  chapuser: 'u1',
  chappassword: 'p1',
};

test('every host has its own initiator IQN, in host.iscsi_iqn and other_config', async () => {
  const iqns = new Set<string>();
  for (const h of hosts) {
    const rec = await f.rpc.call('host.get_record', h);
    expect(rec.iscsi_iqn).toMatch(/^iqn\./);
    expect(rec.other_config.iscsi_iqn).toBe(rec.iscsi_iqn);
    iqns.add(rec.iscsi_iqn);
  }
  expect(iqns.size).toBe(hosts.length);
});

test('PBD.plug logs in to the target, or fails with the storage manager error', async () => {
  const sr = await introduce();
  expect(await f.rpc.call('SR.get_record', sr)).toMatchObject({
    uuid: SR_UUID,
    type: 'iscsi',
    shared: true,
    PBDs: [],
  });
  await expectFault(introduce(), 'SR_UUID_EXISTS', [SR_UUID]);
  const cases: Array<[Record<string, string | undefined>, string, RegExp]> = [
    [{ target: undefined }, 'SR_BACKEND_FAILURE_95', /missing the target parameter/],
    [{ targetIQN: undefined }, 'SR_BACKEND_FAILURE_96', /target IQN/],
    [{ port: '99999' }, 'SR_BACKEND_FAILURE_142', /iSCSI port/],
    [{ target: '192.0.2.99' }, 'SR_BACKEND_FAILURE_141', /Unable to connect to ISCSI service/],
    [{ port: '3261' }, 'SR_BACKEND_FAILURE_141', /Unable to connect/],
    [{ targetIQN: 'iqn.2004-04.com.example:other' }, 'SR_BACKEND_FAILURE_83', /discovery failed/],
    [{ chappassword: 'nope' }, 'SR_BACKEND_FAILURE_68', /ISCSI login failed/],
    [{ chapuser: undefined, chappassword: undefined }, 'SR_BACKEND_FAILURE_68', /login failed/],
  ];
  for (const [change, code, text] of cases) {
    const dc: Record<string, string> = { ...GOOD };
    for (const [k, v] of Object.entries(change))
      if (v === undefined) delete dc[k];
      else dc[k] = v;
    const ref = await pbd(sr, dc);
    const fault = await expectFault(f.rpc.call('PBD.plug', ref), code);
    expect(fault.params).toHaveLength(3);
    expect(fault.params[1]).toMatch(text);
    expect((await f.rpc.call('PBD.get_record', ref)).currently_attached).toBe(false);
    await f.rpc.call('PBD.destroy', ref);
  }
  // SR.scan needs an attached PBD.
  await expectFault(f.rpc.call('SR.scan', sr), 'SR_HAS_NO_PBDS', [sr]);

  const good = await pbd(sr, GOOD);
  await f.rpc.call('PBD.plug', good);
  expect((await f.rpc.call('PBD.get_record', good)).currently_attached).toBe(true);
  await f.rpc.call('SR.scan', sr);
  const vdis = await f.rpc.call<Record<string, any>>('VDI.get_all_records');
  const mine = Object.entries(vdis).filter(([, v]) => v.SR === sr);
  expect(mine.map(([, v]) => [v.sm_config.LUNid, v.virtual_size, v.managed]).sort()).toEqual([
    ['0', 4 * GIB, true],
    ['3', 1 * GIB, true],
  ]);
  expect(mine.find(([, v]) => v.sm_config.LUNid === '3')![1].sm_config.SCSIid).toBe(
    '36001405deadbeef',
  );
  expect((await f.rpc.call('SR.get_record', sr)).physical_size).toBe(5 * GIB);
  // A second scan finds the same VDIs.
  await f.rpc.call('SR.scan', sr);
  const again = await f.rpc.call<string[]>('SR.get_VDIs', sr);
  expect(again.sort()).toEqual(mine.map(([r]) => r).sort());
  const uuids = mine.map(([, v]) => v.uuid).sort();

  // Forget: refused while a PBD is attached; then the records go, the LUNs stay on the target.
  await expectFault(f.rpc.call('SR.forget', sr), 'SR_HAS_PBD', [sr]);
  await f.rpc.call('PBD.unplug', good);
  await f.rpc.call('PBD.destroy', good);
  await f.rpc.call('SR.forget', sr);
  await expectFault(f.rpc.call('SR.get_record', sr), 'HANDLE_INVALID');
  for (const [ref] of mine) await expectFault(f.rpc.call('VDI.get_record', ref), 'HANDLE_INVALID');

  // Introduced again, the LUNs come back with the same VDI uuids.
  const sr2 = await introduce();
  const p2 = await pbd(sr2, GOOD);
  await f.rpc.call('PBD.plug', p2);
  await f.rpc.call('SR.scan', sr2);
  const back = await f.rpc.call<string[]>('SR.get_VDIs', sr2);
  const backUuids = await Promise.all(back.map((r) => f.rpc.call<string>('VDI.get_uuid', r)));
  expect(backUuids.sort()).toEqual(uuids);
  await f.rpc.call('PBD.unplug', p2);
  await f.rpc.call('PBD.destroy', p2);
  await f.rpc.call('SR.forget', sr2);
});

test('a target that allows some initiators refuses the other hosts', async () => {
  const first = await f.rpc.call<string>('host.get_iscsi_iqn', hosts[0]);
  f.sim.iscsi.add({
    portal: '192.0.2.20:3260',
    iqn: 'iqn.2004-04.com.example:acl',
    luns: [{ lun: 0, sizeBytes: GIB }],
    initiators: [first],
  });
  const sr = await introduce('7d3f0a5e-2b1c-5e4d-8f9a-0b1c2d3e4f5a');
  const dc = { target: '192.0.2.20', targetIQN: 'iqn.2004-04.com.example:acl' };
  const ok = await pbd(sr, dc, hosts[0]);
  await f.rpc.call('PBD.plug', ok);
  const refused = await pbd(sr, dc, hosts[1]);
  await expectFault(f.rpc.call('PBD.plug', refused), 'SR_BACKEND_FAILURE_68');
  // Once the target is gone, a plug cannot reach it.
  expect(f.sim.iscsi.remove('192.0.2.20', 'iqn.2004-04.com.example:acl')).toBe(true);
  await expectFault(f.rpc.call('PBD.plug', refused), 'SR_BACKEND_FAILURE_141');
  await f.rpc.call('PBD.unplug', ok);
  for (const p of [ok, refused]) await f.rpc.call('PBD.destroy', p);
  await f.rpc.call('SR.forget', sr);
});

test('SR.create of an lvmoiscsi SR logs in on every host and checks the SCSIid', async () => {
  const dc = { ...GOOD, SCSIid: 'no-such-id' };
  const args = [hosts[0], dc, 0, 'lvm on iscsi', '', 'lvmoiscsi', 'user', true, {}];
  await expectFault(f.rpc.call('SR.create', ...args), 'SR_BACKEND_FAILURE_107');
  const sr = await f.rpc.call<string>(
    'SR.create',
    hosts[0],
    { ...GOOD, SCSIid: '36001405deadbeef' },
    0,
    'lvm on iscsi',
    '',
    'lvmoiscsi',
    'user',
    true,
    {},
  );
  const pbds = await f.rpc.call<string[]>('SR.get_PBDs', sr);
  expect(pbds).toHaveLength(hosts.length);
  for (const p of pbds) await f.rpc.call('PBD.unplug', p);
  await f.rpc.call('SR.forget', sr);
});

test('the handle refuses a LUN without a size', () => {
  expect(() =>
    f.sim.iscsi.add({ portal: 'x', iqn: IQN, luns: [{ lun: 0, sizeBytes: 0 }] }),
  ).toThrow(/bad LUN/);
  expect(f.sim.iscsi.list().map((t) => t.iqn)).toContain(IQN);
});

test('POST /sim/control registers a target for simulators run as a process', async () => {
  const post = async (body: unknown): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${f.sim.url}/sim/control`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  const bad = await post({ iscsi_target: { portal: '192.0.2.30', luns: [] } });
  expect([bad.status, bad.body.ok]).toEqual([400, false]);
  const ok = await post({
    iscsi_target: {
      portal: '192.0.2.30:3260',
      iqn: 'iqn.2004-04.com.example:ctl',
      luns: [{ lun: 0, sizeBytes: GIB }],
    },
  });
  expect([ok.status, ok.body.ok]).toEqual([200, true]);
  const sr = await introduce('3e4f5a6b-7c8d-5e9f-a0b1-c2d3e4f5a6b7');
  const p = await pbd(sr, { target: '192.0.2.30', targetIQN: 'iqn.2004-04.com.example:ctl' });
  await f.rpc.call('PBD.plug', p);
  await f.rpc.call('SR.scan', sr);
  expect(await f.rpc.call<string[]>('SR.get_VDIs', sr)).toHaveLength(1);
  await f.rpc.call('PBD.unplug', p);
  await f.rpc.call('PBD.destroy', p);
  await f.rpc.call('SR.forget', sr);
});

test('SR.probe lists a portal IQNs, an lvmoiscsi target LUNs, then the SRs known for it', async () => {
  const probe = (dc: Record<string, string>, type = 'lvmoiscsi'): Promise<string> =>
    f.rpc.call<string>('SR.probe', hosts[0], dc, type, {});
  await expectFault(probe({ target: '192.0.2.99' }), 'SR_BACKEND_FAILURE_141');
  const iqns = await expectFault(probe({ target: '192.0.2.10' }), 'SR_BACKEND_FAILURE_96');
  expect(iqns.params[2]).toContain(`<TargetIQN>${IQN}</TargetIQN>`);
  await expectFault(probe({ ...GOOD, chappassword: 'x' }), 'SR_BACKEND_FAILURE_68');
  const luns = await expectFault(probe(GOOD), 'SR_BACKEND_FAILURE_107');
  expect(luns.params[2]).toContain('<LUNid>3</LUNid>');
  expect(luns.params[2]).toContain('<SCSIid>36001405deadbeef</SCSIid>');
  expect(await probe({ ...GOOD, SCSIid: '36001405deadbeef' })).toContain('<SRlist>');
  expect(await probe(GOOD, 'iscsi')).toContain('<SRlist>');
  await expectFault(probe(GOOD, 'nfs'), 'NOT_IMPLEMENTED');
});

test('a PBD password becomes a secret object, read by the login and destroyed with the PBD', async () => {
  const before = f.sim.secrets().length;
  const sr = await introduce('5a6b7c8d-9e0f-5a1b-8c2d-3e4f5a6b7c8d');
  const ref = await pbd(sr, GOOD);
  const rec = await f.rpc.call('PBD.get_record', ref);
  expect(rec.device_config.chappassword).toBeUndefined();
  const secretRef = await f.rpc.call<string>(
    'secret.get_by_uuid',
    rec.device_config.chappassword_secret,
  );
  expect(await f.rpc.call('secret.get_value', secretRef)).toBe('p1');
  expect(f.sim.secrets()).toHaveLength(before + 1);
  await f.rpc.call('PBD.plug', ref); // the login reads the secret
  await f.rpc.call('PBD.unplug', ref);
  await f.rpc.call('PBD.destroy', ref);
  expect(f.sim.secrets()).toHaveLength(before);
  await expectFault(f.rpc.call('secret.get_value', secretRef), 'HANDLE_INVALID');
  await f.rpc.call('SR.forget', sr);
});
