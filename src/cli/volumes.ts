// `xcd volumes list|attach|detach`: existing VDIs attached to an instance by uuid, hot when it
// runs, over the REST API; --json for scripts. Never talks to XAPI.
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

export function registerVolumes(program: Command): void {
  const cmd = program.command('volumes').description('attach and detach volumes (existing VDIs)');

  withClientOptions(
    cmd.command('list <instance>').description("list an instance's volumes"),
  ).action(
    action(async (instance: string, f: ClientFlags) => {
      const items = await clientFrom(f).listVolumes(instance);
      if (f.json) return printJson(items);
      printTable(
        ['DEVICE', 'VDI', 'NAME', 'SIZE_GB', 'MODE', 'ATTACHED'],
        items.map((v) => [v.device, v.uuid, v.name, v.size_gb, v.mode, v.attached ? 'yes' : 'no']),
      );
    }),
  );

  withClientOptions(
    cmd.command('attach <instance> <vdi-uuid>').description('attach a VDI (hot when running)'),
  )
    .option('--device <n>', 'device position (default: the lowest free one)')
    .option('--read-only', 'attach read-only')
    .option('--no-wait', 'return the operation at once')
    .action(
      action(
        async (
          instance: string,
          vdi: string,
          f: WaitFlags & { device?: string; readOnly?: boolean },
        ) => {
          const client = clientFrom(f);
          const op = await client.attachVolume(instance, vdi, {
            ...(f.device ? { device: f.device } : {}),
            mode: f.readOnly ? 'RO' : 'RW',
          });
          await finishOperation(client, op, f, `attached ${vdi} to ${instance}`);
        },
      ),
    );

  withClientOptions(
    cmd.command('detach <instance> <vdi-uuid>').description('detach a volume (the VDI stays)'),
  )
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (instance: string, vdi: string, f: WaitFlags) => {
        const client = clientFrom(f);
        await finishOperation(
          client,
          await client.detachVolume(instance, vdi),
          f,
          `detached ${vdi} from ${instance}`,
        );
      }),
    );
}
