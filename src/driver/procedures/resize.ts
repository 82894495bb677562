// Resize as XAPI steps: vCPUs and memory live where XAPI allows it (VM.set_VCPUs_number_live up
// to VCPUs_max, VM.set_memory_dynamic_range within the static range), otherwise halted, with the
// power cycle the caller asked for (clean or hard; none answers 409 power_cycle_required), and
// disks grown (VDI.resize_online running, VDI.resize halted) when the ownership check lets the
// caller grow them (ownership.ts). Each setting registers its undo.
import type { XapiClient } from '../../xapi';
import type { VBDRecord, VDIRecord, VMRecord } from '../../xapi/datamodel.generated';
import { badPowerState, type OpRun } from './common';
import { isClaimedBy } from './persistent-disk';
import { ApiError } from '../errors';
import { waitForMirror } from '../mirror-wait';
import { usableVdi } from '../ownership';
import { runAction } from './power';
import { runSteps, type Step } from '../steps';
import type { Schema } from '../types';
import { NULL_REF } from '../../xapi/ref';
import { MiB, GiB } from '../../xapi/units';

type ResizeAction = Extract<Schema<'InstanceAction'>, { action: 'resize' }>;

interface DiskGrowth {
  device: string;
  vdiRef: string;
  bytes: number;
}

interface ResizeState {
  body: ResizeAction;
  run: OpRun;
  vm: VMRecord;
  /** What must change with the VM halted. */
  offlineVcpus: boolean;
  offlineMemory: boolean;
  liveVcpus: boolean;
  liveMemory: boolean;
  disks: DiskGrowth[];
  /** The VM runs and a change needs it halted: shut it down, change, start it again. */
  cycle: boolean;
}

async function plan(
  xapi: XapiClient,
  body: ResizeAction,
  run: OpRun,
  volumeSrs: readonly string[],
): Promise<ResizeState> {
  const vm = await xapi.call<VMRecord>('VM.get_record', run.vmRef);
  const power = vm.power_state;
  if (power !== 'Running' && power !== 'Halted')
    throw badPowerState(run.vmRef, ['running', 'halted'], power);
  const running = power === 'Running';
  const s: ResizeState = {
    body,
    run,
    vm,
    offlineVcpus: false,
    offlineMemory: false,
    liveVcpus: false,
    liveMemory: false,
    disks: [],
    cycle: false,
  };
  Object.assign(s, classify(vm, body));
  for (const d of body.disks ?? []) {
    let found: { vdiRef: string; size: number } | undefined;
    for (const vbdRef of vm.VBDs) {
      const vbd = await xapi.call<VBDRecord>('VBD.get_record', vbdRef);
      if (vbd.userdevice !== d.device || vbd.type !== 'Disk' || vbd.VDI === NULL_REF) continue;
      if (isClaimedBy(xapi.mirror.get('VDI', vbd.VDI), run.owner))
        throw new ApiError(
          409,
          'operation_not_allowed',
          `device ${d.device} is an image in persistent use: an image's own disk is not grown`,
        );
      // A disk the caller may not grow answers as a device without a disk.
      const policy = { namespace: run.owner.namespace, volumeSrs };
      if (!usableVdi(xapi.mirror, policy, { ref: vbd.VDI }, { kind: 'device', vmRef: run.vmRef }))
        continue;
      const vdi = await xapi.call<VDIRecord>('VDI.get_record', vbd.VDI);
      found = { vdiRef: vbd.VDI, size: Number(vdi.virtual_size) };
    }
    if (!found)
      throw new ApiError(422, 'invalid_value', `the instance has no disk at device ${d.device}`);
    const bytes = d.size_gb * GiB;
    if (bytes < found.size)
      throw new ApiError(
        422,
        'invalid_value',
        `disks only grow: device ${d.device} is ${found.size / GiB} GiB, asked ${d.size_gb} GiB`,
      );
    if (bytes > found.size) s.disks.push({ device: d.device, vdiRef: found.vdiRef, bytes });
  }
  s.cycle = running && (s.offlineVcpus || s.offlineMemory);
  if (s.cycle && (body.power_cycle ?? 'none') === 'none') throw powerCycleRequired(vm);
  return s;
}

