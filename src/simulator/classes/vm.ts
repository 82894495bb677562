// VM power-state messages: start/start_on, clean/hard shutdown and reboot, suspend/resume,
// pause/unpause, power_state_reset, pool_migrate, the small VM queries (allowed devices,
// assert_operation_valid); host memory, devices, metrics and consoles follow each transition.
// It must not create, copy or destroy VMs (vm-copy.ts) nor define memory/vCPU setters.
import { XapiFault } from '../engine/fault';
import { createConsole, destroyConsoles, moveConsoles } from './console';
import {
  assertHostHasMemory,
  assertHostSeesDisks,
  assertHostUsable,
  chooseHost,
  computeMemoryOverhead,
  setResident,
  vmStartMemory,
} from './host';
import { metricsOnPaused, metricsOnRunning, metricsOnStopped } from './metrics';
import { allowedVifDevices, setVifAttached } from './network';
import { defineMessage, type CallContext, type SimContext } from '../engine/registry';
import { createVdi, destroyVdi } from './storage';
import { allowedVbdDevices, assertVdisFree, setVbdAttached } from './vbd';
import {
  NULL_REF,
  assertOperation,
  isNull,
  updateAllowedOperations,
  withVmOperation,
} from './vm-lifecycle';
import type { Rec, Store } from '../engine/store';

/** Next domain id of the pool (dom0s are 0). */
export function nextDomid(sim: SimContext): number {
  let n = sim.extra.nextDomid as number | undefined;
  if (n === undefined) {
    n = 1;
    for (const vm of sim.store.all('VM').values()) n = Math.max(n, (vm.domid as number) + 1);
  }
  sim.extra.nextDomid = n + 1;
  return n;
}

/** The VM gets a domain on hostRef: devices attach, memory is charged, a console appears. */
export function bringUp(
  ctx: CallContext,
  vmRef: string,
  hostRef: string,
  paused: boolean,
  fresh: boolean,
): void {
  const { store } = ctx;
  const vmRec = store.get('VM', vmRef);
  store.update('VM', vmRef, {
    power_state: paused ? 'Paused' : 'Running',
    domid: nextDomid(ctx.sim),
    memory_target: vmRec.memory_dynamic_max,
    memory_overhead: computeMemoryOverhead(vmRec),
  });
  setResident(store, vmRef, hostRef);
  for (const vbdRef of vmRec.VBDs as string[])
    if (store.has('VBD', vbdRef)) setVbdAttached(store, vbdRef, true);
  for (const vifRef of vmRec.VIFs as string[])
    if (store.has('VIF', vifRef)) setVifAttached(store, vifRef, true);
  metricsOnRunning(store, vmRef, fresh);
  if ((vmRec.consoles as string[]).length === 0) createConsole(store, vmRef, hostRef);
}

/** The domain goes away: devices detach, memory is released, consoles disappear. */
export function bringDown(store: Store, vmRef: string, to: 'Halted' | 'Suspended'): void {
  const vmRec = store.get('VM', vmRef);
  for (const vbdRef of vmRec.VBDs as string[])
    if (store.has('VBD', vbdRef)) setVbdAttached(store, vbdRef, false);
  for (const vifRef of vmRec.VIFs as string[])
    if (store.has('VIF', vifRef)) setVifAttached(store, vifRef, false);
  destroyConsoles(store, vmRef);
  metricsOnStopped(store, vmRef);
  store.update('VM', vmRef, { power_state: to, domid: -1, memory_target: 0 });
  setResident(store, vmRef, NULL_REF);
  store.update('VM', vmRef, { scheduled_to_be_resident_on: NULL_REF });
}

/** Where a suspend image goes: VM.suspend_SR, the pool's suspend_image_SR, the pool default. */
export function suspendSrFor(store: Store, vmRef: string, vmRec: Rec): string {
  const candidates = [vmRec.suspend_SR as string];
  for (const pool of store.all('pool').values())
    candidates.push(pool.suspend_image_SR as string, pool.default_SR as string);
  const sr = candidates.find((r) => !isNull(r) && store.has('SR', r));
  if (!sr) throw new XapiFault('VM_NO_SUSPEND_SR', [vmRef]);
  return sr;
}

export function createSuspendVdi(store: Store, vmRef: string, vmRec: Rec): string {
  const srRef = suspendSrFor(store, vmRef, vmRec);
  return createVdi(store, {
    SR: srRef,
    name_label: `Suspend image for ${String(vmRec.name_label)}`,
    name_description: 'Memory image of a suspended VM',
    virtual_size: (vmRec.memory_static_max as number) + 2 * 1024 * 1024,
    type: 'suspend',
    other_config: {},
  });
}

function dropSuspendVdi(store: Store, vmRef: string): void {
  const vmRec = store.get('VM', vmRef);
  const vdiRef = vmRec.suspend_VDI as string;
  if (!isNull(vdiRef) && store.has('VDI', vdiRef)) destroyVdi(store, vdiRef);
  store.update('VM', vmRef, { suspend_VDI: NULL_REF });
}

