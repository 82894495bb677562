// `xcd snapshots create|list|show|revert|delete`: an instance's snapshots over the REST API,
// following each operation with a progress bar; --json for scripts. Never talks to XAPI.
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { clients, finishOperation, type WaitFlags } from './depth-common';
import { action, printJson, printTable, withClientOptions, type ClientFlags } from './output';

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
          const { core, depth } = clients(f);
          const id = snapshotId ?? randomUUID();
          const op = await depth.createSnapshot(instance, id, {
            ...(f.name ? { name: f.name } : {}),
            memory: f.memory === true,
          });
          await finishOperation(core, op, f, `snapshot ${id} of ${instance} created`);
        },
      ),
    );

  withClientOptions(
    cmd.command('list <instance>').description("list an instance's snapshots"),
  ).action(
    action(async (instance: string, f: ClientFlags) => {
      const items = await clients(f).depth.listSnapshots(instance);
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
      printJson(await clients(f).depth.getSnapshot(instance, snapshotId));
    }),
  );

  withClientOptions(
    cmd.command('revert <instance> <snapshot-id>').description('revert an instance to a snapshot'),
  )
    .option('--power-on', 'start (or resume) the instance afterwards')
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (instance: string, snapshotId: string, f: WaitFlags & { powerOn?: boolean }) => {
        const { core, depth } = clients(f);
        const op = await depth.revertSnapshot(instance, snapshotId, {
          power_on: f.powerOn === true,
        });
        await finishOperation(core, op, f, `${instance} reverted to ${snapshotId}`);
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
        const { core, depth } = clients(f);
        await finishOperation(
          core,
          await depth.deleteSnapshot(instance, snapshotId),
          f,
          `snapshot ${snapshotId} deleted`,
        );
      }),
    );
}
