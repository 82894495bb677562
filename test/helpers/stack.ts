// Boots the whole service in-process for tests: startSimulator + XapiClient + ComputeDriver +
// createApp on loopback, with tokens for two namespaces and every role, and tears it all down.
// Shared by the api, cli and driver tests; it must not fake anything below the HTTP layer.
import type { Server } from 'node:http';
import type { Express } from 'express';
import pino from 'pino';
import { TokenStore, type Role } from '../../src/api/auth';
import { Metrics } from '../../src/api/metrics';
import { createApp, createServer } from '../../src/app';
import { ComputeDriver, type ComputeDriverOptions } from '../../src/driver';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/simulator';
import { XapiClient } from '../../src/xapi';

export const TOKENS = {
  admin: 'tok-admin-alpha',
  operator: 'tok-operator-alpha',
  viewer: 'tok-viewer-alpha',
  other: 'tok-operator-beta',
} as const;

const CALLERS: Array<[keyof typeof TOKENS, string, Role]> = [
  ['admin', 'alpha', 'admin'],
  ['operator', 'alpha', 'operator'],
  ['viewer', 'alpha', 'viewer'],
  ['other', 'beta', 'operator'],
];

export interface HttpAnswer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface Stack {
  sim: SimulatorHandle;
  xapi: XapiClient;
  driver: ComputeDriver;
  metrics: Metrics;
  app: Express;
  server: Server;
  url: string;
  tokens: typeof TOKENS;
  /** An HTTP request with the operator token unless `token` says otherwise (null: none). */
  request<T = any>(
    method: string,
    path: string,
    opts?: {
      token?: string | null;
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
    },
  ): Promise<HttpAnswer<T>>;
  close(): Promise<void>;
}

export interface StackOptions {
  sim?: SimulatorOptions;
  /** Validate every response against the spec (default true). */
  validateResponses?: boolean;
  /** Driver options beyond the logger (VLAN device and range ...). */
  driver?: Partial<ComputeDriverOptions>;
  /** The service's logger (default: pino, silent unless XCD_TEST_LOG). */
  logger?: pino.Logger;
  /** The URL clients reach the service at behind a proxy (AppOptions.publicUrl). */
  publicUrl?: string;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const sim = await startSimulator({ authFailureDelayMs: 10, timeScale: 0, ...opts.sim });
  const metrics = new Metrics({ defaultMetrics: false });
  let xapi: XapiClient | undefined;
  let driver: ComputeDriver | undefined;
  try {
    xapi = await XapiClient.connect({
      url: sim.url,
      user: sim.user,
      password: sim.password,
      callTimeoutMs: 10_000,
    });
    metrics.instrumentXapi(xapi);
    metrics.watchMirror(xapi.mirror);
    const logger = opts.logger ?? pino({ level: process.env.XCD_TEST_LOG ?? 'silent' });
    driver = new ComputeDriver(xapi, { logger, ...opts.driver });
    await driver.start();
    const auth = new TokenStore();
    for (const [key, namespace, role] of CALLERS)
      auth.addToken(TOKENS[key], { id: key, namespace, role });
    const app = createApp({
      driver,
      auth,
      logger,
      metrics,
      validateResponses: opts.validateResponses ?? true,
      ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
    });
    const server: Server = await new Promise((resolve) => {
      const s = createServer(app).listen(0, '127.0.0.1', () => resolve(s));
    });
    const addr = server.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const d = driver;
    const x = xapi;
    return {
      sim,
      xapi: x,
      driver: d,
      metrics,
      app,
      server,
      url,
      tokens: TOKENS,
      async request(method, path, o = {}) {
        const headers: Record<string, string> = { ...(o.headers ?? {}) };
        const token = o.token === undefined ? TOKENS.operator : o.token;
        if (token !== null) headers.authorization = `Bearer ${token}`;
        let body: string | undefined = o.rawBody;
        if (o.body !== undefined) body = JSON.stringify(o.body);
        if (body !== undefined && !headers['content-type'])
          headers['content-type'] = 'application/json';
        const res = await fetch(url + path, {
          method,
          headers,
          body,
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        const type = res.headers.get('content-type') ?? '';
        return {
          status: res.status,
          headers: res.headers,
          body: /json/.test(type) && text ? JSON.parse(text) : text,
        };
      },
      async close() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await d.close();
        await x.close();
        await sim.close();
      },
    };
  } catch (err) {
    await driver?.close().catch(() => undefined);
    await xapi?.close().catch(() => undefined);
    await sim.close();
    throw err;
  }
}
