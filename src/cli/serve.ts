// `xcd serve`: runs the service. With --xapi it connects to that pool; without, it starts the
// embedded simulator. Owns start-up order (listen, then connect and the driver's start-up in
// the background, retried), shutdown, and what reaches the terminal: a token only if it generated
// it, on stderr. Must not hold routes or driver logic, nor print or log a configured secret.
import type { Server } from 'node:http';
import type { Command } from 'commander';
import type pino from 'pino';
import { generateToken, TokenStore } from '../api/auth';
import { createLogger, scrubSecrets } from '../api/logger';
import { Metrics } from '../api/metrics';
import type { ServiceDriver } from '../api/driver-port';
import { createApp, createServer } from '../app';
import { loadServeConfig, type ServeConfig, type ServeFlags } from '../config';
import { ApiError, ComputeDriver } from '../driver';
import { startSimulator, type SimulatorHandle } from '../simulator';
import { XapiClient } from '../xapi';

export interface RunningService {
  url: string;
  /** Set when no token was configured and one was generated (admin, namespace 'default'). */
  generatedToken?: string;
  simulator?: SimulatorHandle;
  /** Resolves once the driver's start-up has succeeded; never rejects (failures are retried). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Makes each driver (one per start-up attempt). Default: a ComputeDriver. */
  createDriver?: (...args: ConstructorParameters<typeof ComputeDriver>) => ComputeDriver;
  /** Backoff between start-up attempts: doubles from firstDelayMs up to maxDelayMs. */
  startRetry?: { firstDelayMs?: number; maxDelayMs?: number };
  /** Generate a token when none is configured (default true); false makes that an error. */
  allowGeneratedToken?: boolean;
}

/** No token is configured and none may be generated: `xcd serve` exits 2 with this message. */
export class NoTokenError extends Error {}

function buildTokens(
  cfg: ServeConfig,
  allowGenerated: boolean,
): { tokens: TokenStore; generated?: string } {
  const tokens = cfg.tokensFile ? TokenStore.fromFile(cfg.tokensFile) : new TokenStore();
  if (cfg.envToken)
    tokens.addToken(cfg.envToken.token, {
      id: 'env',
      namespace: cfg.envToken.namespace,
      role: cfg.envToken.role,
    });
  if (tokens.size > 0) return { tokens };
  if (!allowGenerated)
    throw new NoTokenError(
      'no token configured: give --tokens-file (XCD_TOKENS_FILE) or XCD_TOKEN; a token is ' +
        'generated only when a terminal can show it (stderr is not one here)',
    );
  const generated = generateToken();
  tokens.addToken(generated, { id: 'generated', namespace: 'default', role: 'admin' });
  return { tokens, generated };
}

const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this host',
};

/** Listens, or rejects with what went wrong (express 5's listen callback also runs on error). */
function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const why = (err.code && LISTEN_ERRORS[err.code]) || err.message;
      reject(
        new Error(`cannot listen on ${host}:${port}: ${why}${err.code ? ` (${err.code})` : ''}`),
      );
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function urlOf(server: Server, listenHost: string, listenPort: number): string {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : listenPort;
  const host = listenHost.includes(':')
    ? `[${listenHost}]`
    : listenHost === '0.0.0.0'
      ? '127.0.0.1'
      : listenHost;
  return `http://${host}:${port}`;
}

/**
 * The driver the app serves, before and between start-up attempts: the current driver once
 * there is one, else not ready (so every /v1 request answers 503 not_ready through the app's
 * one path, and /healthz answers at once). Forwards every member, so it is the driver's port.
 */
function currentDriverPort(current: () => ComputeDriver | undefined): ServiceDriver {
  return new Proxy({} as ServiceDriver, {
    get(_target, prop) {
      const driver = current();
      if (prop === 'ready') return () => driver?.ready() ?? false;
      if (!driver) throw new ApiError(503, 'not_ready', 'the service is connecting to XAPI');
      const value = (driver as unknown as Record<PropertyKey, unknown>)[prop];
      return typeof value === 'function' ? value.bind(driver) : value;
    },
  });
}

/**
 * Starts the service: tokens and the app, the embedded simulator (without --xapi); then listens,
 * and only then connects to XAPI and runs the driver's start-up (mirror load, reconcile, index)
 * in the background: /healthz answers at once and /readyz and /v1 answer 503 not_ready until it
 * succeeds. A listen error rejects before any of that, with everything opened closed again.
 *
 * A failed connection or start-up is logged and tried again (with a fresh driver) after a
 * backoff (1 s doubling to 60 s), for as long as the service runs: what fails it is XAPI being
 * away or restarting, which passes; the process stays live and says why it is not ready, rather
 * than exiting into a restart loop that would redo the connection and mirror load each time.
 */
