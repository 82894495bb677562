// Where a console handed out is reached, by form: the token routes' paths on the service's own
// HTTP listener (the spec's /v1/consoles/{console_token}...), as the caller reached that
// listener. The one place those paths are written for answers; the VNC form's port is the
// proxy's (vnc-ports.ts).

/** How the caller reached the service's HTTP listener. */
export interface ConsoleOrigin {
  host: string;
  port: number;
  secure: boolean;
}

type Expiring = { expires_at: string };

export function tunnelAddress(token: string, origin: ConsoleOrigin, expires_at: string) {
  return {
    type: 'tunnel' as const,
    host: origin.host,
    port: origin.port,
    path: `/v1/consoles/${token}`,
    tls: origin.secure,
    expires_at,
  };
}

/** host[:port] of a URL: the port left out where it is the scheme's own (443, 80). */
function base(origin: ConsoleOrigin): string {
  const host = origin.host.includes(':') ? `[${origin.host}]` : origin.host;
  const standard = origin.secure ? 443 : 80;
  return origin.port === standard ? host : `${host}:${origin.port}`;
}

export function websocketAddress(
  token: string,
  origin: ConsoleOrigin,
  expires_at: string,
): { type: 'websocket'; url: string } & Expiring {
  const scheme = origin.secure ? 'wss' : 'ws';
  return {
    type: 'websocket',
    url: `${scheme}://${base(origin)}/v1/consoles/${token}/websocket`,
    expires_at,
  };
}

export function pageAddress(
  token: string,
  origin: ConsoleOrigin,
  expires_at: string,
): { type: 'url'; url: string } & Expiring {
  const scheme = origin.secure ? 'https' : 'http';
  return { type: 'url', url: `${scheme}://${base(origin)}/v1/consoles/${token}/`, expires_at };
}