type Limits = Pick<
  VMRecord,
  | 'power_state'
  | 'VCPUs_at_startup'
  | 'VCPUs_max'
  | 'memory_static_min'
  | 'memory_static_max'
  | 'memory_dynamic_min'
  | 'memory_dynamic_max'
>;

/** The vCPUs and memory a resize asks for, and the maxima that go with them. */
export interface ResizeTargets {
  vcpus: number;
  maxVcpus: number;
  /** memory_dynamic_min = memory_dynamic_max; undefined: the dynamic range stays. */
  memoryBytes?: number;
  maxMemoryBytes: number;
}

/**
 * The figures and maxima of a resize. Maxima named in the body win. Otherwise a change made live
 * keeps the maxima; a change made halted keeps them where the instance has headroom above its
 * figures (a spawn's or resize's max_vcpus / max_memory_mb), raised when the new figures exceed
 * them, and where it has none they follow the new figures, as XAPI's own setters do.
 */
export function resizeTargets(vm: Limits, body: ResizeAction, halted: boolean): ResizeTargets {
  const vcpus = body.vcpus ?? Number(vm.VCPUs_at_startup);
  const memoryBytes = body.memory_mb !== undefined ? body.memory_mb * MiB : undefined;
  const oldMaxVcpus = Number(vm.VCPUs_max);
  const oldMaxMemory = Number(vm.memory_static_max);
  const vcpuHeadroom = oldMaxVcpus > Number(vm.VCPUs_at_startup);
  const memoryHeadroom = oldMaxMemory > Number(vm.memory_dynamic_max);
  const maxVcpus =
    body.max_vcpus ?? (!halted ? oldMaxVcpus : vcpuHeadroom ? Math.max(oldMaxVcpus, vcpus) : vcpus);
  const maxMemoryBytes =
    body.max_memory_mb !== undefined
      ? body.max_memory_mb * MiB
      : !halted
        ? oldMaxMemory
        : memoryHeadroom
          ? Math.max(oldMaxMemory, memoryBytes ?? 0)
          : (memoryBytes ?? oldMaxMemory);
  return { vcpus, maxVcpus, memoryBytes, maxMemoryBytes };
}

/** 422 when named maxima are below the figures the instance will have. */
export function checkMaxima(vm: Limits, body: ResizeAction): void {
  const vcpus = body.vcpus ?? Number(vm.VCPUs_at_startup);
  const memory =
    body.memory_mb !== undefined ? body.memory_mb * MiB : Number(vm.memory_dynamic_max);
  if (
    (body.max_vcpus !== undefined && body.max_vcpus < vcpus) ||
    (body.max_memory_mb !== undefined && body.max_memory_mb * MiB < memory)
  )
    throw new ApiError(
      422,
      'invalid_value',
      'max_vcpus and max_memory_mb must be at least the vCPUs and memory the instance will have',
    );
}

/**
 * Which vCPU and memory changes can be made live, and which need the VM halted. Live only when
 * the whole change is live-capable: a running VM is never half changed live, half halted.
 */
