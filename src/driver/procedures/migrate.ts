// Live migration within the pool: VM.pool_migrate (live=true) to a named host (uuid or
// name_label), or to the live, enabled host other than the current one with the most free memory
// (host.compute_free_memory) that can take the instance. Waits for the mirror to show the move.
import type { XapiClient } from '../../xapi';
import type { VMRecord } from '../../xapi/datamodel.generated';
import type { OpRun } from './common';
import { ApiError } from '../errors';

function resolveHost(xapi: XapiClient, name: string): string {
  const byUuid = xapi.mirror.getByUuid('host', name);
  if (byUuid) return byUuid.$ref;
  const byName = xapi.mirror.query('host', {
    where: { name_label: name },
    fields: ['uuid'],
    limit: 1,
  })[0];
  if (!byName) throw new ApiError(404, 'host_not_found', `host '${name}' not found`);
  return byName.$ref;
}

/** The host with the most free memory that can take `needed` bytes, other than `current`. */
async function chooseHost(xapi: XapiClient, current: string, needed: number): Promise<string> {
  let best: { ref: string; free: number } | undefined;
  for (const host of xapi.mirror.query('host', { fields: ['enabled', 'metrics', 'uuid'] })) {
    if (host.$ref === current || !host.enabled) continue;
    const metrics = xapi.mirror.get('host_metrics', host.metrics);
    if (metrics && metrics.live === false) continue;
    let free: number;
    try {
      free = Number(await xapi.call<number>('host.compute_free_memory', host.$ref));
    } catch {
      continue; // an unreachable host cannot take it
    }
    if (free >= needed && (!best || free > best.free)) best = { ref: host.$ref, free };
  }
  if (!best)
    throw new ApiError(
      409,
      'no_host_available',
      'no other live host of the pool has the free memory for the instance',
      {
        extra: { needed_bytes: needed },
      },
    );
  return best.ref;
}

export async function migrate(
  xapi: XapiClient,
  hostName: string | undefined,
  run: OpRun,
): Promise<void> {
  const vm = await xapi.call<VMRecord>('VM.get_record', run.vmRef);
  const needed =
    Math.max(Number(vm.memory_target) || 0, Number(vm.memory_dynamic_max) || 0) +
    (Number(vm.memory_overhead) || 0);
  const hostRef = hostName
    ? resolveHost(xapi, hostName)
    : await chooseHost(xapi, vm.resident_on, needed);
  run.onProgress(0.05, 'VM.pool_migrate');
  await xapi.callAsync('VM.pool_migrate', [run.vmRef, hostRef, { live: 'true' }], {
    signal: run.signal,
    onProgress: (f) => run.onProgress(0.05 + f * 0.9, 'VM.pool_migrate'),
  });
  const hostUuid = xapi.mirror.get('host', hostRef)?.uuid;
  await run.viewed((v) => v?.host?.uuid === hostUuid);
}
