// Host maintenance as xapi does it: host.evacuate live-migrates every running VM off a host (each
// to the live, enabled host with the most free memory that sees its disks; the whole plan is
// checked first, so a VM nobody can take, or a paused one, fails the call before anything moves),
// host.reboot and host.shutdown only for a disabled host without running VMs
// (HOST_NOT_DISABLED, HOST_IN_USE), a rebooted host coming back enabled, a shut-down one not
// live; host.power_on through the host's power-on mode (HOST_POWER_ON_MODE_DISABLED without
// one), and host.set_power_on_mode.
import { XapiFault } from '../engine/fault';
import { defineMessage, type CallContext } from '../engine/registry';
import type { Rec } from '../engine/store';
import { moveConsoles } from './console';
import {
  assertHostHasMemory,
  hostFreeMemory,
  isHostLive,
  missingSr,
  setResident,
  vmFootprint,
  vmStartMemory,
} from './host';
import { nextDomid } from './vm';
import { withVmOperation } from './vm-lifecycle';

/** The guests with a domain on the host (not its control domain). */
function guestsOn(ctx: CallContext, hostRef: string): Array<[string, Rec]> {
  return [...ctx.store.all('VM').entries()].filter(
    ([, vm]) =>
      vm.resident_on === hostRef &&
      !vm.is_control_domain &&
      (vm.power_state === 'Running' || vm.power_state === 'Paused'),
  );
}

/** Where each guest goes: memory is counted as the plan fills the other hosts. */
function evacuationPlan(ctx: CallContext, hostRef: string): Array<[string, string]> {
  const { store, sim } = ctx;
  const free = new Map(
    [...store.all('host').entries()]
      .filter(([ref, rec]) => ref !== hostRef && rec.enabled === true && isHostLive(sim, ref))
      .map(([ref]) => [ref, hostFreeMemory(store, ref)]),
  );
  const plan: Array<[string, string]> = [];
  for (const [vmRef, vm] of guestsOn(ctx, hostRef)) {
    // Only a running VM migrates (pool_migrate): a paused one holds the host.
    if (vm.power_state !== 'Running')
      throw new XapiFault('VM_BAD_POWER_STATE', [
        vmRef,
        'running',
        String(vm.power_state).toLowerCase(),
      ]);
    const needed = vmStartMemory(vm);
    if (free.size === 0) throw new XapiFault('NO_HOSTS_AVAILABLE', []);
    // A VM on a disk only this host sees (its local SR) cannot leave it.
    const seeing = [...free.entries()].filter(([ref]) => !missingSr(store, vm, ref));
    if (seeing.length === 0)
      throw new XapiFault('VM_REQUIRES_SR', [vmRef, missingSr(store, vm, [...free.keys()][0])!]);
    const fits = seeing.filter(([, bytes]) => bytes >= needed).sort((a, b) => b[1] - a[1]);
    if (fits.length === 0) {
      const most = Math.max(...seeing.map(([, bytes]) => bytes));
      throw new XapiFault('HOST_NOT_ENOUGH_FREE_MEMORY', [String(needed), String(most)]);
    }
    const [target, bytes] = fits[0];
    free.set(target, bytes - vmFootprint(vm));
    plan.push([vmRef, target]);
  }
  return plan;
}

function assertMaintainable(ctx: CallContext, hostRef: string): Rec {
  const host = ctx.store.get('host', hostRef);
  if (!isHostLive(ctx.sim, hostRef)) throw new XapiFault('HOST_OFFLINE', [hostRef]);
  if (host.enabled === true) throw new XapiFault('HOST_NOT_DISABLED', []);
  const busy = guestsOn(ctx, hostRef)[0];
  if (busy) throw new XapiFault('HOST_IN_USE', [hostRef, 'vm', busy[0]]);
  return host;
}

function setLive(ctx: CallContext, hostRef: string, live: boolean): void {
  const metrics = ctx.store.get('host', hostRef).metrics as string;
  if (ctx.store.find('host_metrics', metrics))
    ctx.store.update('host_metrics', metrics, { live, last_updated: new Date() });
}

export function registerHostMaintenanceMessages(): void {
  const evacuate = async (ctx: CallContext, hostRef: unknown): Promise<void> => {
    const ref = String(hostRef);
    ctx.store.get('host', ref);
    if (!isHostLive(ctx.sim, ref)) throw new XapiFault('HOST_OFFLINE', [ref]);
    const plan = evacuationPlan(ctx, ref);
    for (const [i, [vmRef, target]] of plan.entries()) {
      await withVmOperation(ctx, vmRef, 'pool_migrate', async (vm) => {
        assertHostHasMemory(ctx.store, target, vmStartMemory(vm));
        ctx.store.update('VM', vmRef, { scheduled_to_be_resident_on: target });
        await ctx.work(80, (i + 1) / plan.length);
        ctx.store.update('VM', vmRef, { domid: nextDomid(ctx.sim) });
        setResident(ctx.store, vmRef, target);
        moveConsoles(ctx.store, vmRef, target);
      });
    }
  };
  // host.evacuate(host), (host, network) and (host, network, batch size): the network names the
  // migration network, which the simulated pool does not distinguish.
  defineMessage('host.evacuate', (ctx, [hostRef]) => evacuate(ctx, hostRef));
  defineMessage('host.assert_can_evacuate', (ctx, [hostRef]) => {
    ctx.store.get('host', String(hostRef));
    evacuationPlan(ctx, String(hostRef));
  });
  defineMessage('host.reboot', async (ctx, [hostRef]) => {
    const ref = String(hostRef);
    assertMaintainable(ctx, ref);
    setLive(ctx, ref, false);
    await ctx.work(200);
    setLive(ctx, ref, true);
    // xapi enables the host again once it has started.
    const other = ctx.store.get('host', ref).other_config as Record<string, string>;
    ctx.store.update('host', ref, {
      enabled: true,
      other_config: { ...other, boot_time: String(Math.floor(Date.now() / 1000)) },
    });
  });
  defineMessage('host.shutdown', async (ctx, [hostRef]) => {
    const ref = String(hostRef);
    assertMaintainable(ctx, ref);
    await ctx.work(100);
    setLive(ctx, ref, false);
  });
  defineMessage('host.power_on', async (ctx, [hostRef]) => {
    const ref = String(hostRef);
    const host = ctx.store.get('host', ref);
    if (!host.power_on_mode) throw new XapiFault('HOST_POWER_ON_MODE_DISABLED', []);
    if (isHostLive(ctx.sim, ref)) return;
    await ctx.work(200);
    setLive(ctx, ref, true);
    ctx.store.update('host', ref, { enabled: true });
  });
  defineMessage('host.set_power_on_mode', (ctx, [hostRef, mode, config]) => {
    ctx.store.get('host', String(hostRef));
    ctx.store.update('host', String(hostRef), {
      power_on_mode: String(mode ?? ''),
      power_on_config: (config as Record<string, string>) ?? {},
    });
  });
}