function boolArg(v: unknown): boolean {
  return v === true || v === 'true';
}

async function start(
  ctx: CallContext,
  vmRef: string,
  hostArg: string | undefined,
  paused: boolean,
): Promise<void> {
  await withVmOperation(ctx, vmRef, hostArg ? 'start_on' : 'start', async (vmRec) => {
    if ((vmRec.VCPUs_at_startup as number) < 1) throw new XapiFault('VM_NO_VCPUS', [vmRef]);
    const sized = { ...vmRec, memory_overhead: computeMemoryOverhead(vmRec) };
    let hostRef: string;
    if (hostArg) {
      assertHostUsable(ctx, hostArg);
      assertHostSeesDisks(ctx.store, vmRef, vmRec, hostArg);
      assertHostHasMemory(ctx.store, hostArg, vmStartMemory(sized));
      hostRef = hostArg;
    } else {
      hostRef = chooseHost(ctx, sized);
    }
    assertVdisFree(ctx.store, vmRec.VBDs as string[], 'start');
    ctx.store.update('VM', vmRef, { scheduled_to_be_resident_on: hostRef });
    try {
      await ctx.work(40);
      assertHostUsable(ctx, hostRef);
      assertHostHasMemory(ctx.store, hostRef, vmStartMemory(sized));
    } catch (err) {
      if (ctx.store.has('VM', vmRef))
        ctx.store.update('VM', vmRef, { scheduled_to_be_resident_on: NULL_REF });
      throw err;
    }
    bringUp(ctx, vmRef, hostRef, paused, true);
  });
}

async function resume(
  ctx: CallContext,
  vmRef: string,
  hostArg: string | undefined,
  paused: boolean,
): Promise<void> {
  await withVmOperation(ctx, vmRef, hostArg ? 'resume_on' : 'resume', async (vmRec) => {
    const sized = { ...vmRec, memory_overhead: computeMemoryOverhead(vmRec) };
    let hostRef: string;
    if (hostArg) {
      assertHostUsable(ctx, hostArg);
      assertHostSeesDisks(ctx.store, vmRef, vmRec, hostArg);
      assertHostHasMemory(ctx.store, hostArg, vmStartMemory(sized));
      hostRef = hostArg;
    } else {
      hostRef = chooseHost(ctx, sized);
    }
    assertVdisFree(ctx.store, vmRec.VBDs as string[], 'resume');
    await ctx.work(50);
    assertHostHasMemory(ctx.store, hostRef, vmStartMemory(sized));
    bringUp(ctx, vmRef, hostRef, paused, true);
    dropSuspendVdi(ctx.store, vmRef);
  });
}

function halt(op: string, ms: number) {
  return async (ctx: CallContext, [vmRef]: string[]): Promise<void> => {
    await withVmOperation(ctx, vmRef, op, async () => {
      await ctx.work(ms);
      const vmRec = ctx.store.get('VM', vmRef);
      if (vmRec.power_state === 'Halted') return; // another shutdown got there first
      if (vmRec.power_state === 'Suspended') {
        dropSuspendVdi(ctx.store, vmRef);
        ctx.store.update('VM', vmRef, { power_state: 'Halted' });
        return;
      }
      bringDown(ctx.store, vmRef, 'Halted');
    });
  };
}

function reboot(op: string, ms: number) {
  return async (ctx: CallContext, [vmRef]: string[]): Promise<void> => {
    await withVmOperation(ctx, vmRef, op, async () => {
      await ctx.work(ms);
      const vmRec = ctx.store.get('VM', vmRef);
      if (vmRec.power_state === 'Halted') return; // a hard_shutdown overtook us
      ctx.store.update('VM', vmRef, { power_state: 'Running', domid: nextDomid(ctx.sim) });
      metricsOnRunning(ctx.store, vmRef, true);
    });
  };
}

