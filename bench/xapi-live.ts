// Child process of `npm run bench:xapi`: connects an XapiClient to the simulator the parent runs
// (so the simulator's own work never lands on this event loop or in this RSS), and measures the
// initial sync, the longest main-thread stall during it, the RSS the mirror adds, and mirror reads.
// Usage: tsx bench/xapi-live.ts URL PROTOCOL; prints one JSON line.
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { XapiClient } from '../src/xapi';

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function settle(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function main(): Promise<void> {
  const [url, protocol] = process.argv.slice(2) as [string, 'xml-rpc' | 'json-rpc'];
  // Load the addon and warm the module graph first so they do not count as mirror memory.
  const warm = await XapiClient.connect({
    url,
    user: 'root',
    password: 'xenroot',
    protocol,
    mirror: false,
  });
  await warm.close();
  await settle(200);
  // The machine's own noise floor: the longest stall of this idle process over 2 s.
  const idle = monitorEventLoopDelay({ resolution: 1 });
  idle.enable();
  await settle(2000);
  idle.disable();
  const idleStallMs = idle.max / 1e6;
  const rssBefore = process.memoryUsage().rss;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const client = await XapiClient.connect({ url, user: 'root', password: 'xenroot', protocol });
  const connectMs = performance.now() - t0;
  h.disable();
  const stallMs = h.max / 1e6;
  // Share of the sync during which the JS thread was busy at all (vs waiting for the addon).
  const elu = performance.eventLoopUtilization(elu0).utilization;
  await settle(500);
  const rssAfter = process.memoryUsage().rss;

  const refs = client.mirror.query('VM', { fields: ['uuid'] }).map((r) => r.$ref);
  const reads: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < 20000; i++) {
    const ref = refs[(i * 7919) % refs.length];
    const a = process.hrtime.bigint();
    client.mirror.get('VM', ref);
    reads.push(Number(process.hrtime.bigint() - a) / 1000);
  }
  const cpu = process.cpuUsage(cpu0);
  const readCpuUs = (cpu.user + cpu.system) / 20000;
  // Noise floor for the same loop on this loaded machine: JSON.parse of one VM record's JSON,
  // an operation of the same kind and size done entirely in JS.
  const recordJson = JSON.stringify(client.mirror.get('VM', refs[0]));
  const floor: number[] = [];
  for (let i = 0; i < 20000; i++) {
    const a = process.hrtime.bigint();
    JSON.parse(recordJson);
    floor.push(Number(process.hrtime.bigint() - a) / 1000);
  }
  const q0 = performance.now();
  const page = client.mirror.query('VM', {
    where: { is_a_template: false, power_state: 'Running' },
    fields: ['name_label', 'power_state', 'memory_static_max'],
    limit: 100,
  });
  const queryMs = performance.now() - q0;
  const c0 = performance.now();
  const running = client.mirror.count('VM', { power_state: 'Running' });
  const countMs = performance.now() - c0;
  const vms = client.mirror.count('VM');
  await client.close();
  console.log(
    JSON.stringify({
      protocol,
      vms,
      connectMs,
      stallMs,
      idleStallMs,
      elu,
      mirrorRssMb: (rssAfter - rssBefore) / 1e6,
      readP50Us: percentile(reads, 50),
      readP99Us: percentile(reads, 99),
      readCpuUs,
      floorP50Us: percentile(floor, 50),
      floorP99Us: percentile(floor, 99),
      loadavg: os.loadavg()[0],
      queryMs,
      queryRows: page.length,
      countMs,
      running,
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
