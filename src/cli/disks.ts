// `xcd disks add|remove`: disks an instance owns, made blank at a device and destroyed with it
// (or by `remove`), hot when it runs, over the REST API; --json for scripts. Never talks to XAPI.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { finishOperation, type WaitFlags } from './follow';
import { action, clientFrom, withClientOptions } from './output';

function sizeGb(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1) throw new InvalidArgumentError('a size in GiB, 1 or more');
  return n;
}

export function registerDisks(program: Command): void {
  const cmd = program
    .command('disks')
    .description("add and remove disks an instance owns (volumes: see 'xcd volumes')");

  withClientOptions(
    cmd
      .command('add <instance> <device>')
      .description('make a blank disk at a device and attach it (safe to retry)'),
  )
    .requiredOption('--size-gb <n>', 'size in GiB', sizeGb)
    .option('--sr <uuid>', "SR (default: the pool's default SR)")
    .option('--bootable', 'mark the disk bootable')
    .option('--no-wait', 'return the operation at once')
    .action(
      action(
        async (
          instance: string,
          device: string,
          f: WaitFlags & { sizeGb: number; sr?: string; bootable?: boolean },
        ) => {
          const client = clientFrom(f);
          const op = await client.addDisk(instance, device, {
            size_gb: f.sizeGb,
            ...(f.sr ? { sr: f.sr } : {}),
            ...(f.bootable ? { bootable: true } : {}),
          });
          await finishOperation(
            client,
            op,
            f,
            `added a ${f.sizeGb} GiB disk at device ${device} of ${instance}`,
          );
        },
      ),
    );

  withClientOptions(
    cmd
      .command('remove <instance> <device>')
      .description('detach the disk at a device and destroy it (only disks the instance owns)'),
  )
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (instance: string, device: string, f: WaitFlags) => {
        const client = clientFrom(f);
        await finishOperation(
          client,
          await client.removeDisk(instance, device),
          f,
          `removed disk ${device} of ${instance}`,
        );
      }),
    );
}
