// VM memory and vCPU settings: set_memory_limits / set_memory / set_memory_*_range and the
// single-field setters (MEMORY_CONSTRAINT_VIOLATION_ORDER), set_VCPUs_max / _at_startup /
// _number_live (INVALID_VALUE). Live changes move host accounting and VM_metrics. It must not
// change power states (vm.ts does).
import { XapiFault } from '../engine/fault';
import { assertHostHasMemory, computeMemoryOverhead, refreshHostMemory } from './host';
import { metricsOnMemory, metricsOnVcpus } from './metrics';
import { defineMessage, type CallContext } from '../engine/registry';
import { isNull, toInt, withVmOperation } from './vm-lifecycle';
import type { Rec } from '../engine/store';

interface Limits {
  memory_static_min: number;
  memory_static_max: number;
  memory_dynamic_min: number;
  memory_dynamic_max: number;
}

function limitsOf(vmRec: Rec): Limits {
  return {
    memory_static_min: vmRec.memory_static_min as number,
    memory_static_max: vmRec.memory_static_max as number,
    memory_dynamic_min: vmRec.memory_dynamic_min as number,
    memory_dynamic_max: vmRec.memory_dynamic_max as number,
  };
}

/** xapi's constraint: static_min <= dynamic_min <= dynamic_max <= static_max. */
export function assertMemoryOrder(l: Limits): void {
  const ok =
    l.memory_static_min <= l.memory_dynamic_min &&
    l.memory_dynamic_min <= l.memory_dynamic_max &&
    l.memory_dynamic_max <= l.memory_static_max;
  if (!ok) throw new XapiFault('MEMORY_CONSTRAINT_VIOLATION_ORDER', []);
}

/** Apply new limits inside `op`; a running VM's target follows dynamic_max (host permitting). */
function setLimits(
  ctx: CallContext,
  vmRef: string,
  op: string,
  change: (l: Limits) => Limits,
): Promise<void> {
  return withVmOperation(ctx, vmRef, op, async (vmRec) => {
    const next = change(limitsOf(vmRec));
    for (const [k, v] of Object.entries(next))
      if (!Number.isFinite(v) || v < 0) throw new XapiFault('INVALID_VALUE', [k, String(v)]);
    assertMemoryOrder(next);
    const patch: Rec = { ...next, memory_overhead: computeMemoryOverhead({ ...vmRec, ...next }) };
    const running = vmRec.power_state === 'Running' || vmRec.power_state === 'Paused';
    if (running) {
      const target = next.memory_dynamic_max;
      const grow = target - (vmRec.memory_target as number);
      if (grow > 0 && !isNull(vmRec.resident_on))
        assertHostHasMemory(ctx.store, vmRec.resident_on as string, grow);
      patch.memory_target = target;
    }
    await ctx.work(running ? 20 : 2);
    ctx.store.update('VM', vmRef, patch);
    if (running) {
      metricsOnMemory(ctx.store, vmRef);
      refreshHostMemory(ctx.store, vmRec.resident_on as string);
    }
  });
}

function int(v: unknown, field: string): number {
  return toInt(v, field);
}

function setVcpus(
  ctx: CallContext,
  vmRef: string,
  field: 'VCPUs_max' | 'VCPUs_at_startup',
  value: number,
): Promise<void> {
  return withVmOperation(ctx, vmRef, 'changing_VCPUs', (vmRec) => {
    const max = field === 'VCPUs_max' ? value : (vmRec.VCPUs_max as number);
    const atStartup = field === 'VCPUs_at_startup' ? value : (vmRec.VCPUs_at_startup as number);
    if (value < 1 || value > 64) throw new XapiFault('INVALID_VALUE', [field, String(value)]);
    if (atStartup > max) throw new XapiFault('INVALID_VALUE', [field, String(value)]);
    ctx.store.update('VM', vmRef, { [field]: value });
    if (field === 'VCPUs_at_startup') metricsOnVcpus(ctx.store, vmRef);
  });
}

export function registerVmSettingsMessages(): void {
  defineMessage('VM.set_memory_limits', (ctx, [vmRef, smin, smax, dmin, dmax]) =>
    setLimits(ctx, vmRef, 'changing_memory_limits', () => ({
      memory_static_min: int(smin, 'static_min'),
      memory_static_max: int(smax, 'static_max'),
      memory_dynamic_min: int(dmin, 'dynamic_min'),
      memory_dynamic_max: int(dmax, 'dynamic_max'),
    })),
  );
  defineMessage('VM.set_memory', (ctx, [vmRef, value]) => {
    const v = int(value, 'value');
    return setLimits(ctx, vmRef, 'changing_memory_limits', (l) => ({
      ...l,
      memory_static_max: v,
      memory_dynamic_min: v,
      memory_dynamic_max: v,
    }));
  });
  defineMessage('VM.set_memory_static_range', (ctx, [vmRef, min, max]) =>
    setLimits(ctx, vmRef, 'changing_static_range', (l) => ({
      ...l,
      memory_static_min: int(min, 'min'),
      memory_static_max: int(max, 'max'),
    })),
  );
  defineMessage('VM.set_memory_dynamic_range', (ctx, [vmRef, min, max]) =>
    setLimits(ctx, vmRef, 'changing_dynamic_range', (l) => ({
      ...l,
      memory_dynamic_min: int(min, 'min'),
      memory_dynamic_max: int(max, 'max'),
    })),
  );
  defineMessage('VM.set_memory_static_min', (ctx, [vmRef, v]) =>
    setLimits(ctx, vmRef, 'changing_static_range', (l) => ({
      ...l,
      memory_static_min: int(v, 'value'),
    })),
  );
  defineMessage('VM.set_memory_static_max', (ctx, [vmRef, v]) =>
    setLimits(ctx, vmRef, 'changing_static_range', (l) => ({
      ...l,
      memory_static_max: int(v, 'value'),
    })),
  );
  defineMessage('VM.set_memory_dynamic_min', (ctx, [vmRef, v]) =>
    setLimits(ctx, vmRef, 'changing_dynamic_range', (l) => ({
      ...l,
      memory_dynamic_min: int(v, 'value'),
    })),
  );
  defineMessage('VM.set_memory_dynamic_max', (ctx, [vmRef, v]) =>
    setLimits(ctx, vmRef, 'changing_dynamic_range', (l) => ({
      ...l,
      memory_dynamic_max: int(v, 'value'),
    })),
  );
  defineMessage('VM.set_VCPUs_max', (ctx, [vmRef, v]) =>
    setVcpus(ctx, vmRef, 'VCPUs_max', int(v, 'VCPUs_max')),
  );
  defineMessage('VM.set_VCPUs_at_startup', (ctx, [vmRef, v]) =>
    setVcpus(ctx, vmRef, 'VCPUs_at_startup', int(v, 'VCPUs_at_startup')),
  );
  defineMessage('VM.set_VCPUs_number_live', (ctx, [vmRef, n]) => {
    const nvcpu = int(n, 'nvcpu');
    return withVmOperation(ctx, vmRef, 'changing_VCPUs_live', async (vmRec) => {
      if (nvcpu < 1 || nvcpu > (vmRec.VCPUs_max as number))
        throw new XapiFault('INVALID_VALUE', ['nvcpu', String(nvcpu)]);
      await ctx.work(10);
      ctx.store.update('VM', vmRef, { VCPUs_at_startup: nvcpu });
      metricsOnVcpus(ctx.store, vmRef);
    });
  });
}
