// VM snapshots: snapshot and checkpoint (a template snapshot with snapshot VDIs, parent chain,
// and for checkpoints a memory image) and revert (the VM's disks replaced by copies of the
// snapshot's, power state restored for checkpoints). It must not create or destroy VM records
// itself (vm-copy.ts does) nor shut a VM down other than through vm.ts's bringDown.
import { randomUUID } from 'node:crypto';
import { XapiFault } from '../engine/fault';
import { defineMessage, type CallContext } from '../engine/registry';
import { copyVdi, destroyVdi } from './storage';
import { destroyVbd } from './vbd';
import { bringDown, createSuspendVdi } from './vm';
import { copyVbd, destroyVmRecord, makeVm } from './vm-copy';
import {
  NULL_REF,
  isNull,
  linkRef,
  now,
  unlinkRef,
  updateAllowedOperations,
  withVmOperation,
} from './vm-lifecycle';
import type { Rec } from '../engine/store';

async function snapshot(
  ctx: CallContext,
  vmRef: string,
  newName: string,
  op: 'snapshot' | 'checkpoint',
  ignoreVdis: string[],
): Promise<string> {
  return withVmOperation(ctx, vmRef, op, async () => {
    await ctx.work(op === 'checkpoint' ? 60 : 30);
    const { store } = ctx;
    const vmRec = store.get('VM', vmRef);
    const overrides: Rec = {
      name_label: newName,
      is_a_snapshot: true,
      is_a_template: true,
      snapshot_of: vmRef,
      snapshot_time: now(),
      snapshot_info: { 'power-state-at-snapshot': String(vmRec.power_state) },
      parent: vmRec.parent,
      children: [vmRef],
      transportable_snapshot_id: randomUUID(),
    };
    const snapRef = makeVm(store, vmRec, overrides, 'snapshot', { ignoreVdis, newMacs: false });
    if (op === 'checkpoint') {
      try {
        const suspendVdi = createSuspendVdi(store, snapRef, vmRec);
        store.update('VM', snapRef, { power_state: 'Suspended', suspend_VDI: suspendVdi });
        updateAllowedOperations(store, snapRef);
      } catch (err) {
        destroyVmRecord(store, snapRef, true);
        throw err;
      }
    }
    if (!isNull(vmRec.parent)) {
      unlinkRef(store, 'VM', vmRec.parent as string, 'children', vmRef);
      linkRef(store, 'VM', vmRec.parent as string, 'children', snapRef);
    }
    store.update('VM', vmRef, { parent: snapRef });
    linkRef(store, 'VM', vmRef, 'snapshots', snapRef);
    return snapRef;
  });
}

async function revert(ctx: CallContext, snapRef: string): Promise<void> {
  const { store } = ctx;
  const snapRec = store.get('VM', snapRef);
  const vmRef = snapRec.snapshot_of as string;
  if (snapRec.is_a_snapshot && (isNull(vmRef) || !store.has('VM', vmRef))) {
    throw new XapiFault('VM_REVERT_FAILED', [vmRef, snapRef]);
  }
  await withVmOperation(ctx, snapRef, 'revert', async () => {
    await ctx.work(40);
    const vmRec = store.get('VM', vmRef);
    if (vmRec.power_state === 'Suspended') {
      if (!isNull(vmRec.suspend_VDI) && store.has('VDI', vmRec.suspend_VDI as string))
        destroyVdi(store, vmRec.suspend_VDI as string);
      store.update('VM', vmRef, { power_state: 'Halted', suspend_VDI: NULL_REF });
    } else if (vmRec.power_state !== 'Halted') {
      bringDown(store, vmRef, 'Halted');
    }
    for (const vbdRef of [...(store.get('VM', vmRef).VBDs as string[])]) {
      const vbd = store.find('VBD', vbdRef);
      if (!vbd || vbd.type === 'CD') continue;
      destroyVbd(store, vbdRef);
      const vdi = isNull(vbd.VDI) ? undefined : store.find('VDI', vbd.VDI as string);
      if (vdi && (vdi.VBDs as string[]).length === 0) destroyVdi(store, vbd.VDI as string);
    }
    for (const vbdRef of snapRec.VBDs as string[]) {
      const vbd = store.find('VBD', vbdRef);
      if (!vbd || vbd.type === 'CD' || isNull(vbd.VDI)) continue;
      const vdiRef = copyVdi(store, vbd.VDI as string, 'clone');
      copyVbd(store, vbd, vmRef, vdiRef, true);
    }
    const restored: Rec = { parent: snapRef };
    for (const k of [
      'memory_static_min',
      'memory_static_max',
      'memory_dynamic_min',
      'memory_dynamic_max',
      'VCPUs_max',
      'VCPUs_at_startup',
      'VCPUs_params',
      'platform',
      'HVM_boot_policy',
      'HVM_boot_params',
      'PV_args',
      'PV_bootloader',
    ]) {
      restored[k] = structuredClone(snapRec[k]);
    }
    if (
      snapRec.power_state === 'Suspended' &&
      !isNull(snapRec.suspend_VDI) &&
      store.has('VDI', snapRec.suspend_VDI as string)
    ) {
      restored.suspend_VDI = copyVdi(store, snapRec.suspend_VDI as string, 'copy');
      restored.power_state = 'Suspended';
    }
    store.update('VM', vmRef, restored);
    updateAllowedOperations(store, vmRef);
  });
}

export function registerVmSnapshotMessages(): void {
  defineMessage('VM.snapshot', (ctx, [vmRef, newName, ignore]) =>
    snapshot(ctx, vmRef, String(newName), 'snapshot', (ignore as string[]) ?? []),
  );
  defineMessage('VM.snapshot_with_quiesce', (ctx, [vmRef, newName]) =>
    snapshot(ctx, vmRef, String(newName), 'snapshot', []),
  );
  defineMessage('VM.checkpoint', (ctx, [vmRef, newName]) =>
    snapshot(ctx, vmRef, String(newName), 'checkpoint', []),
  );
  defineMessage('VM.revert', (ctx, [snapRef]) => revert(ctx, snapRef));
}
