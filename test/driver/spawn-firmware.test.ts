// Spawn's boot settings through the driver on a simulated pool: UEFI firmware and Secure Boot,
// PV guests (pygrub, no HVM boot policy) that start, a template's own firmware kept unless the
// request names one, a blank VM from an image VDI with UEFI, the instance view showing each, and
// settings that do not fit together refused 422 boot_settings_conflict before any XAPI call.
import { waitForMirror } from '../../src/driver/mirror-wait';
import {
  alice,
  poolSnapshot,
  provisioningTemplate,
  settle,
  startDriverStack,
  vmOf,
  type DriverStack,
} from './stack';

const GiB = 1024 ** 3;

describe('spawn firmware and guest mode', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function spawn(id: string, body: Record<string, unknown>): Promise<Record<string, any>> {
    const { operation } = stack.driver.spawn(alice, id, body as never);
    const done = await settle(stack, alice, operation);
    expect(done.error).toBeNull();
    return vmOf(stack, stack.driver.getInstance(alice, id).uuid);
  }

  /** A template that boots UEFI with Secure Boot, made through XAPI as an operator would. */
  async function uefiTemplate(): Promise<string> {
    const ref = await stack.xapi.callAsync<string>('VM.clone', [
      stack.sim.store.byUuid('VM', provisioningTemplate(stack))!,
      'UEFI template',
    ]);
    await stack.xapi.call('VM.set_HVM_boot_params', ref, { order: 'cd', firmware: 'uefi' });
    await stack.xapi.call('VM.remove_from_platform', ref, 'secureboot');
    await stack.xapi.call('VM.add_to_platform', ref, 'secureboot', 'true');
    await waitForMirror(
      stack.xapi.mirror,
      () => stack.xapi.mirror.get('VM', ref)?.platform.secureboot === 'true',
      5000,
    );
    return (stack.sim.store.get('VM', ref) as any).uuid;
  }

  it('boots a template clone with UEFI and Secure Boot, written before the first start', async () => {
    const vm = await spawn('fw-uefi', {
      template: provisioningTemplate(stack),
      firmware: 'uefi',
      secure_boot: true,
    });
    expect(vm).toMatchObject({
      power_state: 'Running',
      HVM_boot_policy: 'BIOS order',
      domain_type: 'hvm',
      PV_bootloader: '',
    });
    expect(vm.HVM_boot_params).toMatchObject({ firmware: 'uefi' });
    expect(vm.HVM_boot_params.order).toBeTruthy();
    expect(vm.platform).toMatchObject({
      secureboot: 'true',
      'device-model': 'qemu-upstream-uefi',
    });
    expect(stack.driver.getInstance(alice, 'fw-uefi')).toMatchObject({
      vm_mode: 'hvm',
      firmware: 'uefi',
      secure_boot: true,
    });
  });

  it('boots a PV guest through pygrub with no HVM boot policy, and starts it', async () => {
    const vm = await spawn('fw-pv', { template: provisioningTemplate(stack), vm_mode: 'pv' });
    expect(vm).toMatchObject({
      power_state: 'Running',
      HVM_boot_policy: '',
      HVM_boot_params: {},
      PV_bootloader: 'pygrub',
      domain_type: 'pv',
    });
    expect(vm.platform.secureboot).toBeUndefined();
    const view = stack.driver.getInstance(alice, 'fw-pv');
    expect(view).toMatchObject({ vm_mode: 'pv', power_state: 'running' });
    expect(view.firmware).toBeUndefined();
    expect(view.secure_boot).toBeUndefined();
  });

  it("keeps a template's own firmware unless the request names one", async () => {
    const tpl = await uefiTemplate();
    const kept = await spawn('fw-kept', { template: tpl, power_on: false });
    expect(kept.HVM_boot_params).toEqual({ order: 'cd', firmware: 'uefi' });
    expect(kept.platform.secureboot).toBe('true');
    expect(stack.driver.getInstance(alice, 'fw-kept')).toMatchObject({
      vm_mode: 'hvm',
      firmware: 'uefi',
      secure_boot: true,
    });
    // Naming the mode alone keeps the template's firmware and Secure Boot.
    const hvm = await spawn('fw-hvm', { template: tpl, vm_mode: 'hvm', power_on: false });
    expect(hvm.HVM_boot_params).toEqual({ order: 'cd', firmware: 'uefi' });
    expect(hvm.platform.secureboot).toBe('true');
    // Naming the firmware replaces it; Secure Boot goes with UEFI.
    const bios = await spawn('fw-bios', { template: tpl, firmware: 'bios' });
    expect(bios.HVM_boot_params).toEqual({ order: 'cd', firmware: 'bios' });
    expect(bios.platform).toMatchObject({
      secureboot: 'false',
      'device-model': 'qemu-upstream-compat',
    });
    expect(stack.driver.getInstance(alice, 'fw-bios')).toMatchObject({ firmware: 'bios' });
    expect(stack.driver.getInstance(alice, 'fw-bios').secure_boot).toBeUndefined();
    // UEFI without Secure Boot when the request says so.
    const plain = await spawn('fw-nosb', { template: tpl, secure_boot: false, power_on: false });
    expect(plain.platform.secureboot).toBe('false');
    expect(stack.driver.getInstance(alice, 'fw-nosb')).toMatchObject({ secure_boot: false });
    // The template itself is untouched.
    const t = vmOf(stack, tpl);
    expect(t.HVM_boot_params).toEqual({ order: 'cd', firmware: 'uefi' });
    expect(t.platform.secureboot).toBe('true');
  });

  it('makes a blank VM for an image VDI with UEFI firmware', async () => {
    const sr = stack.xapi.mirror.query('pool', { fields: ['default_SR'] })[0]!.default_SR;
    const imageRef = await stack.xapi.call<string>('VDI.create', {
      SR: sr,
      virtual_size: 1 * GiB,
      type: 'user',
      sharable: false,
      read_only: false,
      other_config: { xcd_namespace: 'alice', xcd_instance_id: 'img-src', xcd_state: 'kept' },
      name_label: 'image',
    });
    await waitForMirror(stack.xapi.mirror, () => !!stack.xapi.mirror.get('VDI', imageRef), 5000);
    const uuid = (stack.sim.store.get('VDI', imageRef) as any).uuid;
    const vm = await spawn('fw-blank', { image_vdi: uuid, firmware: 'uefi' });
    expect(vm).toMatchObject({ power_state: 'Running', HVM_boot_policy: 'BIOS order' });
    expect(vm.HVM_boot_params).toEqual({ order: 'dc', firmware: 'uefi' });
    expect(vm.platform).toMatchObject({
      secureboot: 'false',
      'device-model': 'qemu-upstream-uefi',
    });
    // Without boot settings a blank VM is HVM with BIOS, as before.
    const plain = await spawn('fw-blank-bios', { image_vdi: uuid, power_on: false });
    expect(plain.HVM_boot_params).toEqual({ order: 'dc' });
    expect(stack.driver.getInstance(alice, 'fw-blank-bios')).toMatchObject({
      vm_mode: 'hvm',
      firmware: 'bios',
    });
    const pv = await spawn('fw-blank-pv', { image_vdi: uuid, vm_mode: 'pv', power_on: false });
    expect(pv).toMatchObject({ HVM_boot_policy: '', PV_bootloader: 'pygrub', domain_type: 'pv' });
  });

  it('refuses settings that do not fit together with 422 boot_settings_conflict, touching nothing', async () => {
    const tpl = provisioningTemplate(stack);
    const uefi = await uefiTemplate();
    const before = poolSnapshot(stack.sim);
    const cases: Array<Record<string, unknown>> = [
      { template: tpl, vm_mode: 'pv', firmware: 'uefi' },
      { template: tpl, vm_mode: 'pv', secure_boot: true },
      { template: tpl, firmware: 'bios', secure_boot: true },
      { template: tpl, secure_boot: true },
      { template: uefi, vm_mode: 'pv', secure_boot: true },
      { template: uefi, firmware: 'bios', secure_boot: true },
    ];
    for (const [i, body] of cases.entries())
      expect(() => stack.driver.spawn(alice, `fw-bad-${i}`, body as never)).toThrow(
        expect.objectContaining({ status: 422, code: 'boot_settings_conflict' }),
      );
    expect(poolSnapshot(stack.sim)).toEqual(before);
    // PV over a UEFI template drops the firmware: the request names no UEFI.
    const pv = await spawn('fw-pv-over-uefi', { template: uefi, vm_mode: 'pv', power_on: false });
    expect(pv).toMatchObject({ HVM_boot_policy: '', HVM_boot_params: {}, domain_type: 'pv' });
    expect(pv.platform.secureboot).toBeUndefined();
  });
});
