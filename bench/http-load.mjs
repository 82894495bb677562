// A small closed-loop HTTP load generator, run as its own process by bench/api.ts so the load
// does not share the service's event loop: N keep-alive clients each send GETs back to back for
// a fixed time and it prints one JSON line {requests, total, errors, rps, p50_ms, p99_ms,
// max_ms} (total also counts the warm-up's requests).
import http from 'node:http';

const [url, pathsJson, concurrencyText, secondsText, token] = process.argv.slice(2);
const paths = JSON.parse(pathsJson);
const concurrency = Number(concurrencyText);
const durationMs = Number(secondsText) * 1000;
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const headers = token ? { authorization: `Bearer ${token}` } : {};

function once(path) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.get(
      { host: target.hostname, port: target.port, path, agent, headers },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve([Number(process.hrtime.bigint() - t0) / 1e6, res.statusCode === 200]),
        );
      },
    );
    req.on('error', () => resolve([Number(process.hrtime.bigint() - t0) / 1e6, false]));
  });
}

const latencies = [];
let errors = 0;
let n = 0;
let total = 0;
const warmupEnd = Date.now() + Math.min(1000, durationMs / 5);
const end = warmupEnd + durationMs;
let start = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) {
      const [ms, ok] = await once(paths[n++ % paths.length]);
      total++;
      if (Date.now() < warmupEnd) continue;
      if (!start) start = Date.now();
      latencies.push(ms);
      if (!ok) errors++;
    }
  }),
);
const elapsed = (Date.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
agent.destroy();
process.stdout.write(
  `${JSON.stringify({ requests: latencies.length, total, errors, rps: latencies.length / elapsed, p50_ms: q(0.5), p99_ms: q(0.99), max_ms: q(1) })}\n`,
);