export function classify(
  vm: Limits,
  body: ResizeAction,
): Pick<ResizeState, 'liveVcpus' | 'offlineVcpus' | 'liveMemory' | 'offlineMemory'> {
  checkMaxima(vm, body);
  const running = vm.power_state === 'Running';
  const out = { liveVcpus: false, offlineVcpus: false, liveMemory: false, offlineMemory: false };
  const oldMaxVcpus = Number(vm.VCPUs_max);
  const vcpus = body.vcpus ?? Number(vm.VCPUs_at_startup);
  const newMaxVcpus = body.max_vcpus !== undefined && body.max_vcpus !== oldMaxVcpus;
  if (vcpus !== Number(vm.VCPUs_at_startup) || newMaxVcpus) {
    if (running && !newMaxVcpus && vcpus <= oldMaxVcpus) out.liveVcpus = true;
    else out.offlineVcpus = true;
  }
  const bytes = body.memory_mb !== undefined ? body.memory_mb * MiB : undefined;
  const oldMaxMemory = Number(vm.memory_static_max);
  const newMaxMemory =
    body.max_memory_mb !== undefined && body.max_memory_mb * MiB !== oldMaxMemory;
  const sameDynamic =
    bytes === undefined ||
    (bytes === Number(vm.memory_dynamic_max) && bytes === Number(vm.memory_dynamic_min));
  if (!sameDynamic || newMaxMemory) {
    const inRange =
      bytes !== undefined && bytes <= oldMaxMemory && bytes >= Number(vm.memory_static_min);
    if (running && !newMaxMemory && inRange) out.liveMemory = true;
    else out.offlineMemory = true;
  }
  // One classification for the whole change: when any part needs the VM halted, every part is
  // made with the halted-state calls after the shutdown (the live calls refuse a halted VM).
  if (out.offlineVcpus || out.offlineMemory) {
    if (out.liveVcpus) [out.liveVcpus, out.offlineVcpus] = [false, true];
    if (out.liveMemory) [out.liveMemory, out.offlineMemory] = [false, true];
  }
  return out;
}

export function powerCycleRequired(vm: Limits): ApiError {
  return new ApiError(
    409,
    'power_cycle_required',
    'this resize needs the instance halted; ask for power_cycle clean or hard',
    {
      extra: {
        max_vcpus: Number(vm.VCPUs_max),
        max_memory_mb: Math.floor(Number(vm.memory_static_max) / MiB),
      },
    },
  );
}

/** The early check (from the mirror): 409 when a running VM would need a power cycle not asked for. */
export function checkResize(vm: Limits, body: ResizeAction): void {
  checkMaxima(vm, body);
  if (vm.power_state !== 'Running' || (body.power_cycle ?? 'none') !== 'none') return;
  const c = classify(vm, body);
  if (c.offlineVcpus || c.offlineMemory) throw powerCycleRequired(vm);
}

