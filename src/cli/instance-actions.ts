// `xcd instances pause|unpause|suspend|resume|resize|migrate|console|config-drive|diagnostics`: the
// instance commands, registered on the `instances` command by instances.ts. Each mutation
// follows its operation with a progress bar; --json for scripts. Never talks to XAPI.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Schemas } from '../client';
import { finishOperation, positiveInt, type WaitFlags } from './follow';
import {
  action,
  printJson,
  printTable,
  withClientOptions,
  type ClientFlags,
  clientFrom,
} from './output';

/** 'DEVICE:SIZE_GB' */
function diskSize(
  text: string,
  prev: Array<{ device: string; size_gb: number }> = [],
): Array<{ device: string; size_gb: number }> {
  const m = /^(\d{1,2}):(\d+)$/.exec(text);
  if (!m) throw new Error(`'${text}' is not DEVICE:SIZE_GB`);
  return [...prev, { device: m[1], size_gb: Number(m[2]) }];
}

/** The console form each flag asks for (`--page`: the url form; `--url` is the service's URL). */
const CONSOLE_FORMS = {
  vnc: 'vnc',
  page: 'url',
  tunnel: 'tunnel',
  websocket: 'websocket',
  xapi: 'xapi',
} as const;
type ConsoleFlags = { log?: boolean } & { [K in keyof typeof CONSOLE_FORMS]?: boolean };

