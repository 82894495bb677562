// `xcd instances list|show|spawn|destroy|reboot|power-off|power-on`: the instance commands over
// the REST client, with a progress bar following each operation and --json for scripts. Must
// not talk to XAPI; everything goes through the service.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { Instance, Schemas } from '../client';
import {
  action,
  clientFrom,
  printJson,
  printTable,
  withClientOptions,
  type ClientFlags,
} from './output';
import { finishOperation, type WaitFlags } from './follow';
import { registerInstanceActions } from './instance-actions';
import { iscsiConnection } from './volumes';

function int(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('not a non-negative integer');
  return n;
}

function collect<T>(parse: (s: string) => T) {
  return (text: string, prev: T[] = []): T[] => [...prev, parse(text)];
}

/** 'SIZE_GB' or 'SIZE_GB:SR_UUID'. */
function disk(text: string): Schemas['DiskRequest'] {
  const [size, sr] = text.split(':', 2);
  return { size_gb: int(size), ...(sr ? { sr } : {}) };
}

/** 'NETWORK' or 'NETWORK=MAC'. */
function nic(text: string): Schemas['NicRequest'] {
  const at = text.lastIndexOf('=');
  return at > 0 ? { network: text.slice(0, at), mac: text.slice(at + 1) } : { network: text };
}

function describe(i: Instance): void {
  printTable(
    ['FIELD', 'VALUE'],
    [
      ['id', i.id],
      ['name', i.name],
      ['uuid', i.uuid],
      ['state', i.state],
      ['power_state', `${i.power_state} (${i.xapi_power_state})`],
      ['vcpus', i.vcpus],
      ['memory_mb', i.memory_mb],
      ['max_vcpus', i.max_vcpus],
      ['max_memory_mb', i.max_memory_mb],
      [
        'boot',
        [i.vm_mode, i.firmware, i.secure_boot ? 'secure boot' : ''].filter(Boolean).join(' '),
      ],
      ['host', i.host ? `${i.host.name} (${i.host.uuid})` : '-'],
      ...i.disks.map((d): [string, string] => [
        `disk ${d.device}`,
        `${d.type} ${d.size_gb} GB ${d.uuid} on ${d.sr}`,
      ]),
      ...i.nics.map((n): [string, string] => [
        `nic ${n.device}`,
        `${n.mac} on ${n.network_name ?? n.network}`,
      ]),
      ['created_at', i.created_at],
    ],
  );
}

