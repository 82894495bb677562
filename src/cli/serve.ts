// `xcd serve`: runs the service. With --xapi it connects to that pool; without, it starts the
// embedded simulator and prints its URL, a token and a ready-to-paste example (`npm start`).
// Owns start-up order and shutdown; must not hold routes or driver logic.
import type { Server } from 'node:http';
import type { Command } from 'commander';
import pino from 'pino';
import { generateToken, TokenStore } from '../api/auth';
import { Metrics } from '../api/metrics';
import { createApp } from '../app';
import { loadServeConfig, type ServeConfig, type ServeFlags } from '../config';
import { ComputeDriver } from '../driver';
import { startSimulator, type SimulatorHandle } from '../simulator';
import { XapiClient } from '../xapi';

export interface RunningService {
  url: string;
  /** Set when no token was configured and one was generated (admin, namespace 'default'). */
  generatedToken?: string;
  simulator?: SimulatorHandle;
  close(): Promise<void>;
}

function buildTokens(cfg: ServeConfig): { tokens: TokenStore; generated?: string } {
  const tokens = cfg.tokensFile ? TokenStore.fromFile(cfg.tokensFile) : new TokenStore();
  if (cfg.envToken)
    tokens.addToken(cfg.envToken.token, {
      id: 'env',
      namespace: cfg.envToken.namespace,
      role: cfg.envToken.role,
    });
  if (tokens.size > 0) return { tokens };
  const generated = generateToken();
  tokens.addToken(generated, { id: 'generated', namespace: 'default', role: 'admin' });
  return { tokens, generated };
}

export async function startService(cfg: ServeConfig, logger: pino.Logger): Promise<RunningService> {
  const { tokens, generated } = buildTokens(cfg);
  let simulator: SimulatorHandle | undefined;
  let target = cfg.xapi;
  if (!target) {
    simulator = await startSimulator({
      ...(cfg.simulator.vms !== undefined ? { vms: cfg.simulator.vms } : {}),
    });
    target = {
      url: simulator.url,
      user: simulator.user,
      password: simulator.password,
      insecure: false,
    };
    logger.info({ xapi: simulator.url }, 'embedded XAPI simulator started');
  }
  const metrics = new Metrics();
  const t0 = process.hrtime.bigint();
  const xapi = await XapiClient.connect({
    url: target.url,
    user: target.user,
    password: target.password,
    tls: {
      ...(target.insecure ? { insecure: true } : {}),
      ...(target.caFile ? { caFile: target.caFile } : {}),
      ...(target.fingerprint ? { fingerprint: target.fingerprint } : {}),
    },
  });
  metrics.mirrorSyncSeconds.set(Number(process.hrtime.bigint() - t0) / 1e9);
  metrics.instrumentXapi(xapi);
  metrics.watchMirror(xapi.mirror);
  const driver = new ComputeDriver(xapi, { logger: logger.child({ component: 'driver' }) });
  await driver.start();
  const app = createApp({ driver, auth: tokens, logger, metrics, xapiUrl: target.url });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(cfg.listen.port, cfg.listen.host, () => resolve(s));
    s.once('error', reject);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.listen.port;
  const host = cfg.listen.host.includes(':')
    ? `[${cfg.listen.host}]`
    : cfg.listen.host === '0.0.0.0'
      ? '127.0.0.1'
      : cfg.listen.host;
  const url = `http://${host}:${port}`;
  logger.info({ url }, 'service listening');
  let closed = false;
  return {
    url,
    ...(generated ? { generatedToken: generated } : {}),
    ...(simulator ? { simulator } : {}),
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await driver.close();
      await xapi.close();
      await simulator?.close();
    },
  };
}

/** The banner `npm start` prints: where the service is and a session to paste. */
export function banner(svc: RunningService, token: string | undefined, template: string): string {
  const t = token ?? '<your token>';
  const who = svc.generatedToken === token ? ' (generated: role admin, namespace "default")' : '';
  const lines = [
    '',
    `xen-compute-driver listening on ${svc.url}` +
      (svc.simulator ? ` (embedded XAPI simulator at ${svc.simulator.url})` : ''),
    token ? `token: ${token}${who}` : 'tokens: from your tokens file',
    '',
    'Try it:',
    `  export XCD_URL=${svc.url} XCD_TOKEN=${t}`,
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
    .action(async (flags: ServeFlags) => {
      let cfg: ServeConfig;
      try {
        cfg = loadServeConfig(flags);
      } catch (err) {
        process.stderr.write(`xcd serve: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const logger = pino({ level: cfg.logLevel });
      const svc = await startService(cfg, logger);
      const first = await templateHint(svc.url, svc.generatedToken ?? cfg.envToken?.token);
      process.stdout.write(`${banner(svc, svc.generatedToken ?? cfg.envToken?.token, first)}\n`);
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