function steps(xapi: XapiClient): Array<Step<ResizeState>> {
  const vmRef = (s: ResizeState): string => s.run.vmRef;
  return [
    {
      name: 'shutdown',
      weight: 2,
      // Steps are chosen before the first runs: `cycle` is decided by plan().
      when: (s) => s.cycle,
      run: async (s, ctx) => {
        const type = s.body.power_cycle === 'hard' ? 'hard' : 'clean';
        await runAction(
          xapi,
          vmRef(s),
          { action: 'power-off', type, timeout: s.body.timeout ?? 60 },
          {
            signal: ctx.signal,
            onProgress: (f) => ctx.progress(f),
          },
        );
        ctx.onUndo('start the instance again', async () => {
          await xapi.callAsync('VM.start', [vmRef(s), false, false]);
        });
      },
    },
    {
      name: 'vcpus',
      when: (s) => s.liveVcpus || s.offlineVcpus,
      run: async (s, ctx) => {
        const { vcpus: n, maxVcpus: max } = resizeTargets(s.vm, s.body, !s.liveVcpus);
        const oldAt = Number(s.vm.VCPUs_at_startup);
        const oldMax = Number(s.vm.VCPUs_max);
        if (s.liveVcpus) {
          await xapi.callAsync('VM.set_VCPUs_number_live', [vmRef(s), n], { signal: ctx.signal });
          ctx.onUndo('restore vCPUs', async () => {
            await xapi.call('VM.set_VCPUs_number_live', vmRef(s), oldAt);
          });
          return;
        }
        // XAPI keeps 0 < VCPUs_at_startup <= VCPUs_max after every call.
        if (max >= oldMax) {
          if (max !== oldMax) await xapi.call('VM.set_VCPUs_max', vmRef(s), max);
          await xapi.call('VM.set_VCPUs_at_startup', vmRef(s), n);
        } else {
          await xapi.call('VM.set_VCPUs_at_startup', vmRef(s), n);
          await xapi.call('VM.set_VCPUs_max', vmRef(s), max);
        }
        ctx.onUndo('restore vCPUs', async () => {
          if (oldMax >= max) {
            await xapi.call('VM.set_VCPUs_max', vmRef(s), oldMax);
            await xapi.call('VM.set_VCPUs_at_startup', vmRef(s), oldAt);
          } else {
            await xapi.call('VM.set_VCPUs_at_startup', vmRef(s), oldAt);
            await xapi.call('VM.set_VCPUs_max', vmRef(s), oldMax);
          }
        });
      },
    },
    {
      name: 'memory',
      when: (s) => s.liveMemory || s.offlineMemory,
      run: async (s, ctx) => {
        const t = resizeTargets(s.vm, s.body, !s.liveMemory);
        const old = s.vm;
        if (s.liveMemory) {
          const bytes = t.memoryBytes!;
          await xapi.callAsync('VM.set_memory_dynamic_range', [vmRef(s), bytes, bytes], {
            signal: ctx.signal,
          });
          ctx.onUndo('restore memory', async () => {
            await xapi.call(
              'VM.set_memory_dynamic_range',
              vmRef(s),
              Number(old.memory_dynamic_min),
              Number(old.memory_dynamic_max),
            );
          });
          return;
        }
        const [dynMin, dynMax] =
          t.memoryBytes !== undefined
            ? [t.memoryBytes, t.memoryBytes]
            : [Number(old.memory_dynamic_min), Number(old.memory_dynamic_max)];
        const staticMin = Math.min(Number(old.memory_static_min), dynMin);
        await xapi.call(
          'VM.set_memory_limits',
          vmRef(s),
          staticMin,
          t.maxMemoryBytes,
          dynMin,
          dynMax,
        );
        ctx.onUndo('restore memory', async () => {
          await xapi.call(
            'VM.set_memory_limits',
            vmRef(s),
            Number(old.memory_static_min),
            Number(old.memory_static_max),
            Number(old.memory_dynamic_min),
            Number(old.memory_dynamic_max),
          );
        });
      },
    },
    {
      name: 'disks',
      weight: 2,
      when: (s) => s.disks.length > 0,
      run: async (s, ctx) => {
        const online = s.vm.power_state === 'Running' && !s.cycle;
        for (const [i, d] of s.disks.entries()) {
          await xapi.callAsync(online ? 'VDI.resize_online' : 'VDI.resize', [d.vdiRef, d.bytes], {
            signal: ctx.signal,
          });
          ctx.progress((i + 1) / s.disks.length);
        }
      },
    },
    {
      name: 'start',
      weight: 2,
      when: (s) => s.cycle,
      run: async (s, ctx) => {
        await xapi.callAsync('VM.start', [vmRef(s), false, false], {
          signal: ctx.signal,
          onProgress: (f) => ctx.progress(f),
        });
      },
    },
  ];
}

/** `volumeSrs`: the operator's volume sources, whose disks attached here may grow too. */
export async function resize(
  xapi: XapiClient,
  body: ResizeAction,
  run: OpRun,
  volumeSrs: readonly string[] = [],
): Promise<void> {
  const state = await plan(xapi, body, run, volumeSrs);
  run.onProgress(0.05, 'plan');
  await runSteps(steps(xapi), state, run.steps);
  const t = resizeTargets(state.vm, body, state.offlineVcpus || state.offlineMemory);
  // The mirror (and the instance view built from it) shows the new figures before the
  // operation reports them.
  const want = (): boolean => {
    const vm = xapi.mirror.get('VM', run.vmRef);
    if (!vm) return true;
    if (Number(vm.VCPUs_max) !== t.maxVcpus) return false;
    if (Number(vm.memory_static_max) !== t.maxMemoryBytes) return false;
    if (body.vcpus !== undefined && Number(vm.VCPUs_at_startup) !== body.vcpus) return false;
    if (body.memory_mb !== undefined && Number(vm.memory_dynamic_max) !== body.memory_mb * MiB)
      return false;
    return true;
  };
  await waitForMirror(xapi.mirror, want, run.mirrorWaitMs);
  await run.viewed(
    (v) =>
      !!v &&
      v.xapi_power_state === state.vm.power_state &&
      (body.vcpus === undefined || v.vcpus === body.vcpus) &&
      v.max_vcpus === t.maxVcpus,
  );
}
