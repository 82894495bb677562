// A VM's disks (and a snapshot's) as the contract's Disk: one entry per VBD, from the mirror,
// in device order. Records which objects each view was built from, for callers that cache.
// Never calls XAPI.
import type { MirrorView } from '../../xapi';
import { NULL_REF } from '../../xapi/ref';
import { sizeGb } from '../../xapi/units';
import type { Schema } from '../types';

export function diskViews(
  mirror: MirrorView,
  vbdRefs: readonly string[],
  used?: Set<string>,
): Array<Schema<'Disk'>> {
  const disks: Array<Schema<'Disk'>> = [];
  for (const vbdRef of vbdRefs) {
    const vbd = mirror.get('VBD', vbdRef);
    used?.add(vbdRef);
    if (!vbd) continue;
    const vdi = vbd.VDI !== NULL_REF ? mirror.get('VDI', vbd.VDI) : undefined;
    if (vdi) used?.add(vbd.VDI);
    const sr = vdi ? mirror.get('SR', vdi.SR) : undefined;
    if (sr) used?.add(vdi!.SR);
    disks.push({
      uuid: vdi?.uuid ?? '',
      device: vbd.userdevice,
      type: vbd.type === 'CD' ? 'cdrom' : 'disk',
      bootable: vbd.bootable,
      size_gb: vdi ? sizeGb(vdi.virtual_size) : 0,
      sr: sr?.uuid ?? '',
    });
  }
  return disks.sort(
    (a, b) => Number(a.device) - Number(b.device) || a.device.localeCompare(b.device),
  );
}
