// The HTTP surface of the networks the service makes and of NICs on VLANs and ports, on the real
// stack (responses validated against the spec): PUT /v1/networks/{name} for admins (201 made,
// 200 as asked, 403 for others, 422 outside the range, 409 clashes), GET /v1/networks showing
// `managed` and `vlan`, NICs with `vlan` and `port_id`, a spawn's maxima, and bodies the
// contract refuses (400).
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
const wait = { prefer: 'wait=15' };

beforeAll(async () => {
  stack = await startStack({ driver: { vlans: { device: 'eth1', min: 300, max: 399 } } });
});
afterAll(async () => {
  await stack?.close();
});

async function template(): Promise<string> {
  const items = (await stack.request('GET', '/v1/templates')).body.items;
  return (items.find((t: { disk_gb?: number }) => t.disk_gb) ?? items[0]).uuid;
}

test('an admin makes a VLAN network; it is listed as managed with its VLAN', async () => {
  const admin = stack.tokens.admin;
  const made = await stack.request('PUT', '/v1/networks/tenant-1', {
    token: admin,
    body: { vlan: 300, description: 'tenant one' },
  });
  expect([made.status, made.body]).toEqual([
    201,
    expect.objectContaining({ name_label: 'tenant-1', managed: true, vlan: 300 }),
  ]);
  const again = await stack.request('PUT', '/v1/networks/tenant-1', {
    token: admin,
    body: { vlan: 300 },
  });
  expect([again.status, again.body.uuid]).toEqual([200, made.body.uuid]);
  const list = (await stack.request('GET', '/v1/networks')).body.items;
  expect(list).toContainEqual(expect.objectContaining({ uuid: made.body.uuid, managed: true }));
  expect(list.find((n: { bridge: string }) => n.bridge === 'xenbr0')).toMatchObject({
    managed: false,
  });
  for (const [body, status, code] of [[{ vlan: 300 }, 403, 'forbidden']] as const) {
    const res = await stack.request('PUT', '/v1/networks/tenant-2', { body });
    expect([res.status, res.body.code]).toEqual([status, code]);
  }
  for (const [name, body, status, code] of [
    ['tenant-2', { vlan: 200 }, 422, 'vlan_not_allowed'],
    ['tenant-2', { vlan: '301' }, 400, 'invalid_request'],
    ['tenant-2', {}, 400, 'invalid_request'],
    ['tenant-2', { vlan: 300 }, 409, 'network_exists'],
    ['VLAN 100', { vlan: 301 }, 409, 'network_exists'],
  ] as const) {
    const res = await stack.request('PUT', `/v1/networks/${encodeURIComponent(name)}`, {
      token: admin,
      body,
    });
    expect([name, res.status, res.body.code]).toEqual([name, status, code]);
  }
});

test('NICs join a VLAN and carry a port id, at spawn and on attach', async () => {
  const spawned = await stack.request('PUT', '/v1/instances/nw-1', {
    body: {
      template: await template(),
      vcpus: 1,
      max_vcpus: 2,
      memory_mb: 256,
      max_memory_mb: 512,
      nics: [{ vlan: 310, port_id: 'port-a' }],
    },
    headers: wait,
  });
  expect([spawned.status, spawned.body.status]).toEqual([200, 'succeeded']);
  expect(spawned.body.result).toMatchObject({
    vcpus: 1,
    max_vcpus: 2,
    memory_mb: 256,
    max_memory_mb: 512,
  });
  const attached = await stack.request('POST', '/v1/instances/nw-1/nics', {
    body: { vlan: 311, port_id: 'port-b', device: '2' },
    headers: wait,
  });
  expect([attached.status, attached.body.status]).toEqual([200, 'succeeded']);
  const nics = (await stack.request('GET', '/v1/instances/nw-1/nics')).body.items;
  expect(nics).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ port_id: 'port-a' }),
      expect.objectContaining({ device: '2', port_id: 'port-b', attached: true }),
    ]),
  );
  const ids = stack.sim.ovsPorts().map((p) => p.external_ids['iface-id']);
  expect(ids).toEqual(expect.arrayContaining(['port-a', 'port-b']));
  for (const body of [
    { network: 'xenbr0', vlan: 312 },
    {},
    { port_id: 'port-c' },
    { vlan: 0 },
    { network: 'xenbr0', port_id: 'bad port' },
  ]) {
    const res = await stack.request('POST', '/v1/instances/nw-1/nics', { body });
    expect([JSON.stringify(body), res.status, res.body.code]).toEqual([
      JSON.stringify(body),
      400,
      'invalid_request',
    ]);
  }
  const far = await stack.request('POST', '/v1/instances/nw-1/nics', { body: { vlan: 100 } });
  expect([far.status, far.body.code]).toEqual([422, 'vlan_not_allowed']);
});

test('an admin removes a VLAN network once no NIC is on it; VLANs and PIFs go with it', async () => {
  const admin = stack.tokens.admin;
  const made = await stack.request('PUT', '/v1/networks/tenant-9', {
    token: admin,
    body: { vlan: 309 },
  });
  expect(made.status).toBe(201);
  const vlanPifs = (): number =>
    [...stack.sim.store.all('PIF').values()].filter((p) => Number(p.VLAN) === 309).length;
  expect(vlanPifs()).toBeGreaterThan(0);
  const spawned = await stack.request('PUT', '/v1/instances/nw-9', {
    body: { template: await template(), vcpus: 1, memory_mb: 256, nics: [{ vlan: 309 }] },
    headers: wait,
  });
  expect(spawned.body.status).toBe('succeeded');
  const inUse = await stack.request('DELETE', '/v1/networks/tenant-9', { token: admin });
  expect([inUse.status, inUse.body.code, inUse.body.vifs]).toEqual([409, 'network_in_use', 1]);
  for (const [name, token, status, code] of [
    ['tenant-9', undefined, 403, 'forbidden'],
    ['VLAN 100', admin, 409, 'operation_not_allowed'],
    ['no-such-network', admin, 404, 'network_not_found'],
  ] as const) {
    const res = await stack.request('DELETE', `/v1/networks/${encodeURIComponent(name)}`, {
      ...(token ? { token } : {}),
    });
    expect([name, res.status, res.body.code]).toEqual([name, status, code]);
  }
  expect((await stack.request('DELETE', '/v1/instances/nw-9', { headers: wait })).status).toBe(200);
  const removed = await stack.request('DELETE', '/v1/networks/tenant-9', { token: admin });
  expect(removed.status).toBe(204);
  expect(vlanPifs()).toBe(0);
  expect([...stack.sim.store.all('VLAN').values()].filter((v) => Number(v.tag) === 309)).toEqual(
    [],
  );
  const list = (await stack.request('GET', '/v1/networks')).body.items;
  expect(list.find((n: { uuid: string }) => n.uuid === made.body.uuid)).toBeUndefined();
  const again = await stack.request('DELETE', '/v1/networks/tenant-9', { token: admin });
  expect([again.status, again.body.code]).toEqual([404, 'network_not_found']);
  // A NIC asking for the VLAN afterwards gets a network made again.
  const respawned = await stack.request('PUT', '/v1/instances/nw-10', {
    body: { template: await template(), vcpus: 1, memory_mb: 256, nics: [{ vlan: 309 }] },
    headers: wait,
  });
  expect(respawned.body.status).toBe('succeeded');
  expect(vlanPifs()).toBeGreaterThan(0);
});
