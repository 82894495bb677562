// Instances: spawn, destroy and the actions on an instance (power, pause and suspend, resize,
// migration), each an operation through the runner, with reads from the instance index. Decides
// idempotency (a spawn keyed by the caller's id and body hash) and what each action does in
// which power state; what it does in XAPI lives in spawn/ and procedures/. No HTTP here.
import type { XapiClient } from '../xapi';
import { ApiError } from './errors';
import { waitForMirror } from './mirror-wait';
import { parsePersisted } from './operations';
import { requirePowerState } from './procedures/common';
import {
  currentVmRefs,
  destroyInstance,
  destroyLeftovers,
  leftoverDisks,
} from './procedures/destroy';
import { LIFECYCLE, runLifecycle } from './procedures/lifecycle';
import { migrate } from './procedures/migrate';
import { runAction, targetPowerState } from './procedures/power';
import { checkResize, resize } from './procedures/resize';
import type { Networks } from './networks';
import { instanceKey, type OperationRunner } from './runner';
import { iscsiVolumesOf, releaseIscsiVolumeOf, spawnIdentity } from './spawn/root-volume';
import { planSpawn, spawnSteps, type SpawnState } from './spawn/steps';
import { runSteps } from './steps';
import { TAG, specHash } from './tags';
import type { Caller, Instance, InstanceAction, Operation, SpawnRequest } from './types';

export interface InstancesOptions {
  /** This service's id: the owner of its work in flight (lease.ts). */
  serviceId: string;
  /** The operator's volume sources (ownership.ts). */
  volumeSrs: readonly string[];
  /** An image's base VDI in an SR, for spawns from an image (images.ts). */
  imageBase?: SpawnState['imageBase'];
  /** The VLAN networks a spawn's NICs may ask for (networks.ts). */
  networks: Networks;
}

export class Instances {
  constructor(
    private readonly xapi: XapiClient,
    private readonly runner: OperationRunner,
    private readonly opts: InstancesOptions,
  ) {}

  list(
    caller: Caller,
    q: { power_state?: string; limit: number; offset: number },
  ): { items: Instance[]; total: number } {
    return this.runner.index.list(caller.namespace, q);
  }

  get(caller: Caller, id: string): Instance {
    return this.runner.index.get(caller.namespace, id);
  }

  spawn(
    caller: Caller,
    id: string,
    body: SpawnRequest,
  ): { operation: Operation; replayed: boolean } {
    const { runner } = this;
    const { ops, index } = runner;
    runner.assertMutator(caller);
    const ns = caller.namespace;
    const k = instanceKey(ns, id);
    const hash = specHash(spawnIdentity(body));
    const mismatch = (): ApiError =>
      new ApiError(
        409,
        'conflict_spawn_mismatch',
        `instance '${id}' exists with a different spawn request`,
      );

    const deleting = ops.latest(ns, id, 'destroy');
    if (deleting && !deleting.finished)
      throw new ApiError(409, 'instance_busy', `instance '${id}' is being deleted; retry later`);
    const pending = runner.inflight.get(k);
    if (pending) {
      if (pending.hash !== hash) throw mismatch();
      return { operation: runner.opView(pending.entry), replayed: true };
    }
    const vmRef = index.refOf(ns, id);
    if (vmRef) {
      const oc = this.xapi.mirror.get('VM', vmRef)?.other_config ?? {};
      if (oc[TAG.spec] !== hash) throw mismatch();
      if (oc[TAG.state] === 'deleting')
        throw new ApiError(409, 'instance_busy', `instance '${id}' is being deleted`);
      const known = ops.latest(ns, id, 'spawn');
      if (known) return { operation: runner.opView(known), replayed: true };
      const persisted = parsePersisted(oc[TAG.operation]);
      if (persisted?.kind === 'spawn')
        return { operation: runner.opView(ops.adopt(ns, persisted)), replayed: true };
      const entry = ops.create(ns, 'spawn', id);
      ops.succeed(entry, index.view(vmRef) ?? null);
      return { operation: runner.opView(entry), replayed: true };
    }

    const owner = { namespace: ns, instanceId: id };
    for (const nic of body.nics ?? [])
      if (nic.vlan !== undefined) this.opts.networks.checkVlan(nic.vlan);
    const plan = planSpawn(this.xapi.mirror, owner, hash, body, this.opts.volumeSrs);
    const plannedAt = this.xapi.resyncs;
    runner.assertQueue(ns, id);
    const entry = ops.create(ns, 'spawn', id);
    runner.inflight.set(k, { hash, entry });
    const state: SpawnState = {
      plan,
      serviceId: this.opts.serviceId,
      volumeSrs: this.opts.volumeSrs,
      mirrorWaitMs: runner.mirrorWaitMs,
      ...(this.opts.imageBase ? { imageBase: this.opts.imageBase } : {}),
      ensureVlan: (tag) => this.opts.networks.ensureVlan(tag, runner.stepOptions(entry)),
      made: { vbdDevices: [], vifDevices: [], nicVifs: [] },
      operationJson: (final) =>
        final
          ? JSON.stringify({
              ...entry.data,
              status: 'succeeded',
              progress: 1,
              step: undefined,
              finished_at: new Date().toISOString(),
            })
          : entry.persisted(),
    };
    const job = runner.schedule(k, entry, async () => {
      // The plan's refs are the mirror's when the spawn was accepted: after a XAPI restart
      // (new refs, same uuids) it is made again from the reloaded mirror.
      const mirror = this.xapi.mirror;
      if (!mirror.synced) await waitForMirror(mirror, () => mirror.synced, runner.mirrorWaitMs);
      if (this.xapi.resyncs !== plannedAt)
        state.plan = planSpawn(mirror, owner, hash, body, this.opts.volumeSrs);
      try {
        await runSteps(spawnSteps(this.xapi), state, runner.stepOptions(entry));
      } catch (err) {
        // Rolled back: report the failure once reads (the mirror, and the index it feeds) no
        // longer show the removed VM, which may still be a template there.
        const gone = state.vmRef;
        if (gone)
          await waitForMirror(
            this.xapi.mirror,
            () => index.refOf(ns, id) !== gone && !this.xapi.mirror.get('VM', gone),
            runner.mirrorWaitMs,
          );
        throw err;
      }
      const made = state.vmRef!;
      const powerOn = body.power_on !== false;
      // Done once reads (the index, fed by mirror change batches) show the result.
      await waitForMirror(
        this.xapi.mirror,
        () => {
          const view = index.refOf(ns, id) === made ? index.view(made) : undefined;
          return view?.state === 'active' && (!powerOn || view.power_state === 'running');
        },
        runner.mirrorWaitMs,
      );
      ops.succeed(entry, index.view(made) ?? null);
    });
    // Forgotten once finished (also when cancelled before its turn came).
    void job.then(() => {
      if (runner.inflight.get(k)?.entry === entry) runner.inflight.delete(k);
    });
    return { operation: runner.opView(entry), replayed: false };
  }

