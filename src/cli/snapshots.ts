// `xcd snapshots create|list|show|revert|delete`: an instance's snapshots over the REST API,
// following each operation with a progress bar; --json for scripts. Never talks to XAPI.
import { randomUUID } from 'node:crypto';
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

export function registerSnapshots(program: Command): void {
  const cmd = program
    .command('snapshots')
    .description("create, list, revert and delete an instance's snapshots");

  withClientOptions(
    cmd
      .command('create <instance> [snapshot-id]')
      .description('snapshot an instance (id default: a new uuid)'),
  )
    .option('--name <name>', "the snapshot's name")
    .option('--memory', 'a checkpoint with the memory image (running instances)')
    .option('--no-wait', 'return the operation at once')
    .action(
      action(
        async (
          instance: string,
          snapshotId: string | undefined,
          f: WaitFlags & { name?: string; memory?: boolean },
        ) => {
          const client = clientFrom(f);
          const id = snapshotId ?? randomUUID();
          const op = await client.createSnapshot(instance, id, {
            ...(f.name ? { name: f.name } : {}),
            memory: f.memory === true,
          });
          await finishOperation(client, op, f, `snapshot ${id} of ${instance} created`);
        },
      ),
    );

  withClientOptions(
    cmd.command('list <instance>').description("list an instance's snapshots"),
  ).action(
    action(async (instance: string, f: ClientFlags) => {
      const items = await clientFrom(f).listSnapshots(instance);
      if (f.json) return printJson(items);
      printTable(
        ['ID', 'NAME', 'MEMORY', 'POWER_AT_SNAPSHOT', 'CREATED'],
        items.map((s) => [
          s.id,
          s.name,
          s.memory ? 'yes' : 'no',
          s.power_state_at_snapshot,
          s.created_at,
        ]),
      );
    }),
  );

  withClientOptions(
    cmd.command('show <instance> <snapshot-id>').description('show one snapshot'),
  ).action(
    action(async (instance: string, snapshotId: string, f: ClientFlags) => {
      printJson(await clientFrom(f).getSnapshot(instance, snapshotId));
    }),
  );

  withClientOptions(
    cmd.command('revert <instance> <snapshot-id>').description('revert an instance to a snapshot'),
  )
    .option('--power-on', 'start (or resume) the instance afterwards')
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (instance: string, snapshotId: string, f: WaitFlags & { powerOn?: boolean }) => {
        const client = clientFrom(f);
        const op = await client.revertSnapshot(instance, snapshotId, {
          power_on: f.powerOn === true,
        });
        await finishOperation(client, op, f, `${instance} reverted to ${snapshotId}`);
      }),
    );

  withClientOptions(
    cmd
      .command('delete <instance> <snapshot-id>')
      .description('delete a snapshot and the disks only it uses'),
  )
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (instance: string, snapshotId: string, f: WaitFlags) => {
        const client = clientFrom(f);
        await finishOperation(
          client,
          await client.deleteSnapshot(instance, snapshotId),
          f,
          `snapshot ${snapshotId} deleted`,
        );
      }),
    );
}
