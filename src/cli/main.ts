// The `xcd` command line: builds the commander program and registers each subcommand from its
// own file (src/cli/<name>.ts). Holds no command logic; add a command with one register call.
import { Command } from 'commander';
import { registerDisks } from './disks';
import { registerEvents } from './events';
import { registerHost } from './host';
import { registerImages } from './images';
import { registerInstances } from './instances';
import { registerNics } from './nics';
import { registerServe } from './serve';
import { registerSim } from './sim';
import { registerSnapshots } from './snapshots';
import { registerTemplates } from './templates';
import { registerTokens } from './tokens';
import { registerVolumes } from './volumes';

const program = new Command('xcd').description(
  'xen-compute-driver: a hypervisor-driver REST service over XAPI',
);

registerServe(program);
registerInstances(program);
registerSnapshots(program);
registerImages(program);
registerVolumes(program);
registerDisks(program);
registerNics(program);
registerEvents(program);
registerHost(program);
registerTemplates(program);
registerTokens(program);
registerSim(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`xcd: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