export function registerInstanceActions(cmd: Command): void {
  const simple = (
    name: 'pause' | 'unpause' | 'suspend' | 'resume',
    what: string,
    done: string,
  ): void => {
    withClientOptions(cmd.command(`${name} <id>`).description(what))
      .option('--no-wait', 'return the operation at once')
      .action(
        action(async (id: string, f: WaitFlags) => {
          const client = clientFrom(f);
          await finishOperation(
            client,
            await client.action(id, { action: name }),
            f,
            `${done} ${id}`,
          );
        }),
      );
  };
  simple('pause', 'pause a running instance', 'paused');
  simple('unpause', 'unpause a paused instance', 'unpaused');
  simple('suspend', 'suspend a running instance (memory saved to disk)', 'suspended');
  simple('resume', 'resume a suspended instance', 'resumed');

  withClientOptions(
    cmd
      .command('resize <id>')
      .description('change vCPUs, memory or disk sizes (live where possible)'),
  )
    .option('--vcpus <n>', 'vCPUs', positiveInt)
    .option('--memory-mb <n>', 'memory in MiB', positiveInt)
    .option('--max-vcpus <n>', 'new most vCPUs of a live resize (needs a halt)', positiveInt)
    .option('--max-memory-mb <n>', 'new most memory of a live resize (needs a halt)', positiveInt)
    .option('--disk <device:size_gb>', 'grow the disk at DEVICE to SIZE_GB (repeatable)', diskSize)
    .option(
      '--power-cycle <how>',
      'none (default), clean or hard: how to halt the instance when a change needs it',
    )
    .option('--timeout <s>', 'seconds a clean shutdown may take before the hard one', positiveInt)
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (id: string, f: WaitFlags & Record<string, unknown>) => {
        const body = {
          action: 'resize',
          ...(f.vcpus !== undefined ? { vcpus: f.vcpus as number } : {}),
          ...(f.memoryMb !== undefined ? { memory_mb: f.memoryMb as number } : {}),
          ...(f.maxVcpus !== undefined ? { max_vcpus: f.maxVcpus as number } : {}),
          ...(f.maxMemoryMb !== undefined ? { max_memory_mb: f.maxMemoryMb as number } : {}),
          ...(f.disk ? { disks: f.disk as Array<{ device: string; size_gb: number }> } : {}),
          ...(f.powerCycle ? { power_cycle: String(f.powerCycle) } : {}),
          ...(f.timeout !== undefined ? { timeout: f.timeout as number } : {}),
        } as Schemas['InstanceAction'];
        const client = clientFrom(f);
        await finishOperation(client, await client.action(id, body), f, `resized ${id}`);
      }),
    );

  withClientOptions(cmd.command('migrate <id>').description('live-migrate within the pool'))
    .option('--host <uuid|name>', 'the destination (default: the host with most free memory)')
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (id: string, f: WaitFlags & { host?: string }) => {
        const client = clientFrom(f);
        const body = {
          action: 'migrate',
          ...(f.host ? { host: f.host } : {}),
        } as Schemas['InstanceAction'];
        await finishOperation(client, await client.action(id, body), f, `migrated ${id}`);
      }),
    );

  withClientOptions(
    cmd
      .command('console <id>')
      .description(
        'a one-time console (default --vnc: host, port, password); or the console log with --log',
      ),
  )
    .option('--vnc', 'VNC host, port and one-time password (RFB 3.8, VNC authentication)')
    .option('--page', 'a console page (noVNC) to open in a browser (the url form)')
    .option('--tunnel', 'host, port and the path to send as CONNECT (security None after it)')
    .option('--websocket', 'a ws:// URL carrying RFB in binary messages')
    .option('--xapi', "XAPI's own CONNECT form (admins; it carries the service's XAPI session)")
    .option('--log', 'print the guest console log instead')
    .action(
      action(async (id: string, f: ClientFlags & ConsoleFlags) => {
        const client = clientFrom(f);
        if (f.log) {
          const log = await client.consoleLog(id);
          if (f.json) printJson(log);
          else process.stdout.write(log.text.endsWith('\n') ? log.text : `${log.text}\n`);
          return;
        }
        const forms = (Object.keys(CONSOLE_FORMS) as Array<keyof typeof CONSOLE_FORMS>).filter(
          (flag) => f[flag],
        );
        if (forms.length > 1)
          throw new Error(
            `give one of ${Object.keys(CONSOLE_FORMS)
              .map((t) => `--${t}`)
              .join(', ')}`,
          );
        const c = await client.console(id, forms.length ? CONSOLE_FORMS[forms[0]] : 'vnc');
        if (f.json) return printJson(c);
        printTable(
          ['FIELD', 'VALUE'],
          Object.entries(c).map(([k, v]) => [k, String(v)]),
        );
      }),
    );

  withClientOptions(
    cmd
      .command('config-drive <id>')
      .description("rebuild the instance's config drive with new user data and metadata"),
  )
    .option('--user-data-file <file>', 'user data for the config drive')
    .option('--metadata <json>', 'metadata object for the config drive')
    .option('--no-wait', 'return the operation at once')
    .action(
      action(async (id: string, f: WaitFlags & { userDataFile?: string; metadata?: string }) => {
        const client = clientFrom(f);
        const op = await client.updateConfigDrive(id, {
          ...(f.userDataFile ? { user_data: readFileSync(f.userDataFile).toString('base64') } : {}),
          ...(f.metadata ? { metadata: JSON.parse(f.metadata) as Record<string, unknown> } : {}),
        });
        await finishOperation(client, op, f, `rebuilt the config drive of ${id}`);
      }),
    );

  withClientOptions(
    cmd.command('diagnostics <id>').description('vCPU, memory, disk and NIC figures'),
  ).action(
    action(async (id: string, f: ClientFlags) => {
      const d = await clientFrom(f).diagnostics(id);
      if (f.json) return printJson(d);
      printTable(
        ['FIELD', 'VALUE'],
        [
          ['power_state', d.power_state],
          ['uptime_s', d.uptime_s],
          [
            'memory',
            `${d.memory.actual_mb} MiB actual, ${d.memory.target_mb} target, ${d.memory.max_mb} max`,
          ],
          ...d.cpus.map((c): [string, string] => [
            `cpu ${c.id}`,
            `${Math.round(c.utilisation * 100)}%`,
          ]),
          ...d.disks.map((x): [string, string] => [
            `disk ${x.device}`,
            `${x.size_gb} GB ${x.attached ? 'attached' : 'detached'}`,
          ]),
          ...d.nics.map((n): [string, string] => [
            `nic ${n.device}`,
            `${n.mac} ${n.ips.join(' ')}`,
          ]),
        ],
      );
    }),
  );
}