  /** null: there is nothing to destroy (no VM, and no disk a failed destroy left). */
  destroy(caller: Caller, id: string, opts: { keep_disks?: boolean }): Operation | null {
    const { runner } = this;
    const { ops, index } = runner;
    runner.assertMutator(caller);
    const ns = caller.namespace;
    const k = instanceKey(ns, id);
    const running = ops.latest(ns, id, 'destroy');
    if (running && !running.finished) return runner.opView(running);
    const pending = runner.inflight.get(k);
    const keepDisks = opts.keep_disks === true;
    const owner = { namespace: ns, instanceId: id };
    // No VM (the mirror asked too): what a failed destroy left (its disks) is still removed.
    if (!pending && !index.refOf(ns, id)) {
      if (keepDisks || leftoverDisks(this.xapi.mirror, owner).length === 0) return null;
    }
    // A destroy wins over a spawn still running (cancelling it rolls the spawn back) and over
    // operations queued behind it that have not started.
    if (pending && !pending.entry.finished) pending.entry.controller.abort();
    runner.cancelQueued(ns, id);
    const entry = ops.create(ns, 'destroy', id, { keep_disks: keepDisks });
    runner.schedule(k, entry, async () => {
      const vmRefs = await currentVmRefs(this.xapi, index.refsOf(ns, id));
      entry.uncancellable = true;
      // Its iSCSI volumes (the one it booted from among them): each LUN is released once the
      // VM is gone, its SR forgotten when nothing else uses it, as a detach ends.
      const iscsiVolumes = vmRefs.flatMap((ref) => iscsiVolumesOf(this.xapi.mirror, ns, ref));
      for (const vmRef of vmRefs)
        await destroyInstance(
          this.xapi,
          vmRef,
          { owner, keepDisks },
          {
            serviceId: this.opts.serviceId,
            signal: new AbortController().signal,
            onProgress: (f, step) => ops.progress(entry, f, step),
            operationJson: () => entry.persisted(),
          },
        );
      for (const volume of iscsiVolumes)
        await releaseIscsiVolumeOf(this.xapi, volume, runner.mirrorWaitMs);
      if (!keepDisks) await destroyLeftovers(this.xapi, owner);
      // Done once reads no longer show the instance, nor (unless kept) its disks.
      await waitForMirror(
        this.xapi.mirror,
        () =>
          !index.refOf(ns, id) &&
          (keepDisks || leftoverDisks(this.xapi.mirror, owner, true).length === 0),
        runner.mirrorWaitMs,
      );
      ops.succeed(entry, null);
    });
    return runner.opView(entry);
  }

  /** An action on the instance (the oneOf of InstanceAction). */
  action(caller: Caller, id: string, body: InstanceAction): Operation {
    const { runner } = this;
    switch (body.action) {
      case 'reboot':
      case 'power-off':
      case 'power-on':
        return runner.onInstance(caller, id, { kind: body.action, leavesTags: true }, async (r) => {
          await runAction(this.xapi, r.vmRef, body, r);
          const target = targetPowerState(body);
          await r.viewed((view) => view?.xapi_power_state === target);
        });
      case 'pause':
      case 'unpause':
      case 'suspend':
      case 'resume': {
        const what = body.action;
        return runner.onInstance(
          caller,
          id,
          {
            kind: what,
            leavesTags: true,
            precheck: (vm) => requirePowerState(vm, LIFECYCLE[what].from),
          },
          (r) => runLifecycle(this.xapi, what, r),
        );
      }
      case 'resize':
        return runner.onInstance(
          caller,
          id,
          {
            kind: 'resize',
            precheck: (vm) => {
              requirePowerState(vm, ['running', 'halted']);
              checkResize(vm, body);
            },
          },
          (r) => resize(this.xapi, body, r, this.opts.volumeSrs),
        );
      case 'migrate':
        return runner.onInstance(
          caller,
          id,
          { kind: 'migrate', precheck: (vm) => requirePowerState(vm, ['running']) },
          (r) => migrate(this.xapi, body.host, r),
        );
    }
  }
}
