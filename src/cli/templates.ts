// `xcd templates` (and `xcd networks`, `xcd srs`): what a spawn can name, as the service lists it.
// Must not talk to XAPI; it only prints the catalogue endpoints' answers.
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
  withClientOptions(
    program.command('networks').description('list the networks a NIC can join'),
  ).action(
    action(async (flags: ClientFlags) => {
      const items = await clientFrom(flags).networks();
      if (flags.json) return printJson(items);
      printTable(
        ['NAME_LABEL', 'UUID', 'BRIDGE'],
        items.map((n) => [n.name_label, n.uuid, n.bridge]),
      );
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
