// Shared plumbing of the client commands: the --url/--token options, building the REST client,
// printing tables or --json, following an operation with a progress bar (on stderr), and turning
// errors into a message and exit code. Must not hold any command of its own.
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { XcdApiError, XcdClient, type Operation } from '../client';
import { loadClientConfig } from '../config';

export interface ClientFlags {
  url?: string;
  token?: string;
  json?: boolean;
}

/** Adds --url, --token and --json to a client command. */
export function withClientOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'service URL (env XCD_URL, default http://127.0.0.1:8780)')
    .option('--token <token>', 'bearer token (env XCD_TOKEN)')
    .option('--json', 'print JSON for scripts');
}

export function clientFrom(flags: ClientFlags): XcdClient {
  return new XcdClient(loadClientConfig(flags));
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints rows as left-aligned columns under a header. */
export function printTable(header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  for (const r of cells)
    process.stdout.write(
      `${r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd()}\n`,
    );
}

/** Follows `op` to its end with a progress bar unless --json or stderr is not a terminal. */
export async function followOperation(
  client: XcdClient,
  op: Operation,
  flags: ClientFlags,
): Promise<Operation> {
  const showBar = !flags.json && process.stderr.isTTY === true;
  const bar = showBar
    ? new SingleBar(
        {
          format: `${op.kind} ${op.instance_id} [{bar}] {percentage}% {step}`,
          stream: process.stderr,
          hideCursor: true,
        },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(100, 0, { step: '' });
  try {
    return await client.follow(op, (o) =>
      bar?.update(Math.round(o.progress * 100), { step: o.step ?? o.status }),
    );
  } finally {
    bar?.stop();
  }
}

/** Prints an operation's outcome; sets a failing exit code when it did not succeed. */
export function reportOperation(op: Operation, flags: ClientFlags, done: string): void {
  if (flags.json) printJson(op);
  else if (op.status === 'succeeded') process.stdout.write(`${done}\n`);
  else
    process.stderr.write(
      `${op.kind} ${op.status}: ${op.error ? `${op.error.code}: ${op.error.detail ?? ''}` : ''}\n`,
    );
  if (op.status !== 'succeeded') process.exitCode = 1;
}

/** Runs a command body, printing client errors as one line (or a problem in --json) with exit 1. */
export function action<A extends unknown[]>(
  run: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (err) {
      const last = args[args.length - 1] as { opts?: () => ClientFlags } | undefined;
      const flags = typeof last?.opts === 'function' ? last.opts() : undefined;
      if (err instanceof XcdApiError) {
        if (flags?.json && err.problem) printJson(err.problem);
        else process.stderr.write(`error: ${err.message}\n`);
      } else {
        process.stderr.write(`error: ${(err as Error).message}\n`);
      }
      process.exitCode = 1;
    }
  };
}
