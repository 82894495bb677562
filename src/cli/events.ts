// `xcd events`: follows the service's lifecycle event stream (SSE), printing one line (or one
// JSON object with --json) per event, reconnecting with Last-Event-ID after a drop. Runs until
// interrupted (or --count events). Never talks to XAPI.
import type { Command } from 'commander';
import { action, withClientOptions, type ClientFlags, clientFrom } from './output';

export function registerEvents(program: Command): void {
  withClientOptions(
    program.command('events').description("follow your instances' lifecycle events"),
  )
    .option('--instance <id>', "only this instance's events")
    .option('--last-event-id <id>', 'resume after this event id')
    .option('--count <n>', 'stop after n events', (t) => Number(t))
    .action(
      action(
        async (f: ClientFlags & { instance?: string; lastEventId?: string; count?: number }) => {
          const client = clientFrom(f);
          const abort = new AbortController();
          const onSig = (): void => abort.abort();
          process.once('SIGINT', onSig);
          let seen = 0;
          try {
            for await (const e of client.events({
              ...(f.instance ? { instanceId: f.instance } : {}),
              ...(f.lastEventId ? { lastEventId: f.lastEventId } : {}),
              signal: abort.signal,
              onLost: () => process.stderr.write('events were lost: re-list your instances\n'),
            })) {
              if (f.json) process.stdout.write(`${JSON.stringify(e)}\n`);
              else
                process.stdout.write(
                  `${e.at} ${e.id} ${e.type.padEnd(9)} ${e.instance_id} ${e.power_state}${e.host ? ` on ${e.host.name}` : ''}\n`,
                );
              if (f.count !== undefined && ++seen >= f.count) break;
            }
          } finally {
            process.off('SIGINT', onSig);
            abort.abort();
          }
        },
      ),
    );
}
