// Behaviour of spawn through the driver's public surface on a simulated pool: the objects a full
// spawn makes (VM, disks, NICs, config drive, tags, started), idempotent retries, a different
// body answered 409, names that do not resolve answered 404, and namespace isolation.
import { waitForMirror } from '../../src/driver/mirror-wait';
import { readIso } from './iso-reader';
import {
  alice,
  aliceViewer,
  bob,
  poolSnapshot,
  provisioningTemplate,
  settle,
  someNetwork,
  startDriverStack,
  vmOf,
  type DriverStack,
} from './stack';

const GiB = 1024 ** 3;

describe('driver spawn', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  function fullBody(): any {
    const net = someNetwork(stack);
    return {
      name: 'web-1',
      template: provisioningTemplate(stack),
      vcpus: 2,
      memory_mb: 1024,
      root_disk_gb: 40,
      disks: [{ size_gb: 5 }],
      nics: [{ network: net.uuid }, { network: net.bridge, mac: '02:00:00:aa:bb:cc' }],
      user_data: Buffer.from('#cloud-config\nhostname: web-1\n').toString('base64'),
      metadata: { meta: { role: 'web' } },
    };
  }

  it('builds the VM with its disks, NICs, config drive and tags, and starts it', async () => {
    const { operation, replayed } = stack.driver.spawn(alice, 'inst-full', fullBody());
    expect(replayed).toBe(false);
    expect(operation).toMatchObject({ kind: 'spawn', instance_id: 'inst-full', status: 'running' });
    const done = await settle(stack, alice, operation);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.progress).toBe(1);
    expect(done.result).toMatchObject({
      id: 'inst-full',
      name: 'web-1',
      namespace: 'alice',
      state: 'active',
      power_state: 'running',
      xapi_power_state: 'Running',
      vcpus: 2,
      memory_mb: 1024,
    });

    const inst = stack.driver.getInstance(alice, 'inst-full');
    const vm = vmOf(stack, inst.uuid);
    expect(vm.is_a_template).toBe(false);
    expect(vm.power_state).toBe('Running');
    expect(Number(vm.VCPUs_max)).toBe(2);
    expect(Number(vm.VCPUs_at_startup)).toBe(2);
    expect(Number(vm.memory_static_max)).toBe(1024 * 1024 * 1024);
    expect(Number(vm.memory_dynamic_max)).toBe(1024 * 1024 * 1024);
    expect(vm.other_config).toMatchObject({
      xcd_instance_id: 'inst-full',
      xcd_namespace: 'alice',
      xcd_state: 'active',
    });
    expect(vm.other_config.xcd_spec).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.parse(vm.other_config.xcd_operation)).toMatchObject({
      id: operation.id,
      kind: 'spawn',
      status: 'succeeded',
    });

    const disks = inst.disks.filter((d) => d.type === 'disk');
    expect(disks.map((d) => d.size_gb).sort((a, b) => a - b)).toEqual([5, 40]);
    expect(disks.find((d) => d.device === '0')).toMatchObject({ bootable: true, size_gb: 40 });
    const cd = inst.disks.find((d) => d.type === 'cdrom' && d.uuid);
    expect(cd).toBeDefined();
    expect(inst.nics).toHaveLength(2);
    expect(inst.nics[1]).toMatchObject({ device: '1', mac: '02:00:00:aa:bb:cc' });

    // Every disk and NIC the spawn made carries the instance's tags.
    const store = stack.sim.store;
    for (const vbdRef of vm.VBDs as string[]) {
      const vbd = store.get('VBD', vbdRef) as any;
      if (vbd.VDI === 'OpaqueRef:NULL') continue;
      const vdi = store.get('VDI', vbd.VDI) as any;
      expect(vdi.other_config).toMatchObject({
        xcd_instance_id: 'inst-full',
        xcd_namespace: 'alice',
      });
    }
    for (const vifRef of vm.VIFs as string[])
      expect((store.get('VIF', vifRef) as any).other_config).toMatchObject({
        xcd_instance_id: 'inst-full',
        xcd_role: 'nic',
      });

    // The config drive: a read-only CD holding the OpenStack layout.
    const cdVdiRef = store.byUuid('VDI', cd!.uuid)!;
    const cdVbd = [...store.all('VBD').values()].find((b: any) => b.VDI === cdVdiRef) as any;
    expect(cdVbd).toMatchObject({ type: 'CD', mode: 'RO' });
    const res = await fetch(`${stack.sim.url}/export_raw_vdi?vdi=${cd!.uuid}`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${stack.sim.user}:${stack.sim.password}`).toString('base64')}`,
      },
    });
    const iso = readIso(Buffer.from(await res.arrayBuffer()));
    expect(iso.label).toBe('config-2');
    expect(iso.files.get('openstack/latest/user_data')!.toString()).toContain('hostname: web-1');
    const meta = JSON.parse(iso.files.get('openstack/latest/meta_data.json')!.toString());
    expect(meta).toMatchObject({ uuid: 'inst-full', meta: { role: 'web' } });
    const net = JSON.parse(iso.files.get('openstack/latest/network_data.json')!.toString());
    expect(net.links.map((l: any) => l.ethernet_mac_address)).toEqual(
      inst.nics.map((n) => n.mac.toLowerCase()),
    );
  });

  it('answers a retry with the same body with the same operation, without new objects', async () => {
    const body = fullBody();
    const first = stack.driver.spawn(alice, 'inst-retry', body);
    const again = stack.driver.spawn(alice, 'inst-retry', { ...body });
    expect(again).toEqual({
      operation: expect.objectContaining({ id: first.operation.id }),
      replayed: true,
    });
    await settle(stack, alice, first.operation);
    const before = poolSnapshot(stack.sim);
    const later = stack.driver.spawn(alice, 'inst-retry', JSON.parse(JSON.stringify(body)));
    expect(later.replayed).toBe(true);
    expect(later.operation).toMatchObject({ id: first.operation.id, status: 'succeeded' });
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });

  it('answers a spawn of an existing id with a different body 409 conflict_spawn_mismatch', async () => {
    const body = { template: provisioningTemplate(stack), power_on: false };
    const first = stack.driver.spawn(alice, 'inst-mismatch', body);
    expect(() => stack.driver.spawn(alice, 'inst-mismatch', { ...body, vcpus: 4 })).toThrow(
      expect.objectContaining({ status: 409, code: 'conflict_spawn_mismatch' }),
    );
    await settle(stack, alice, first.operation);
    expect(() => stack.driver.spawn(alice, 'inst-mismatch', { ...body, memory_mb: 2048 })).toThrow(
      expect.objectContaining({ status: 409, code: 'conflict_spawn_mismatch' }),
    );
    expect(stack.driver.getInstance(alice, 'inst-mismatch').power_state).toBe('shutdown');
  });

  it('answers names that do not resolve with 404 before touching the pool', () => {
    const before = poolSnapshot(stack.sim);
    const t = provisioningTemplate(stack);
    const cases: Array<[any, string]> = [
      [{ template: 'no-such-template' }, 'template_not_found'],
      [{ image_vdi: '00000000-0000-0000-0000-000000000000' }, 'image_not_found'],
      [{ template: t, nics: [{ network: 'no-such-net' }] }, 'network_not_found'],
      [{ template: t, sr: '00000000-0000-0000-0000-000000000000' }, 'sr_not_found'],
      [
        { template: t, disks: [{ size_gb: 1, sr: '00000000-0000-0000-0000-000000000001' }] },
        'sr_not_found',
      ],
    ];
    for (const [body, code] of cases)
      expect(() => stack.driver.spawn(alice, 'inst-404', body)).toThrow(
        expect.objectContaining({ status: 404, code }),
      );
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });

  it('spawns from an image VDI copy on a blank HVM VM', async () => {
    // A disk the caller's namespace keeps (ownership.test.ts covers which VDIs qualify).
    const sr = stack.xapi.mirror.query('pool', { fields: ['default_SR'] })[0].default_SR;
    const imageRef = await stack.xapi.call<string>('VDI.create', {
      SR: sr,
      virtual_size: 3 * GiB,
      type: 'user',
      sharable: false,
      read_only: false,
      other_config: { xcd_namespace: 'alice', xcd_instance_id: 'old-1', xcd_state: 'kept' },
      name_label: 'image',
    });
    const image = stack.sim.store.get('VDI', imageRef) as any;
    await waitForMirror(stack.xapi.mirror, () => !!stack.xapi.mirror.get('VDI', imageRef), 5000);
    const { operation } = stack.driver.spawn(alice, 'inst-image', {
      image_vdi: image.uuid,
      vcpus: 2,
      memory_mb: 256,
      power_on: false,
    });
    const done = await settle(stack, alice, operation);
    expect(done.error).toBeNull();
    const inst = stack.driver.getInstance(alice, 'inst-image');
    expect(inst).toMatchObject({
      vcpus: 2,
      memory_mb: 256,
      power_state: 'shutdown',
      template: `image:${image.uuid}`,
    });
    const root = inst.disks.find((d) => d.device === '0')!;
    expect(root.uuid).not.toBe(image.uuid);
    expect(root.size_gb).toBeCloseTo(Number(image.virtual_size) / GiB, 2);
  });

  it('spawns from a template named by name_label, made from an instance: copied onto the named SR, disks re-tagged', async () => {
    const base = stack.driver.spawn(alice, 'tpl-base', {
      template: provisioningTemplate(stack),
      power_on: false,
      vcpus: 4,
      disks: [{ size_gb: 1 }],
    });
    await settle(stack, alice, base.operation);
    const baseInst = stack.driver.getInstance(alice, 'tpl-base');
    const baseRef = stack.sim.store.byUuid('VM', baseInst.uuid)!;
    const tplRef = await stack.xapi.call<string>('VM.clone', baseRef, 'golden image');
    await stack.xapi.call('VM.set_is_a_template', tplRef, true);
    const tplUuid = (stack.sim.store.get('VM', tplRef) as any).uuid as string;
    for (let i = 0; i < 300 && !stack.driver.templates().some((t) => t.uuid === tplUuid); i++)
      await new Promise((r) => setTimeout(r, 5));
    const sr = stack.driver.srs().find((s) => !s.default && s.content_type !== 'iso')!;
    const before = poolSnapshot(stack.sim);

    stack.calls.length = 0;
    const { operation } = stack.driver.spawn(alice, 'from-golden', {
      template: 'golden image',
      sr: sr.uuid,
      vcpus: 2,
      power_on: false,
    });
    const done = await settle(stack, alice, operation);
    expect(done.error).toBeNull();
    expect(stack.calls).toContain('VM.copy');
    // Fewer vCPUs than the template: VCPUs_at_startup goes down before VCPUs_max.
    const vcpuCalls = stack.calls.filter((c) => c.startsWith('VM.set_VCPUs'));
    expect(vcpuCalls).toEqual(['VM.set_VCPUs_at_startup', 'VM.set_VCPUs_max']);
    expect(vmOf(stack, stack.driver.getInstance(alice, 'from-golden').uuid)).toMatchObject({
      VCPUs_max: 2,
      VCPUs_at_startup: 2,
    });
    const inst = stack.driver.getInstance(alice, 'from-golden');
    const disks = inst.disks.filter((d) => d.type === 'disk');
    expect(disks.length).toBe(baseInst.disks.filter((d) => d.type === 'disk').length);
    for (const d of disks) {
      expect(d.sr).toBe(sr.uuid);
      const vdi = stack.sim.store.get('VDI', stack.sim.store.byUuid('VDI', d.uuid)!) as any;
      expect(vdi.other_config).toMatchObject({
        xcd_instance_id: 'from-golden',
        xcd_namespace: 'alice',
      });
    }
    // The template and the instance it came from are still visible as before.
    expect(stack.driver.templates().map((t) => t.uuid)).toContain(tplUuid);
    expect(stack.driver.getInstance(alice, 'tpl-base').uuid).toBe(baseInst.uuid);
    await settle(stack, alice, stack.driver.destroy(alice, 'from-golden', {})!);
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });

  it('keeps namespaces apart: another namespace sees 404 and may reuse the id', async () => {
    const { operation } = stack.driver.spawn(alice, 'inst-shared-id', {
      template: provisioningTemplate(stack),
      power_on: false,
    });
    await settle(stack, alice, operation);
    expect(() => stack.driver.getInstance(bob, 'inst-shared-id')).toThrow(
      expect.objectContaining({ status: 404, code: 'instance_not_found' }),
    );
    expect(() => stack.driver.action(bob, 'inst-shared-id', { action: 'power-on' })).toThrow(
      expect.objectContaining({ status: 404 }),
    );
    expect(stack.driver.destroy(bob, 'inst-shared-id', {})).toBeNull();
    expect(() => stack.driver.getOperation(bob, operation.id)).toThrow(
      expect.objectContaining({ status: 404, code: 'operation_not_found' }),
    );
    expect(
      stack.driver.listInstances(bob, { limit: 100, offset: 0 }).items.map((i) => i.id),
    ).not.toContain('inst-shared-id');

    const mine = stack.driver.spawn(bob, 'inst-shared-id', {
      template: provisioningTemplate(stack),
      power_on: false,
    });
    expect(mine.replayed).toBe(false);
    await settle(stack, bob, mine.operation);
    expect(stack.driver.getInstance(bob, 'inst-shared-id').uuid).not.toBe(
      stack.driver.getInstance(alice, 'inst-shared-id').uuid,
    );
    expect(() =>
      stack.driver.spawn(aliceViewer, 'inst-viewer', { template: provisioningTemplate(stack) }),
    ).toThrow(expect.objectContaining({ status: 403 }));
  });

  it('never shows VMs the service did not create', () => {
    const foreign = [...stack.sim.store.all('VM').values()].filter(
      (v: any) => !v.is_a_template && !v.is_control_domain && !(v.other_config ?? {}).xcd_namespace,
    ) as any[];
    const listed = new Set(
      stack.driver.listInstances(alice, { limit: 1000, offset: 0 }).items.map((i) => i.uuid),
    );
    for (const v of foreign) {
      expect(listed.has(v.uuid)).toBe(false);
      expect(() => stack.driver.getInstance(alice, v.name_label)).toThrow(
        expect.objectContaining({ status: 404 }),
      );
    }
  });

  it('lists the namespace instances, paged and filtered by normalized power state', () => {
    const all = stack.driver.listInstances(alice, { limit: 1000, offset: 0 });
    expect(all.total).toBe(all.items.length);
    expect(all.items.every((i) => i.namespace === 'alice')).toBe(true);
    const running = stack.driver.listInstances(alice, {
      power_state: 'running',
      limit: 1000,
      offset: 0,
    });
    const shutdown = stack.driver.listInstances(alice, {
      power_state: 'shutdown',
      limit: 1000,
      offset: 0,
    });
    expect(running.items.every((i) => i.power_state === 'running')).toBe(true);
    expect(shutdown.items.every((i) => i.xapi_power_state === 'Halted')).toBe(true);
    expect(running.total + shutdown.total).toBe(all.total);
    const page = stack.driver.listInstances(alice, { limit: 1, offset: 1 });
    expect(page.items).toHaveLength(1);
    expect(page.total).toBe(all.total);
    expect(page.items[0]!.id).toBe(all.items[1]!.id);
  });
});
