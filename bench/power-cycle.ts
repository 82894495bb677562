// The power-cycle overhead row of `npm run bench:api`: a hard power-off then power-on of one
// instance through the REST service (Prefer: wait, so each call answers when the operation is
// final; one keep-alive connection, as an orchestrator's) against the same two XAPI calls made
// directly through the native client, interleaved on the same simulator (its own process). The
// ratio is taken against a client with the default options (mirror on, as the service's); a
// client without a mirror is shown too. Target: <= 1.2x at p50. Runs alone too (tsx).
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { TokenStore } from '../src/api/auth';
import { createApp, createServer } from '../src/app';
import { ComputeDriver } from '../src/driver';
import { XapiClient } from '../src/xapi';
import { listen, RestClient } from './rest';
import { startSimProcess } from './sim-process';

export interface PowerCycleResult {
  cycles: number;
  /** XapiClient.connect with mirror: false (tasks only). */
  bare_ms: { p50: number; mean: number };
  /** XapiClient.connect with its defaults (the mirror on, as the service has it). */
  direct_ms: { p50: number; mean: number };
  service_ms: { p50: number; mean: number };
  ratio_p50: number;
  ratio_mean: number;
}

/** The most the service's power cycle may take, as a multiple of the native client's (p50). */
export const POWER_CYCLE_TARGET = 1.2;

const stats = (xs: number[]): { p50: number; mean: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length / 2)], mean: xs.reduce((a, b) => a + b, 0) / xs.length };
};

/**
 * Measures `cycles` power cycles each way on two instances the service spawns (`template`),
 * with a direct client of its own (no mirror) logged in to `xapiUrl`.
 */
export async function powerCycleRow(o: {
  url: string;
  token: string;
  xapiUrl: string;
  user: string;
  password: string;
  template: string;
  cycles?: number;
}): Promise<PowerCycleResult> {
  const cycles = o.cycles ?? Number(process.env.BENCH_POWER_CYCLES ?? 40);
  const rest = new RestClient(o.url, o.token);
  await rest.succeed('PUT', '/v1/instances/pc-service', {
    template: o.template,
    vcpus: 1,
    memory_mb: 256,
  });
  const dirInst = await rest.succeed('PUT', '/v1/instances/pc-direct', {
    template: o.template,
    vcpus: 1,
    memory_mb: 256,
  });
  const direct = await XapiClient.connect({ url: o.xapiUrl, user: o.user, password: o.password });
  const bare = await XapiClient.connect({
    url: o.xapiUrl,
    user: o.user,
    password: o.password,
    mirror: false,
  });
  try {
    const vmRef = await direct.call<string>('VM.get_by_uuid', dirInst.result.uuid);
    const cycleWith = (client: XapiClient) => async (): Promise<number> => {
      const t = performance.now();
      await client.callAsync('VM.hard_shutdown', [vmRef]);
      await client.callAsync('VM.start', [vmRef, false, false]);
      return performance.now() - t;
    };
    const directCycle = cycleWith(direct);
    const bareCycle = cycleWith(bare);
    const serviceCycle = async (): Promise<number> => {
      const t = performance.now();
      await rest.succeed('POST', '/v1/instances/pc-service/actions', {
        action: 'power-off',
        type: 'hard',
      });
      await rest.succeed('POST', '/v1/instances/pc-service/actions', { action: 'power-on' });
      return performance.now() - t;
    };
    for (let i = 0; i < 5; i++) {
      await bareCycle();
      await directCycle();
      await serviceCycle();
    }
    const b: number[] = [];
    const d: number[] = [];
    const s: number[] = [];
    for (let i = 0; i < cycles; i++) {
      b.push(await bareCycle());
      d.push(await directCycle());
      s.push(await serviceCycle());
    }
    const ds = stats(d);
    const ss = stats(s);
    return {
      cycles,
      bare_ms: stats(b),
      direct_ms: ds,
      service_ms: ss,
      ratio_p50: ss.p50 / ds.p50,
      ratio_mean: ss.mean / ds.mean,
    };
  } finally {
    await bare.close();
    await direct.close();
    await rest.succeed('DELETE', '/v1/instances/pc-service').catch(() => undefined);
    await rest.succeed('DELETE', '/v1/instances/pc-direct').catch(() => undefined);
    rest.close();
  }
}

export function printPowerCycle(r: PowerCycleResult): void {
  const f = (n: number): string => n.toFixed(2);
  console.log(`\npower cycle (hard power-off + power-on, ${r.cycles} cycles, interleaved)`);
  console.log('                      p50 ms    mean ms');
  console.log(
    `${'XapiClient, no mirror'.padEnd(22)}${f(r.bare_ms.p50).padStart(6)}${f(r.bare_ms.mean).padStart(11)}`,
  );
  console.log(
    `${'XapiClient, defaults'.padEnd(22)}${f(r.direct_ms.p50).padStart(6)}${f(r.direct_ms.mean).padStart(11)}`,
  );
  console.log(
    `${'service (REST)'.padEnd(22)}${f(r.service_ms.p50).padStart(6)}${f(r.service_ms.mean).padStart(11)}`,
  );
  console.log(
    `service / XapiClient (defaults): ${f(r.ratio_p50)}x at p50, ${f(r.ratio_mean)}x mean ` +
      `(target <= ${POWER_CYCLE_TARGET}x at p50: ${r.ratio_p50 <= POWER_CYCLE_TARGET ? 'met' : 'NOT met'})`,
  );
}

async function standalone(): Promise<void> {
  const sim = await startSimProcess(['--time-scale', '0', '--auth-failure-delay', '10']);
  const xapi = await XapiClient.connect({ url: sim.url, user: sim.user, password: sim.password });
  const logger = pino({ level: 'silent' });
  const driver = new ComputeDriver(xapi, { logger });
  await driver.start();
  const token = 'bench-power';
  const auth = new TokenStore().addToken(token, {
    id: 'bench',
    namespace: 'bench',
    role: 'operator',
  });
  const server = createServer(createApp({ driver, auth, logger }));
  server.keepAliveTimeout = 60_000;
  const url = await listen(server);
  try {
    const template = driver.templates()[0].name_label;
    const r = await powerCycleRow({
      url,
      token,
      xapiUrl: sim.url,
      user: sim.user,
      password: sim.password,
      template,
    });
    printPowerCycle(r);
  } finally {
    server.closeAllConnections();
    server.close();
    await driver.close();
    await xapi.close();
    await sim.close();
  }
}

if (require.main === module)
  standalone().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
