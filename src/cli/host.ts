// `xcd host`: the pool's identity and resources as the service reports them (admin token).
// Must not talk to XAPI; it only prints what GET /v1/host answers.
import type { Command } from 'commander';
import {
  action,
  clientFrom,
  printJson,
  printTable,
  withClientOptions,
  type ClientFlags,
} from './output';

export function registerHost(program: Command): void {
  withClientOptions(
    program.command('host').description("show the pool's identity and resources"),
  ).action(
    action(async (flags: ClientFlags) => {
      const h = await clientFrom(flags).host();
      if (flags.json) return printJson(h);
      printTable(
        ['FIELD', 'VALUE'],
        [
          ['hostname', h.hostname],
          ['product', `${h.product.name} ${h.product.version}`],
          ['hypervisor', `${h.hypervisor_type} ${h.hypervisor_version}`],
          ['vcpus', `${h.vcpus.used} used of ${h.vcpus.total}`],
          [
            'memory_mb',
            `${h.memory_mb.used} used, ${h.memory_mb.free} free of ${h.memory_mb.total}`,
          ],
          ['disk_gb', `${h.disk_gb.used} used, ${h.disk_gb.free} free of ${h.disk_gb.total}`],
          ['uptime_s', h.uptime],
        ],
      );
      process.stdout.write('\n');
      printTable(
        ['HOST', 'UUID', 'ADDRESS', 'LIVE', 'MASTER', 'MEMORY_FREE_MB'],
        h.hosts.map((x) => [
          x.name,
          x.uuid,
          x.address,
          String(x.live),
          String(x.master),
          x.memory_mb.free,
        ]),
      );
    }),
  );
}