export function registerInstances(program: Command): void {
  const cmd = program
    .command('instances')
    .description('list, show, spawn, destroy and power-cycle instances');

  withClientOptions(cmd.command('list').description('list your instances'))
    .option('--power-state <state>', 'only instances in this power state (running, shutdown, ...)')
    .option('--limit <n>', 'page size', int, 100)
    .option('--offset <n>', 'page start', int, 0)
    .action(
      action(
        async (
          flags: ClientFlags & {
            powerState?: Schemas['PowerState'];
            limit: number;
            offset: number;
          },
        ) => {
          const page = await clientFrom(flags).listInstances({
            ...(flags.powerState ? { power_state: flags.powerState } : {}),
            limit: flags.limit,
            offset: flags.offset,
          });
          if (flags.json) return printJson(page);
          printTable(
            ['ID', 'NAME', 'STATE', 'POWER', 'VCPUS', 'MEMORY_MB', 'HOST'],
            page.items.map((i) => [
              i.id,
              i.name,
              i.state,
              i.power_state,
              i.vcpus,
              i.memory_mb,
              i.host?.name ?? '-',
            ]),
          );
          if (page.total > page.offset + page.items.length)
            process.stdout.write(
              `(${page.items.length} of ${page.total}; next: --offset ${page.offset + page.items.length})\n`,
            );
        },
      ),
    );

  withClientOptions(cmd.command('show <id>').description('show one instance')).action(
    action(async (id: string, flags: ClientFlags) => {
      const inst = await clientFrom(flags).getInstance(id);
      if (flags.json) printJson(inst);
      else describe(inst);
    }),
  );

  withClientOptions(
    cmd.command('operations <id>').description("the instance's operations, newest first"),
  )
    .option('--running', 'only those under way')
    .action(
      action(async (id: string, flags: ClientFlags & { running?: boolean }) => {
        const ops = await clientFrom(flags).instanceOperations(
          id,
          flags.running ? 'running' : undefined,
        );
        if (flags.json) return printJson(ops);
        printTable(
          ['OPERATION', 'KIND', 'STATUS', 'PROGRESS', 'CREATED', 'ERROR'],
          ops.map((o) => [
            o.id,
            o.kind,
            o.status,
            `${Math.round(o.progress * 100)}%`,
            o.created_at,
            o.error?.code ?? '-',
          ]),
        );
      }),
    );

  withClientOptions(
    cmd.command('spawn <id>').description('spawn an instance under your id (safe to retry)'),
  )
    .option('--template <name|uuid>', 'template to clone')
    .option('--image-vdi <uuid>', 'VDI to copy as the root disk (instead of a template)')
    .option('--image <id>', 'image (xcd images) to clone as the root disk')
    .option('--persistent-image', 'with --image: boot from the image itself, not a clone')
    .option('--name <name>', 'VM name (default: the id)')
    .option('--vcpus <n>', 'vCPUs', int)
    .option('--memory-mb <n>', 'memory in MiB', int)
    .option('--max-vcpus <n>', 'the most vCPUs a live resize may give', int)
    .option('--max-memory-mb <n>', 'the most memory (MiB) a live resize may give', int)
    .option('--root-disk-gb <n>', 'grow the root disk to this size', int)
    .option('--sr <uuid>', 'SR for the root disk')
    .option('--disk <size_gb[:sr]>', 'an extra disk (repeatable)', collect(disk))
    .option(
      '--nic <network[=mac]>',
      'a NIC on a network uuid, name_label or bridge (repeatable)',
      collect(nic),
    )
    .option('--user-data-file <file>', 'user data for the config drive')
    .option('--metadata <json>', 'metadata object for the config drive')
    .option('--root-volume <volume-id>', 'boot from a volume: a VDI uuid, or with --iscsi a LUN')
    .option('--iscsi', 'the root volume is an iSCSI LUN (--portal, --iqn, --lun)')
    .option('--portal <host:port>', 'the iSCSI target portal (port 3260 by default)')
    .option('--iqn <iqn>', 'the iSCSI target IQN')
    .option('--lun <n>', 'the LUN number')
    .option('--chap-user <user>', 'CHAP user name')
    .option(
      '--chap-password-file <file>',
      'file holding the CHAP password (default: the XCD_CHAP_PASSWORD environment variable)',
    )
    .option('--vm-mode <mode>', "hvm or pv (default: the template's)")
    .option('--firmware <firmware>', "bios or uefi (default: the template's)")
    .option('--secure-boot', 'UEFI Secure Boot (with --firmware uefi)')
    .option('--no-power-on', 'leave the instance halted')
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (id: string, f: WaitFlags & Record<string, unknown>) => {
        const body: Schemas['SpawnRequest'] = {
          ...(f.template ? { template: String(f.template) } : {}),
          ...(f.imageVdi ? { image_vdi: String(f.imageVdi) } : {}),
          ...(f.image ? { image: String(f.image) } : {}),
          ...(f.persistentImage ? { persistent_image: true } : {}),
          ...(f.name ? { name: String(f.name) } : {}),
          ...(f.vcpus !== undefined ? { vcpus: f.vcpus as number } : {}),
          ...(f.memoryMb !== undefined ? { memory_mb: f.memoryMb as number } : {}),
          ...(f.maxVcpus !== undefined ? { max_vcpus: f.maxVcpus as number } : {}),
          ...(f.maxMemoryMb !== undefined ? { max_memory_mb: f.maxMemoryMb as number } : {}),
          ...(f.rootDiskGb !== undefined ? { root_disk_gb: f.rootDiskGb as number } : {}),
          ...(f.sr ? { sr: String(f.sr) } : {}),
          ...(f.disk ? { disks: f.disk as Schemas['DiskRequest'][] } : {}),
          ...(f.nic ? { nics: f.nic as Schemas['NicRequest'][] } : {}),
          ...(f.userDataFile
            ? { user_data: readFileSync(String(f.userDataFile)).toString('base64') }
            : {}),
          ...(f.metadata
            ? { metadata: JSON.parse(String(f.metadata)) as Record<string, unknown> }
            : {}),
          ...(f.rootVolume
            ? {
                root_volume: {
                  volume_id: String(f.rootVolume),
                  ...(f.iscsi
                    ? { connection: iscsiConnection(f as Parameters<typeof iscsiConnection>[0]) }
                    : {}),
                },
              }
            : {}),
          ...(f.vmMode ? { vm_mode: String(f.vmMode) as Schemas['VmMode'] } : {}),
          ...(f.firmware ? { firmware: String(f.firmware) as Schemas['Firmware'] } : {}),
          ...(f.secureBoot ? { secure_boot: true } : {}),
          power_on: f.powerOn !== false,
        };
        const client = clientFrom(f);
        await finishOperation(client, await client.spawn(id, body), f, `spawned ${id}`);
      }),
    );

  withClientOptions(cmd.command('destroy <id>').description('destroy an instance (and its disks)'))
    .option('--keep-disks', 'keep its disks')
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (id: string, f: WaitFlags & { keepDisks?: boolean }) => {
        const client = clientFrom(f);
        await finishOperation(
          client,
          await client.destroy(id, { keep_disks: f.keepDisks === true }),
          f,
          `destroyed ${id}`,
        );
      }),
    );

  const power = (
    name: 'reboot' | 'power-off',
    soft: 'soft' | 'clean',
    what: string,
    done: string,
  ): void => {
    withClientOptions(cmd.command(`${name} <id>`).description(what))
      .option('--hard', `hard ${name} at once`)
      .option('--timeout <s>', `seconds before a ${soft} ${name} turns hard`, int)
      .option('--no-wait', 'return the operation at once')
      .action(
        action(async (id: string, f: WaitFlags & { hard?: boolean; timeout?: number }) => {
          const client = clientFrom(f);
          const body = {
            action: name,
            type: f.hard ? 'hard' : soft,
            ...(f.timeout !== undefined ? { timeout: f.timeout } : {}),
          } as Schemas['InstanceAction'];
          await finishOperation(client, await client.action(id, body), f, `${done} ${id}`);
        }),
      );
  };
  power('reboot', 'soft', 'reboot an instance (soft, falling back to hard)', 'rebooted');
  power('power-off', 'clean', 'power an instance off (clean, falling back to hard)', 'powered off');

  withClientOptions(cmd.command('power-on <id>').description('power an instance on'))
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (id: string, f: WaitFlags) => {
        const client = clientFrom(f);
        await finishOperation(
          client,
          await client.action(id, { action: 'power-on' }),
          f,
          `powered on ${id}`,
        );
      }),
    );

  registerInstanceActions(cmd); // pause, unpause, suspend, resume, resize, migrate, console (instance-actions.ts)
}
