// How a spawned VM boots: the guest mode (HVM or PV), the HVM firmware (BIOS or UEFI) and UEFI
// Secure Boot, resolved from the request over the template's own settings, and the VM fields
// that carry them (HVM_boot_policy, HVM_boot_params:firmware, PV_bootloader, domain_type,
// platform:device-model and platform:secureboot). Plain functions: makes no XAPI call.
import type { VMRecord } from '../xapi/datamodel.generated';
import { ApiError } from './errors';
import type { Schema, SpawnRequest } from './types';

export type VmMode = Schema<'VmMode'>;
export type Firmware = Schema<'Firmware'>;

export interface BootSettings {
  vmMode: VmMode;
  /** HVM only. */
  firmware?: Firmware;
  secureBoot: boolean;
}

/** The fields of a VM record that say how it boots. */
export type BootFields = Pick<
  VMRecord,
  'HVM_boot_policy' | 'HVM_boot_params' | 'PV_bootloader' | 'domain_type' | 'platform'
>;

/** xapi's policy for an HVM guest, and the boot order a blank VM gets (CD, then disk). */
const HVM_POLICY = 'BIOS order';
const HVM_ORDER = 'dc';
/** platform:device-model for each firmware (qemu-upstream-compat is xapi's default model). */
const DEVICE_MODEL = { bios: 'qemu-upstream-compat', uefi: 'qemu-upstream-uefi' } as const;
/** The bootloader xapi's PV templates use once installed: the kernel from the root disk. */
const PV_BOOTLOADER = 'pygrub';

/** How a VM (or template) with these fields boots. */
export function bootOf(
  rec: Pick<BootFields, 'HVM_boot_policy' | 'HVM_boot_params' | 'platform'>,
): BootSettings {
  if (rec.HVM_boot_policy === '') return { vmMode: 'pv', secureBoot: false };
  const firmware: Firmware = rec.HVM_boot_params?.firmware === 'uefi' ? 'uefi' : 'bios';
  return {
    vmMode: 'hvm',
    firmware,
    secureBoot: firmware === 'uefi' && rec.platform?.secureboot === 'true',
  };
}

function conflict(detail: string): ApiError {
  return new ApiError(422, 'boot_settings_conflict', detail);
}

/**
 * The boot settings a spawn asks for over `current` (the template's, or a blank VM's: HVM with
 * BIOS), or undefined when the request names none (the template's stay as they are). A setting
 * the request leaves out keeps the template's where it still fits the mode.
 */
export function resolveBoot(
  body: Pick<SpawnRequest, 'vm_mode' | 'firmware' | 'secure_boot'>,
  current: BootSettings,
): BootSettings | undefined {
  if (body.vm_mode === undefined && body.firmware === undefined && body.secure_boot === undefined)
    return undefined;
  const vmMode = body.vm_mode ?? current.vmMode;
  if (vmMode === 'pv') {
    if (body.firmware === 'uefi')
      throw conflict('UEFI firmware needs vm_mode hvm: a PV guest boots through its bootloader');
    if (body.secure_boot === true)
      throw conflict('Secure Boot needs UEFI firmware and vm_mode hvm');
    return { vmMode, secureBoot: false };
  }
  const firmware = body.firmware ?? current.firmware ?? 'bios';
  const kept = body.firmware === undefined && firmware === 'uefi' && current.secureBoot;
  const secureBoot = body.secure_boot ?? kept;
  if (secureBoot && firmware !== 'uefi')
    throw conflict('Secure Boot needs UEFI firmware (firmware: uefi)');
  return { vmMode, firmware, secureBoot };
}

/** The boot fields `boot` gives a VM whose fields are `current` (the rest of its maps kept). */
export function bootFields(current: BootFields, boot: BootSettings): BootFields {
  const platform = { ...current.platform };
  if (boot.vmMode === 'pv') {
    delete platform.secureboot;
    return {
      HVM_boot_policy: '',
      HVM_boot_params: {},
      PV_bootloader: current.PV_bootloader || PV_BOOTLOADER,
      domain_type: 'pv',
      platform,
    };
  }
  const uefi = boot.firmware === 'uefi';
  // As Xen Orchestra writes a firmware: the matching device model beside HVM_boot_params.
  platform['device-model'] = uefi ? DEVICE_MODEL.uefi : DEVICE_MODEL.bios;
  platform.secureboot = uefi && boot.secureBoot ? 'true' : 'false';
  return {
    HVM_boot_policy: current.HVM_boot_policy || HVM_POLICY,
    HVM_boot_params: {
      ...current.HVM_boot_params,
      order: current.HVM_boot_params?.order ?? HVM_ORDER,
      firmware: boot.firmware ?? 'bios',
    },
    PV_bootloader: '',
    domain_type: 'hvm',
    platform,
  };
}

/** The boot fields of a blank VM (no template): HVM with BIOS unless the plan says otherwise. */
export function blankBootFields(boot: BootSettings | undefined): BootFields {
  const blank: BootFields = {
    HVM_boot_policy: HVM_POLICY,
    HVM_boot_params: { order: HVM_ORDER },
    PV_bootloader: '',
    domain_type: 'hvm',
    platform: { acpi: '1', apic: 'true', pae: 'true', viridian: 'true', nx: 'true' },
  };
  return boot ? bootFields(blank, boot) : blank;
}
