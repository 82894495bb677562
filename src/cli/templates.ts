// `xcd templates` (and `xcd networks`, `xcd srs`): what a spawn can name, as the service lists it,
// and `xcd networks create|delete` (admin) making and removing a VLAN network. Must not talk to XAPI; it only speaks
// to the catalogue endpoints.
import type { Command } from 'commander';
import {
  action,
  clientFrom,
  printJson,
  printTable,
  withClientOptions,
  type ClientFlags,
} from './output';

export function registerTemplates(program: Command): void {
  withClientOptions(
    program.command('templates').description('list the templates a spawn can clone'),
  ).action(
    action(async (flags: ClientFlags) => {
      const items = await clientFrom(flags).templates();
      if (flags.json) return printJson(items);
      printTable(
        ['NAME_LABEL', 'UUID', 'VCPUS', 'MEMORY_MB'],
        items.map((t) => [t.name_label, t.uuid, t.vcpus ?? '-', t.memory_mb ?? '-']),
      );
    }),
  );
  const networks = withClientOptions(
    program.command('networks').description('list the networks a NIC can join'),
  ).action(
    action(async (flags: ClientFlags) => {
      const items = await clientFrom(flags).networks();
      if (flags.json) return printJson(items);
      printTable(
        ['NAME_LABEL', 'UUID', 'BRIDGE', 'VLAN', 'MANAGED'],
        items.map((n) => [n.name_label, n.uuid, n.bridge, n.vlan ?? '-', n.managed ? 'yes' : 'no']),
      );
    }),
  );
  withClientOptions(
    networks
      .command('create <name>')
      .description("make the service's VLAN network <name> (admin; safe to retry)"),
  )
    .requiredOption('--vlan <n>', 'the VLAN tag', Number)
    .option('--mtu <n>', 'MTU (default 1500)', Number)
    .option('--description <text>', "the network's description")
    .action(
      action(
        async (
          name: string,
          f: ClientFlags & { vlan: number; mtu?: number; description?: string },
        ) => {
          // --url, --token and --json after `create` are the parent command's options too.
          f = { ...(networks.opts() as ClientFlags), ...f };
          const net = await clientFrom(f).createNetwork(name, {
            vlan: f.vlan,
            ...(f.mtu !== undefined ? { mtu: f.mtu } : {}),
            ...(f.description !== undefined ? { description: f.description } : {}),
          });
          if (f.json) return printJson(net);
          process.stdout.write(`network ${net.name_label} (${net.uuid}) carries VLAN ${f.vlan}\n`);
        },
      ),
    );
  withClientOptions(
    networks
      .command('delete <name>')
      .description("remove the service's VLAN network <name> once no NIC is on it (admin)"),
  ).action(
    action(async (name: string, f: ClientFlags) => {
      f = { ...(networks.opts() as ClientFlags), ...f };
      await clientFrom(f).deleteNetwork(name);
      if (f.json) return printJson({ removed: name });
      process.stdout.write(`network ${name} removed\n`);
    }),
  );
  withClientOptions(program.command('srs').description('list the storage repositories')).action(
    action(async (flags: ClientFlags) => {
      const items = await clientFrom(flags).srs();
      if (flags.json) return printJson(items);
      printTable(
        ['NAME_LABEL', 'UUID', 'TYPE', 'DEFAULT', 'FREE_GB', 'SIZE_GB'],
        items.map((s) => [s.name_label, s.uuid, s.type, String(s.default), s.free_gb, s.size_gb]),
      );
    }),
  );
}
