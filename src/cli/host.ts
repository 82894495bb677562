// `xcd host`: the pool's identity and resources as the service reports them, and maintenance of
// one host (`xcd host evacuate|enable|... HOST`), admin token. Must not talk to XAPI; it only
// speaks to GET /v1/host and POST /v1/hosts/{host}/actions.
import type { Command } from 'commander';
import { finishOperation, type WaitFlags } from './follow';
import {
  action,
  clientFrom,
  printJson,
  printTable,
  withClientOptions,
  type ClientFlags,
} from './output';

/** The maintenance actions, as POST /v1/hosts/{host}/actions names them, and what each does. */
const HOST_ACTIONS = {
  disable: 'take no new instances (running ones stay)',
  enable: 'take instances again',
  evacuate: 'disable, then live-migrate every running instance to other hosts',
  reboot: 'evacuate, then reboot (comes back enabled)',
  shutdown: 'evacuate, then shut down',
  'power-on': 'power on a host that is down, through its XAPI power-on mode',
} as const;

export function registerHost(program: Command): void {
  const host = withClientOptions(
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
        ['HOST', 'UUID', 'ADDRESS', 'LIVE', 'ENABLED', 'MASTER', 'MEMORY_FREE_MB', 'ISCSI_IQN'],
        h.hosts.map((x) => [
          x.name,
          x.uuid,
          x.address,
          String(x.live),
          String(x.enabled),
          String(x.master),
          x.memory_mb.free,
          x.iscsi_iqn || '-',
        ]),
      );
    }),
  );
  for (const [name, what] of Object.entries(HOST_ACTIONS)) {
    withClientOptions(host.command(`${name} <host>`).description(`${what} (admin)`))
      .option('--no-wait', 'return the operation at once')
      .action(
        action(async (target: string, f: WaitFlags) => {
          // --url, --token and --json after the action are the parent command's options too.
          f = { ...(host.opts() as WaitFlags), ...f };
          const client = clientFrom(f);
          const op = await client.hostAction(target, name as keyof typeof HOST_ACTIONS);
          await finishOperation(client, op, f, `host ${target}: ${name} done`);
        }),
      );
  }
}
