// `xcd volumes list|attach|detach`: existing VDIs attached to an instance by uuid, or iSCSI LUNs
// by connection (`--iscsi`), hot when it runs, over the REST API; --json for scripts. A CHAP
// password is read from a file or XCD_CHAP_PASSWORD, never from the command line (argv is
// visible to every user of the machine). Never talks to XAPI.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Schemas } from '../client';
import { finishOperation, type WaitFlags } from './follow';
import {
  action,
  printJson,
  printTable,
  withClientOptions,
  type ClientFlags,
  clientFrom,
} from './output';

type AttachFlags = WaitFlags & {
  device?: string;
  readOnly?: boolean;
  iscsi?: boolean;
  portal?: string;
  iqn?: string;
  lun?: string;
  chapUser?: string;
  chapPasswordFile?: string;
};

/** Cinder's connection_info from the flags; the password from a file or the environment. */
export function iscsiConnection(
  f: Pick<AttachFlags, 'portal' | 'iqn' | 'lun' | 'chapUser' | 'chapPasswordFile'>,
): Schemas['VolumeConnection'] {
  if (!f.portal || !f.iqn || f.lun === undefined)
    throw new Error('--iscsi needs --portal, --iqn and --lun');
  const lun = Number(f.lun);
  if (!/^\d+$/.test(f.lun) || !Number.isSafeInteger(lun))
    throw new Error(`--lun: expected a LUN number, got '${f.lun}'`);
  let password: string | undefined;
  if (f.chapPasswordFile) password = readFileSync(f.chapPasswordFile, 'utf8').replace(/\r?\n$/, '');
  else password = process.env.XCD_CHAP_PASSWORD;
  if (f.chapUser && password === undefined)
    throw new Error('--chap-user needs --chap-password-file or XCD_CHAP_PASSWORD');
  return {
    driver_volume_type: 'iscsi',
    data: {
      target_portal: f.portal,
      target_iqn: f.iqn,
      target_lun: lun,
      ...(f.chapUser
        ? { auth_method: 'CHAP', auth_username: f.chapUser, auth_password: password }
        : {}),
    },
  };
}

export function registerVolumes(program: Command): void {
  const cmd = program.command('volumes').description('attach and detach volumes (existing VDIs)');

  withClientOptions(
    cmd.command('list <instance>').description("list an instance's volumes"),
  ).action(
    action(async (instance: string, f: ClientFlags) => {
      const items = await clientFrom(f).listVolumes(instance);
      if (f.json) return printJson(items);
      printTable(
        ['DEVICE', 'VDI', 'NAME', 'SIZE_GB', 'MODE', 'ATTACHED', 'VOLUME', 'TARGET'],
        items.map((v) => [
          v.device,
          v.uuid,
          v.name,
          v.size_gb,
          v.mode,
          v.attached ? 'yes' : 'no',
          v.volume_id,
          v.iscsi ? `${v.iscsi.target_portal} ${v.iscsi.target_iqn} lun ${v.iscsi.target_lun}` : '',
        ]),
      );
    }),
  );

  withClientOptions(
    cmd
      .command('attach <instance> <volume-id>')
      .description(
        'attach a VDI by uuid, or with --iscsi an iSCSI LUN as volume <volume-id> (hot when running)',
      ),
  )
    .option('--device <n>', 'device position (default: the lowest free one)')
    .option('--read-only', 'attach read-only')
    .option('--iscsi', 'attach an iSCSI LUN (--portal, --iqn, --lun)')
    .option('--portal <host:port>', 'the iSCSI target portal (port 3260 by default)')
    .option('--iqn <iqn>', 'the iSCSI target IQN')
    .option('--lun <n>', 'the LUN number')
    .option('--chap-user <user>', 'CHAP user name')
    .option(
      '--chap-password-file <file>',
      'file holding the CHAP password (default: the XCD_CHAP_PASSWORD environment variable)',
    )
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (instance: string, volumeId: string, f: AttachFlags) => {
        const client = clientFrom(f);
        const op = await client.attachVolume(instance, volumeId, {
          ...(f.device ? { device: f.device } : {}),
          mode: f.readOnly ? 'RO' : 'RW',
          ...(f.iscsi ? { connection: iscsiConnection(f) } : {}),
        });
        await finishOperation(client, op, f, `attached ${volumeId} to ${instance}`);
      }),
    );

  withClientOptions(
    cmd
      .command('detach <instance> <volume-id>')
      .description('detach a volume (the VDI stays; an iSCSI target unused after it is let go)'),
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