export function registerVmPowerMessages(): void {
  defineMessage('VM.start', (ctx, [vmRef, paused]) =>
    start(ctx, vmRef, undefined, boolArg(paused)),
  );
  defineMessage('VM.start_on', (ctx, [vmRef, hostRef, paused]) => {
    ctx.store.get('host', hostRef);
    return start(ctx, vmRef, hostRef, boolArg(paused));
  });
  defineMessage('VM.resume', (ctx, [vmRef, paused]) =>
    resume(ctx, vmRef, undefined, boolArg(paused)),
  );
  defineMessage('VM.resume_on', (ctx, [vmRef, hostRef, paused]) => {
    ctx.store.get('host', hostRef);
    return resume(ctx, vmRef, hostRef, boolArg(paused));
  });
  defineMessage('VM.clean_shutdown', halt('clean_shutdown', 40));
  defineMessage('VM.hard_shutdown', halt('hard_shutdown', 15));
  defineMessage('VM.shutdown', halt('shutdown', 40));
  defineMessage('VM.clean_reboot', reboot('clean_reboot', 50));
  defineMessage('VM.hard_reboot', reboot('hard_reboot', 25));
  defineMessage('VM.suspend', (ctx, [vmRef]) =>
    withVmOperation(ctx, vmRef, 'suspend', async (vmRec) => {
      suspendSrFor(ctx.store, vmRef, vmRec);
      await ctx.work(50);
      const vdiRef = createSuspendVdi(ctx.store, vmRef, ctx.store.get('VM', vmRef));
      bringDown(ctx.store, vmRef, 'Suspended');
      ctx.store.update('VM', vmRef, { suspend_VDI: vdiRef });
    }),
  );
  defineMessage('VM.pause', (ctx, [vmRef]) =>
    withVmOperation(ctx, vmRef, 'pause', async () => {
      await ctx.work(10);
      ctx.store.update('VM', vmRef, { power_state: 'Paused' });
      metricsOnPaused(ctx.store, vmRef, true);
    }),
  );
  defineMessage('VM.unpause', (ctx, [vmRef]) =>
    withVmOperation(ctx, vmRef, 'unpause', async () => {
      await ctx.work(10);
      ctx.store.update('VM', vmRef, { power_state: 'Running' });
      metricsOnPaused(ctx.store, vmRef, false);
    }),
  );
  defineMessage('VM.power_state_reset', (ctx, [vmRef]) =>
    withVmOperation(ctx, vmRef, 'power_state_reset', () => {
      const vmRec = ctx.store.get('VM', vmRef);
      if (vmRec.power_state === 'Suspended') dropSuspendVdi(ctx.store, vmRef);
      bringDown(ctx.store, vmRef, 'Halted');
    }),
  );
  defineMessage('VM.pool_migrate', (ctx, [vmRef, hostRef]) => {
    ctx.store.get('host', hostRef);
    return withVmOperation(ctx, vmRef, 'pool_migrate', async (vmRec) => {
      assertHostUsable(ctx, hostRef);
      assertHostSeesDisks(ctx.store, vmRef, vmRec, hostRef);
      const same = vmRec.resident_on === hostRef;
      if (!same) assertHostHasMemory(ctx.store, hostRef, vmStartMemory(vmRec));
      ctx.store.update('VM', vmRef, { scheduled_to_be_resident_on: hostRef });
      await ctx.work(80);
      if (!same) assertHostHasMemory(ctx.store, hostRef, vmStartMemory(vmRec));
      ctx.store.update('VM', vmRef, { domid: nextDomid(ctx.sim) });
      setResident(ctx.store, vmRef, hostRef);
      moveConsoles(ctx.store, vmRef, hostRef);
    });
  });
  defineMessage('VM.get_allowed_VBD_devices', (ctx, [vmRef]) =>
    allowedVbdDevices(ctx.store, vmRef),
  );
  defineMessage('VM.get_allowed_VIF_devices', (ctx, [vmRef]) =>
    allowedVifDevices(ctx.store, vmRef),
  );
  defineMessage('VM.assert_operation_valid', (ctx, [vmRef, op]) => {
    assertOperation(vmRef, ctx.store.get('VM', vmRef), String(op));
  });
  defineMessage('VM.update_allowed_operations', (ctx, [vmRef]) => {
    ctx.store.get('VM', vmRef);
    updateAllowedOperations(ctx.store, vmRef);
  });
  defineMessage('VM.assert_can_boot_here', (ctx, [vmRef, hostRef]) => {
    const vmRec = ctx.store.get('VM', vmRef);
    assertHostUsable(ctx, hostRef);
    assertHostSeesDisks(ctx.store, vmRef, vmRec, hostRef);
    assertHostHasMemory(
      ctx.store,
      hostRef,
      vmStartMemory({ ...vmRec, memory_overhead: computeMemoryOverhead(vmRec) }),
    );
  });
  defineMessage('VM.get_possible_hosts', (ctx, [vmRef]) => {
    const vmRec = ctx.store.get('VM', vmRef);
    const sized = { ...vmRec, memory_overhead: computeMemoryOverhead(vmRec) };
    return [...ctx.store.all('host').keys()].filter((h) => {
      try {
        assertHostUsable(ctx, h);
        assertHostSeesDisks(ctx.store, vmRef, vmRec, h);
        if (vmRec.resident_on !== h) assertHostHasMemory(ctx.store, h, vmStartMemory(sized));
        return true;
      } catch {
        return false;
      }
    });
  });
  defineMessage('VM.get_boot_record', (ctx, [vmRef]) => ctx.store.get('VM', vmRef));
  defineMessage('VM.compute_memory_overhead', (ctx, [vmRef]) =>
    computeMemoryOverhead(ctx.store.get('VM', vmRef)),
  );
}
