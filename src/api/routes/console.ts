// Routes of the `console`, `consoles` and `diagnostics` tags: an instance's one-time consoles
// (XAPI's own form for admins), the console token routes (the tunnel by CONNECT, the WebSocket,
// the noVNC page and its assets), the guest's console log and diagnostics. Must not call XAPI
// or speak RFB: the driver checks tokens and relays; these routes only switch protocols.
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import express, { type Request, type Router } from 'express';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { ApiError } from '../../driver/errors';
import { callerOf } from '../auth';
import type { ServiceDriver } from '../driver-port';
import type { ApiRouter } from '../endpoints';
import { takeSocket } from '../raw-socket';
import { consolePage } from './console-page';

/** Where the console page loads noVNC from (a system route: no token, nothing secret). */
export const NOVNC_ASSETS = '/console-assets/novnc';

type ConsoleType = Parameters<ServiceDriver['console']>[2];

/** How the caller reached the service: the configured public URL when a proxy stands in front,
 * else the host and port of its Host header (else the listener's address), and whether over
 * TLS. */
function originOf(
  req: Request,
  publicUrl?: string,
): { host: string; port: number; secure: boolean } {
  if (publicUrl) {
    const url = new URL(publicUrl);
    const secure = url.protocol === 'https:';
    return {
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : secure ? 443 : 80,
      secure,
    };
  }
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
  const fallback = {
    host: req.socket.localAddress ?? '127.0.0.1',
    port: req.socket.localPort ?? 0,
  };
  try {
    const url = new URL(`http://${req.headers.host ?? ''}`);
    if (!url.hostname) return { ...fallback, secure };
    return {
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : secure ? 443 : 80,
      secure,
    };
  } catch {
    return { ...fallback, secure };
  }
}

const tokenInvalid = (): ApiError =>
  new ApiError(
    404,
    'console_token_invalid',
    'no console with this token (unknown, used or expired)',
  );

export function consoleRoutes(router: ApiRouter, driver: ServiceDriver, publicUrl?: string): void {
  router.get('/v1/instances/:instance_id/console', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const type = (req.query.type ?? 'vnc') as ConsoleType;
    res.json(
      await driver.console(
        callerOf(req),
        String(req.params.instance_id),
        type,
        originOf(req, publicUrl),
      ),
    );
  });

  router.get('/v1/instances/:instance_id/console/log', async (req, res) => {
    res.json(await driver.consoleLog(callerOf(req), String(req.params.instance_id)));
  });

  router.get('/v1/instances/:instance_id/diagnostics', (req, res) => {
    res.json(driver.diagnostics(callerOf(req), String(req.params.instance_id)));
  });

  // The tunnel: CONNECT /v1/consoles/<token>, 200, then RFB with security None.
  router.connect('/v1/consoles/:console_token', (req, res) => {
    const claim = driver.claimConsole(String(req.params.console_token), 'tunnel');
    const raw = takeSocket(req, res, 200);
    if (!raw) throw new ApiError(400, 'invalid_request', 'CONNECT without its socket');
    raw.socket.write('HTTP/1.1 200 OK\r\n\r\n');
    if (raw.head.length > 0) raw.socket.unshift(raw.head);
    claim.attach(raw.socket);
  });

  // The WebSocket: RFB in binary messages, as noVNC speaks it.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  router.get('/v1/consoles/:console_token/websocket', (req, res) => {
    if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
      throw new ApiError(426, 'upgrade_required', 'this route takes a WebSocket upgrade');
    const claim = driver.claimConsole(String(req.params.console_token), 'websocket');
    const raw = takeSocket(req, res, 101);
    if (!raw) throw new ApiError(426, 'upgrade_required', 'this route takes a WebSocket upgrade');
    wss.handleUpgrade(req, raw.socket, raw.head, (ws) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => stream.destroy());
      claim.attach(stream);
    });
  });

  // The page: noVNC against this token's WebSocket; loading it spends nothing.
  router.get('/v1/consoles/:console_token/', (req, res) => {
    const token = String(req.params.console_token);
    if (!driver.hasConsolePage(token)) throw tokenInvalid();
    const nonce = randomBytes(16).toString('base64');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader(
      'Content-Security-Policy',
      `default-src 'none'; script-src 'self' 'nonce-${nonce}'; style-src 'nonce-${nonce}'; ` +
        `connect-src 'self' ws: wss:; img-src 'self' data: blob:; base-uri 'none'`,
    );
    res.type('html').send(consolePage({ nonce, assets: NOVNC_ASSETS }));
  });
}

/** noVNC's modules, served from the service's own copy (node_modules/@novnc/novnc): its core/
 * and vendor/ folders only; anything else under the prefix answers 404 not_found. */
export function consoleAssetRoutes(router: Router): void {
  const root = join(dirname(require.resolve('@novnc/novnc')), '..');
  const assets = express.Router({ caseSensitive: true, strict: true });
  for (const dir of ['core', 'vendor'])
    assets.use(
      `/${dir}`,
      express.static(join(root, dir), { index: false, redirect: false, maxAge: '1h' }),
    );
  assets.use((req, _res, next) =>
    next(new ApiError(404, 'not_found', `no console asset ${req.path}`)),
  );
  router.use(NOVNC_ASSETS, assets);
}
