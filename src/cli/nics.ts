// `xcd nics list|attach|detach`: an instance's NICs over the REST API, hot when it runs, on a
// network named by uuid, name_label or bridge, or on the service's network of a VLAN (--vlan),
// bound to an orchestrator's port (--port-id); --json for scripts. Never talks to XAPI.
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

function vlanTag(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 4094)
    throw new Error(`--vlan must be a VLAN tag 1-4094, got '${text}'`);
  return n;
}

export function registerNics(program: Command): void {
  const cmd = program.command('nics').description("attach and detach an instance's NICs");

  withClientOptions(cmd.command('list <instance>').description("list an instance's NICs")).action(
    action(async (instance: string, f: ClientFlags) => {
      const items = await clientFrom(f).listNics(instance);
      if (f.json) return printJson(items);
      printTable(
        ['DEVICE', 'MAC', 'NETWORK', 'ATTACHED', 'PORT'],
        items.map((n) => [
          n.device,
          n.mac,
          n.network_name ?? n.network,
          n.attached ? 'yes' : 'no',
          n.port_id ?? '-',
        ]),
      );
    }),
  );

  withClientOptions(
    cmd
      .command('attach <instance> [network]')
      .description('attach a NIC on a network (uuid, name or bridge) or on a VLAN (--vlan)'),
  )
    .option('--vlan <n>', "the service's network of this VLAN (made on first use)", vlanTag)
    .option('--port-id <id>', "the orchestrator's port id (nicira-iface-id)")
    .option('--mac <mac>', 'the MAC address (default: generated)')
    .option('--device <n>', 'device number (default: the lowest free one)')
    .option('--no-wait', 'return the operation at once')
    .action(
      action(
        async (
          instance: string,
          network: string | undefined,
          f: WaitFlags & { mac?: string; device?: string; vlan?: number; portId?: string },
        ) => {
          if ((network === undefined) === (f.vlan === undefined))
            throw new Error('name a network or give --vlan (one of them)');
          const client = clientFrom(f);
          const op = await client.attachNic(instance, {
            ...(network !== undefined ? { network } : { vlan: f.vlan }),
            ...(f.portId ? { port_id: f.portId } : {}),
            ...(f.mac ? { mac: f.mac } : {}),
            ...(f.device ? { device: f.device } : {}),
          });
          const on = network ?? `VLAN ${f.vlan}`;
          await finishOperation(client, op, f, `attached a NIC on ${on} to ${instance}`);
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
