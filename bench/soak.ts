// `npm run bench:soak`: a bounded soak of the service with faults. Starts the XAPI simulator and
// the service (`bin/xcd.js serve`, the compiled dist/) in processes of their own, takes a census
// of the pool, runs N clients for S seconds across a few namespaces while latency, Nth-call
// failures, drops, a XAPI restart and a SIGKILL of the service are injected, lets the service
// settle, then checks operations, instances and the census (bench/soak/checks.ts). Prints a
// report and exits non-zero when a check fails. Run on demand; not part of `npm test`.
import fs from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSimProcess, type SimProcess } from './sim-process';
import { runChecks } from './soak/checks';
import { runClients } from './soak/clients';
import { control, runSchedule, type FaultLogEntry } from './soak/faults';
import { SoakHttp, Tally } from './soak/http';
import { Ledger } from './soak/ledger';
import { formatCounts, readPool } from './soak/pool';
import { printReport, writeReport } from './soak/report';
import { prepareService, waitReady, type ServiceProcess } from './soak/service';
import { settle } from './soak/settle';

const USAGE = `usage: npm run bench:soak -- [--clients N] [--duration S] [--namespaces N] [--settle S]
  [--seed N] [--time-scale X] [--max-live N] [--wait S] [--no-faults] [--report FILE] [--log-level L]`;

function flags(): {
  clients: number;
  duration: number;
  namespaces: number;
  settle: number;
  seed: number;
  timeScale: string;
  maxLive: number;
  wait: number;
  faults: boolean;
  report?: string;
  logLevel: string;
} {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '150' },
      duration: { type: 'string', default: '60' },
      namespaces: { type: 'string', default: '3' },
      settle: { type: 'string', default: '120' },
      seed: { type: 'string', default: String(Date.now() % 100000) },
      'time-scale': { type: 'string', default: '1' },
      'max-live': { type: 'string', default: '2' },
      wait: { type: 'string', default: '20' },
      'no-faults': { type: 'boolean', default: false },
      report: { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name}: expected an integer >= ${min}, got '${v}'`);
    return n;
  };
  return {
    clients: int('clients', values.clients, 1),
    duration: int('duration', values.duration, 1),
    namespaces: int('namespaces', values.namespaces, 1),
    settle: int('settle', values.settle, 1),
    seed: int('seed', values.seed, 0),
    timeScale: values['time-scale'],
    maxLive: int('max-live', values['max-live'], 1),
    wait: int('wait', values.wait, 0),
    faults: !values['no-faults'],
    report: values.report,
    logLevel: values['log-level'],
  };
}

async function main(): Promise<void> {
  const f = flags();
  if (!fs.existsSync(join(__dirname, '..', 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run `npm run build` first (the soak runs bin/xcd.js)');
  let sim: SimProcess | undefined;
  let service: ServiceProcess | undefined;
  let http: SoakHttp | undefined;
  const cleanup = async (): Promise<void> => {
    http?.close();
    await service?.stop();
    await sim?.close();
  };
  // Interrupted, it still stops the processes it started.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  try {
    sim = await startSimProcess(['--time-scale', f.timeScale, '--auth-failure-delay', '10']);
    const xapi = { url: sim.url, user: sim.user, password: sim.password };
    const namespaces = Array.from(
      { length: f.namespaces },
      (_, i) => `soak-${String.fromCharCode(97 + (i % 26))}${i >= 26 ? i : ''}`,
    );
    service = await prepareService({
      xapiUrl: sim.url,
      xapiUser: sim.user,
      xapiPassword: sim.password,
      namespaces,
      logLevel: f.logLevel,
      startTimeoutS: f.settle,
    });
    await service.start();
    const readyS = await waitReady(service.url, f.settle);
    if (readyS === undefined)
      throw new Error(`the service never became ready (log: ${service.logFile})`);
    http = new SoakHttp(service.url, f.clients + 50);
    const templates = await http.send('GET', '/v1/templates', service.tenants[0].token);
    const names: string[] = (templates.body?.items ?? []).map(
      (t: { name_label: string }) => t.name_label,
    );
    const template = names.includes('Debian Bookworm 12') ? 'Debian Bookworm 12' : names[0];
    if (!template) throw new Error(`no template to spawn from: ${templates.status}`);
    const before = await readPool(xapi, namespaces);
    process.stdout.write(
      `simulator ${sim.url}, service ${service.url} (ready in ${readyS.toFixed(1)} s), ` +
        `census before: ${formatCounts(before.counts)}\n` +
        `running ${f.clients} clients for ${f.duration} s${f.faults ? ' with faults' : ''} ...\n`,
    );

    const tally = new Tally();
    const ledger = new Ledger();
    const faultLog: FaultLogEntry[] = [];
    const startedAt = Date.now();
    const progress = setInterval(() => {
      const s = ((Date.now() - startedAt) / 1000).toFixed(0);
      process.stdout.write(
        `  t=${s} s: ${tally.requests} requests, ${ledger.ops.size} operations, ${tally.serverErrorCount} 5xx\n`,
      );
    }, 10_000);
    let elapsedS = 0;
    const [opsStarted] = await Promise.all([
      runClients({
        http,
        tally,
        ledger,
        tenants: service.tenants,
        clients: f.clients,
        deadline: startedAt + f.duration * 1000,
        template,
        maxLive: f.maxLive,
        wait: f.wait,
        seed: f.seed,
      }).then((started) => ((elapsedS = (Date.now() - startedAt) / 1000), started)),
      f.faults
        ? runSchedule({
            simUrl: sim.url,
            service,
            startedAt,
            durationMs: f.duration * 1000,
            log: faultLog,
            onServiceKilled: () => void ledger.kills++,
          })
        : Promise.resolve(),
    ]);
    clearInterval(progress);
    await control(sim.url, { clear: true }).catch(() => undefined);
    process.stdout.write(
      `clients done after ${elapsedS.toFixed(1)} s, fault schedule after ` +
        `${((Date.now() - startedAt) / 1000).toFixed(1)} s; settling (at most ${f.settle} s) ...\n`,
    );
    const settled = await settle({
      http,
      serviceUrl: service.url,
      ledger,
      tenants: service.tenants,
      xapi,
      settleS: f.settle,
    });
    const checks = await runChecks({ http, ledger, tenants: service.tenants, before, settled });
    const facts = {
      clients: f.clients,
      durationS: f.duration,
      elapsedS,
      namespaces,
      seed: f.seed,
      serviceLog: service.logFile,
      serviceStarts: service.starts,
    };
    printReport(facts, tally, opsStarted, ledger, faultLog, checks);
    const reportFile = f.report ?? join(service.workDir, 'report.json');
    writeReport(reportFile, facts, tally, ledger, faultLog, checks);
    process.stdout.write(`full report: ${reportFile}\n`);
    if (checks.some((c) => !c.pass)) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