export async function startService(
  cfg: ServeConfig,
  logger: pino.Logger,
  opts: ServeOptions = {},
): Promise<RunningService> {
  const { tokens, generated } = buildTokens(cfg, opts.allowGeneratedToken ?? true);
  const makeDriver = opts.createDriver ?? ((...a) => new ComputeDriver(...a));
  const opened: Array<() => Promise<void>> = [];
  const closeOpened = async (): Promise<void> => {
    for (const close of opened.splice(0).reverse()) await close().catch(() => undefined);
  };
  let simulator: SimulatorHandle | undefined;
  let xapi: XapiClient | undefined;
  let driver: ComputeDriver | undefined;
  let server: Server;
  const metrics = new Metrics();
  const driverLogger = logger.child({ component: 'driver' });
  const app = createApp({
    driver: currentDriverPort(() => driver),
    auth: tokens,
    logger,
    metrics,
    ...(cfg.publicUrl ? { publicUrl: cfg.publicUrl } : {}),
  });
  let target = cfg.xapi;
  try {
    if (!target) {
      const sim = await startSimulator({
        ...(cfg.simulator.vms !== undefined ? { vms: cfg.simulator.vms } : {}),
      });
      simulator = sim;
      opened.push(() => sim.close());
      target = { url: sim.url, user: sim.user, password: sim.password, insecure: false };
      logger.info({ xapi: sim.url }, 'embedded XAPI simulator started');
    }
    const s = createServer(app);
    server = s;
    await listen(s, cfg.listen.host, cfg.listen.port);
    opened.push(async () => {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    });
  } catch (err) {
    await closeOpened();
    throw err;
  }
  const url = urlOf(server, cfg.listen.host, cfg.listen.port);
  logger.info({ url }, 'service listening');
  const pool = target;

  /** Connects (once: the client reconnects by itself afterwards) and starts a fresh driver. */
  const startOnce = async (): Promise<void> => {
    if (!xapi) {
      const t0 = process.hrtime.bigint();
      const client = await XapiClient.connect({
        url: pool.url,
        user: pool.user,
        password: pool.password,
        tls: {
          ...(pool.insecure ? { insecure: true } : {}),
          ...(pool.caFile ? { caFile: pool.caFile } : {}),
          ...(pool.fingerprint ? { fingerprint: pool.fingerprint } : {}),
        },
      });
      xapi = client;
      opened.splice(opened.length - 1, 0, () => client.close());
      metrics.mirrorSyncSeconds.set(Number(process.hrtime.bigint() - t0) / 1e9);
      metrics.instrumentXapi(client);
      metrics.watchMirror(client.mirror);
      metrics.watchConsoles(() => driver?.consoleStats());
    }
    const fresh = makeDriver(xapi, {
      logger: driverLogger,
      ...cfg.driver,
      consoles: cfg.consoles,
    });
    driver = fresh;
    await fresh.start();
  };

  const firstDelayMs = opts.startRetry?.firstDelayMs ?? 1000;
  const maxDelayMs = opts.startRetry?.maxDelayMs ?? 60_000;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve) => {
    const attempt = (n: number): void => {
      startOnce().then(
        () => {
          if (stopped) return;
          logger.info({ attempts: n }, 'service ready');
          resolve();
        },
        async (err: unknown) => {
          if (stopped) return;
          const retryInMs = Math.min(firstDelayMs * 2 ** (n - 1), maxDelayMs);
          logger.error({ err, attempt: n, retryInMs }, 'start-up failed; retrying');
          const failed = driver;
          driver = undefined;
          await failed?.close().catch(() => undefined);
          if (stopped) return;
          retryTimer = setTimeout(() => attempt(n + 1), retryInMs);
        },
      );
    };
    attempt(1);
  });

  let closed = false;
  return {
    url,
    ready,
    ...(generated ? { generatedToken: generated } : {}),
    ...(simulator ? { simulator } : {}),
    async close() {
      if (closed) return;
      closed = true;
      stopped = true;
      clearTimeout(retryTimer);
      await driver?.close().catch(() => undefined);
      await closeOpened();
    },
  };
}

/**
 * The banner `npm start` shows (on stderr) once the service is ready: where it is and a session
 * to paste. It carries a token only if the service generated it; a configured one is never shown.
 */
