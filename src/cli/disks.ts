// `xcd disks add|remove|snapshot|snapshots|revert|delete-snapshot`: disks an instance owns, made
// blank or cloned from an image at a device and destroyed with it (or by `remove`), or an image
// itself attached as a persistent disk (released by `remove`), hot when it runs, and snapshots
// of one such disk, over the REST API; --json for scripts. Never talks to XAPI.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { finishOperation, type WaitFlags } from './follow';
import {
  action,
  clientFrom,
  printJson,
  printTable,
  withClientOptions,
  type ClientFlags,
} from './output';
import type { XcdClient } from '../client';

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
      .description(
        'make a disk at a device, blank (--size-gb) or from an image (--image), and attach it ' +
          '(safe to retry)',
      ),
  )
    .option('--size-gb <n>', 'size in GiB (with --image: grow the clone to it)', sizeGb)
    .option('--image <id>', "a clone of one of the namespace's images (or a public one)")
    .option('--sr <uuid>', "SR (default: the pool's default SR)")
    .option('--bootable', 'mark the disk bootable')
    .option(
      '--persistent',
      "with --image: attach the image itself, not a clone (writes stay in the image; 'remove' " +
        'gives it back)',
    )
    .option('--no-wait', 'return the operation at once')
    .action(
      action(
        async (
          instance: string,
          device: string,
          f: WaitFlags & {
            sizeGb?: number;
            image?: string;
            sr?: string;
            bootable?: boolean;
            persistent?: boolean;
          },
        ) => {
          if (f.persistent && f.image === undefined)
            throw new InvalidArgumentError('--persistent needs --image ID');
          const common = {
            ...(f.sr ? { sr: f.sr } : {}),
            ...(f.bootable ? { bootable: true } : {}),
          };
          let body: Parameters<XcdClient['addDisk']>[2];
          if (f.image !== undefined)
            body = {
              image: f.image,
              ...(f.sizeGb !== undefined ? { size_gb: f.sizeGb } : {}),
              ...(f.persistent ? { persistent: true } : {}),
              ...common,
            };
          else if (f.sizeGb !== undefined) body = { size_gb: f.sizeGb, ...common };
          else throw new InvalidArgumentError('give --size-gb N (a blank disk) or --image ID');
          const client = clientFrom(f);
          const op = await client.addDisk(instance, device, body);
          const what =
            f.image === undefined
              ? `a ${f.sizeGb} GiB disk`
              : f.persistent
                ? `image ${f.image} (persistent)`
                : `a disk of image ${f.image}`;
          await finishOperation(client, op, f, `added ${what} at device ${device} of ${instance}`);
        },
      ),
    );

  withClientOptions(
    cmd
      .command('remove <instance> <device>')
      .description(
        'detach the disk at a device and destroy it (only disks the instance owns); a ' +
          'persistent disk is detached and stays the image',
      ),
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

  withClientOptions(
    cmd
      .command('snapshot <instance> <device> <snapshot-id>')
      .description('snapshot the disk at a device under an id (safe to retry)'),
  )
    .option('--name <name>', "the snapshot's name")
    .option('--no-wait', 'return the operation at once')
    .action(
      action(
        async (instance: string, device: string, id: string, f: WaitFlags & { name?: string }) => {
          const client = clientFrom(f);
          const op = await client.createDiskSnapshot(
            instance,
            device,
            id,
            f.name !== undefined ? { name: f.name } : {},
          );
          await finishOperation(client, op, f, `snapshot ${id} of disk ${device} of ${instance}`);
        },
      ),
    );

  withClientOptions(
    cmd
      .command('snapshots <instance> <device>')
      .description('list the snapshots of the disk at a device'),
  ).action(
    action(async (instance: string, device: string, f: ClientFlags) => {
      const items = await clientFrom(f).listDiskSnapshots(instance, device);
      if (f.json) return printJson(items);
      printTable(
        ['ID', 'NAME', 'SIZE_GB', 'CREATED'],
        items.map((s) => [s.id, s.name, String(s.size_gb), s.created_at]),
      );
    }),
  );

  withClientOptions(
    cmd
      .command('revert <instance> <device> <snapshot-id>')
      .description("bring the disk's content back to a snapshot"),
  )
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (instance: string, device: string, id: string, f: WaitFlags) => {
        const client = clientFrom(f);
        await finishOperation(
          client,
          await client.revertDiskSnapshot(instance, device, id),
          f,
          `disk ${device} of ${instance} reverted to snapshot ${id}`,
        );
      }),
    );

  withClientOptions(
    cmd
      .command('delete-snapshot <instance> <device> <snapshot-id>')
      .description('delete a snapshot of the disk at a device'),
  )
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (instance: string, device: string, id: string, f: WaitFlags) => {
        const client = clientFrom(f);
        await finishOperation(
          client,
          await client.deleteDiskSnapshot(instance, device, id),
          f,
          `snapshot ${id} of disk ${device} of ${instance} deleted`,
        );
      }),
    );
}
