// The service's logger: pino JSON lines (stdout unless told otherwise) from which secrets are
// kept out, by path (authorization headers, cookies, password and token fields) and by pattern
// in every line written (URL userinfo, bearer tokens), whatever object or message carried them.
// Must not decide what is logged, only that no token, password or URL userinfo is.
import pino from 'pino';

export const REDACTED = '[redacted]';

/** Fields that hold secrets wherever they appear (up to three levels down): also an iSCSI
 * connection's CHAP password (Cinder's `auth_password`, XAPI's device_config `chappassword`). */
const SECRET_KEYS = [
  'password',
  'token',
  'authorization',
  'cookie',
  'secret',
  'session_id',
  'auth_password',
  'chappassword',
];

const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
  // A volume attach body (`{connection: {data: {auth_password}}}`) one level further down.
  '*.*.*.auth_password',
  '*.*.*.chappassword',
];

/** `scheme://user:password@host` -> `scheme://host` (inside a JSON string: never past a quote). */
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/\s@"]+@/gi;
/** `Bearer <token>` -> `Bearer [redacted]`. */
const BEARER = /(Bearer\s+)[^\s"\\]+/gi;

/** The text with URL userinfo and bearer tokens removed (for lines, messages and errors). */
export function scrubSecrets(text: string): string {
  return text.replace(URL_USERINFO, '$1').replace(BEARER, `$1${REDACTED}`);
}

/** A URL without its userinfo (`https://root:pw@pool` -> `https://pool`); other text as it is. */
export function withoutUserinfo(url: string): string {
  return url.replace(URL_USERINFO, '$1');
}

/** The service's logger (stdout unless `destination` is given). */
export function createLogger(
  opts: { level: string },
  destination?: pino.DestinationStream,
): pino.Logger {
  const options: pino.LoggerOptions = {
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    hooks: { streamWrite: scrubSecrets },
  };
  return destination ? pino(options, destination) : pino(options);
}
