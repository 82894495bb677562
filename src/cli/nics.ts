// `xcd nics list|attach|detach`: an instance's NICs over the REST API, hot when it runs, on a
// network named by uuid, name_label or bridge; --json for scripts. Never talks to XAPI.
import type { Command } from 'commander';
import { finishOperation, type WaitFlags } from './follow';
import {
  action,
  printJson,
  printTable,
  withClientOptions,
  type ClientFlags,
  clientFrom,
} from './output';

export function registerNics(program: Command): void {
  const cmd = program.command('nics').description("attach and detach an instance's NICs");

  withClientOptions(cmd.command('list <instance>').description("list an instance's NICs")).action(
    action(async (instance: string, f: ClientFlags) => {
      const items = await clientFrom(f).listNics(instance);
      if (f.json) return printJson(items);
      printTable(
        ['DEVICE', 'MAC', 'NETWORK', 'ATTACHED'],
        items.map((n) => [n.device, n.mac, n.network_name ?? n.network, n.attached ? 'yes' : 'no']),
      );
    }),
  );

  withClientOptions(
    cmd
      .command('attach <instance> <network>')
      .description('attach a NIC on a network (uuid, name or bridge)'),
  )
    .option('--mac <mac>', 'the MAC address (default: generated)')
    .option('--device <n>', 'device number (default: the lowest free one)')
    .option('--no-wait', 'return the operation at once')
    .action(
      action(
        async (
          instance: string,
          network: string,
          f: WaitFlags & { mac?: string; device?: string },
        ) => {
          const client = clientFrom(f);
          const op = await client.attachNic(instance, {
            network,
            ...(f.mac ? { mac: f.mac } : {}),
            ...(f.device ? { device: f.device } : {}),
          });
          await finishOperation(client, op, f, `attached a NIC on ${network} to ${instance}`);
        },
      ),
    );

  withClientOptions(
    cmd.command('detach <instance> <device>').description('detach the NIC at a device'),
  )
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (instance: string, device: string, f: WaitFlags) => {
        const client = clientFrom(f);
        await finishOperation(
          client,
          await client.detachNic(instance, device),
          f,
          `detached NIC ${device} from ${instance}`,
        );
      }),
    );
}
