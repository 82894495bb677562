// `xcd sim`: runs the XAPI pool simulator in the foreground, printing the address it bound and
// the login to use, until SIGINT/SIGTERM. Only parses flags and starts src/simulator.
import fs from 'node:fs';
import type { Command } from 'commander';
import { startSimulator, type SimulatorOptions } from '../simulator';

interface SimFlags {
  listen: string;
  socket?: string;
  hosts: string;
  vms?: string;
  seed: string;
  fault: string[];
  user: string;
  password: string;
  authFailureDelay: string;
  timeScale: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsListen?: string;
  xapiVersion?: string;
}

function int(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name}: expected a non-negative integer, got '${v}'`);
  return n;
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('run the XAPI pool simulator (XML-RPC on /, JSON-RPC on /jsonrpc)')
    .option('--listen <host:port>', "master's address (port 0 picks a free one)", '127.0.0.1:0')
    .option('--socket <path>', 'also listen on a Unix socket (any credentials log in as root)')
    .option('--hosts <n>', 'pool size; host i listens on 127.0.0.(i+1) at the same port', '3')
    .option('--vms <n>', 'extra VMs for scale tests')
    .option('--seed <name>', 'default | empty', 'default')
    .option(
      '--fault <spec...>',
      'inject faults, e.g. latency:VM.start:200, fail:VM.start:1:SR_FULL,2,1, drop:*:3',
      [],
    )
    .option('--user <name>', 'login user', 'root')
    .option('--password <pwd>', 'login password', 'xenroot')
    .option('--auth-failure-delay <ms>', 'delay before SESSION_AUTHENTICATION_FAILED', '5000')
    .option('--time-scale <x>', 'multiplies simulated operation durations', '1')
    .option('--tls-cert <file>', 'PEM certificate: also listen with TLS')
    .option('--tls-key <file>', 'PEM key for --tls-cert')
    .option('--tls-listen <host:port>', 'TLS listener address', undefined)
    .option(
      '--xapi-version <x.y.z>',
      'simulated xapi version (host.software_version); 25.27.0 or later takes qcow2 on /import_raw_vdi and /export_raw_vdi',
    )
    .action(async (flags: SimFlags) => {
      const opts: SimulatorOptions = {
        listen: flags.listen,
        socket: flags.socket,
        hosts: int('hosts', flags.hosts),
        vms: flags.vms === undefined ? undefined : int('vms', flags.vms),
        seed: flags.seed === 'empty' ? 'empty' : 'default',
        faults: flags.fault,
        user: flags.user,
        password: flags.password,
        authFailureDelayMs: int('auth-failure-delay', flags.authFailureDelay),
        timeScale: Number(flags.timeScale),
        xapiVersion: flags.xapiVersion,
      };
      if (flags.tlsCert || flags.tlsKey) {
        if (!flags.tlsCert || !flags.tlsKey)
          throw new Error('--tls-cert and --tls-key go together');
        opts.tls = {
          cert: fs.readFileSync(flags.tlsCert, 'utf8'),
          key: fs.readFileSync(flags.tlsKey, 'utf8'),
        };
        opts.tlsListen = flags.tlsListen;
      }
      const sim = await startSimulator(opts);
      const lines = [
        `XAPI simulator listening on ${sim.url} (XML-RPC on /, JSON-RPC on /jsonrpc)`,
        ...sim.hostUrls.slice(1).map((u, i) => `  pool member ${i + 1}: ${u}`),
        ...(sim.httpsUrl ? [`  TLS: ${sim.httpsUrl}`] : []),
        ...(sim.socketPath
          ? [`  Unix socket: ${sim.socketPath} (any credentials log in as root)`]
          : []),
        `login: user '${sim.user}' password '${sim.password}'`,
        `xapi version: ${sim.xapiVersion} (qcow2 transfers from 25.27.0)`,
        `control: POST ${sim.url}/sim/control {"fault": SPEC} | {"clear": true} | {"restart": true} | {"host": N, "online": false}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
      const stop = (): void => {
        void sim.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