export function banner(svc: RunningService, template: string): string {
  const token = svc.generatedToken;
  const lines = [
    '',
    `xen-compute-driver listening on ${svc.url}` +
      (svc.simulator ? ` (embedded XAPI simulator at ${svc.simulator.url})` : ''),
    token
      ? `token: ${token} (generated for this run: role admin, namespace "default"; shown once)`
      : 'token: the one you configured (never shown)',
    '',
    'Try it:',
    `  export XCD_URL=${svc.url} XCD_TOKEN=${token ?? '<your token>'}`,
    '  curl -s -H "Authorization: Bearer $XCD_TOKEN" $XCD_URL/v1/templates',
    '  curl -s -X PUT -H "Authorization: Bearer $XCD_TOKEN" -H \'Content-Type: application/json\' \\',
    `       -H 'Prefer: wait=60' -d '{"template": "${template}", "vcpus": 2, "memory_mb": 1024, ` +
      `"nics": [{"network": "xenbr0"}]}' $XCD_URL/v1/instances/demo-1`,
    '  curl -s -H "Authorization: Bearer $XCD_TOKEN" $XCD_URL/v1/instances/demo-1',
    '  ./bin/xcd.js instances list',
    '  ./bin/xcd.js instances destroy demo-1',
    `  open ${svc.url}/docs`,
    '',
  ];
  return lines.join('\n');
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the service (on the embedded simulator unless --xapi is given)')
    .option(
      '--xapi <url>',
      'XAPI URL: https://host, http://host:port or unix:///var/lib/xcp/xapi (env XCD_XAPI_URL)',
    )
    .option('--xapi-user <user>', 'XAPI user (env XCD_XAPI_USER, default root)')
    .option(
      '--xapi-password-file <file>',
      'file holding the XAPI password (env XCD_XAPI_PASSWORD_FILE)',
    )
    .option('--xapi-insecure', 'do not verify the XAPI TLS certificate (env XCD_XAPI_INSECURE=1)')
    .option('--xapi-ca-file <file>', 'CA bundle for the XAPI certificate (env XCD_XAPI_CA_FILE)')
    .option(
      '--xapi-fingerprint <sha256>',
      'pin the XAPI certificate by its SHA-256 fingerprint (env XCD_XAPI_FINGERPRINT)',
    )
    .option('--listen <host:port>', 'where to listen (env XCD_LISTEN, default 127.0.0.1:8780)')
    .option(
      '--tokens-file <file>',
      'JSON lines {id, namespace, role, sha256} (env XCD_TOKENS_FILE)',
    )
    .option('--log-level <level>', 'pino log level (env XCD_LOG_LEVEL, default info)')
    .option('--sim-vms <n>', 'extra VMs in the embedded simulator (env XCD_SIM_VMS)')
    .option(
      '--service-id <id>',
      'owner of the work in flight of this service; unique per service on a pool (env XCD_SERVICE_ID, default the host name)',
    )
    .option(
      '--volume-sr <uuid...>',
      'SRs whose untagged user disks tenants may attach and copy (env XCD_VOLUME_SRS, comma-separated)',
    )
    .option(
      '--image-url-allow <prefix...>',
      'URL prefixes image imports may download from, e.g. https://glance.example/ (env XCD_IMAGE_URL_ALLOW, comma-separated; default none)',
    )
    .option(
      '--vlan-pif-device <device>',
      'PIF device the VLAN networks NICs ask for are made on, e.g. eth1 (env XCD_VLAN_PIF_DEVICE)',
    )
    .option(
      '--vlan-range <min-max>',
      'VLAN tags NICs may ask for, e.g. 100-199 (env XCD_VLAN_RANGE)',
    )
    .option(
      '--console-listen <host>',
      'address the VNC console listeners bind (env XCD_CONSOLE_LISTEN, default the --listen host)',
    )
    .option(
      '--console-ports <min-max>',
      'ports of the VNC consoles, one per console handed out (env XCD_CONSOLE_PORTS, default 5900-5999; 0: any free port)',
    )
    .option(
      '--public-url <url>',
      'http(s)://host[:port] clients reach the service at behind a TLS-terminating proxy: the console tunnel, WebSocket and page addresses use it (env XCD_PUBLIC_URL; default the address each request came to)',
    )
    .option(
      '--console-public-host <host>',
      'host name a VNC console answer gives (env XCD_CONSOLE_PUBLIC_HOST, default the listen address)',
    )
    .option(
      '--console-ttl <seconds>',
      'how long a console handed out stays usable (env XCD_CONSOLE_TTL, default 60)',
    )
    .option(
      '--console-limits <per-instance,per-namespace>',
      'console connections open or handed out at once (env XCD_CONSOLE_LIMITS, default 4,32)',
    )
    .action(async (flags: ServeFlags) => {
      let cfg: ServeConfig;
      try {
        cfg = loadServeConfig(flags);
      } catch (err) {
        process.stderr.write(`xcd serve: ${scrubSecrets((err as Error).message)}\n`);
        process.exitCode = 2;
        return;
      }
      const logger = createLogger({ level: cfg.logLevel });
      let svc: RunningService;
      try {
        // A generated token can only be shown on a terminal: never into a log collector.
        svc = await startService(cfg, logger, {
          allowGeneratedToken: process.stderr.isTTY === true,
        });
      } catch (err) {
        const message = scrubSecrets(err instanceof Error ? err.message : String(err));
        logger.fatal({ err }, 'start failed');
        process.stderr.write(`xcd serve: ${message}\n`);
        process.exit(err instanceof NoTokenError ? 2 : 1);
      }
      const stop = (signal: string): void => {
        logger.info({ signal }, 'shutting down');
        svc.close().then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await svc.ready;
      const hint = await templateHint(svc.url, svc.generatedToken ?? cfg.envToken?.token);
      process.stderr.write(`${banner(svc, hint)}\n`);
    });
}

/** A template name for the banner's example (the first one the service lists). */
async function templateHint(url: string, token: string | undefined): Promise<string> {
  if (!token) return '<template name or uuid>';
  try {
    const res = await fetch(`${url}/v1/templates`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const body = (await res.json()) as { items?: Array<{ name_label: string }> };
    return body.items?.[0]?.name_label ?? '<template name or uuid>';
  } catch {
    return '<template name or uuid>';
  }
}
