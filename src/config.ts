// Configuration, parsed once from command-line flags and XCD_* environment variables (flags win).
// Owns defaults and validation of settings, and takes credentials out of the XAPI URL so that no
// URL the service holds carries them. Must not open files other than the password file it is
// pointed at, nor connect anywhere.
import { readFileSync } from 'node:fs';
import type { Role } from './api/auth';

export const DEFAULT_PORT = 8780;
export const DEFAULT_LISTEN = `127.0.0.1:${DEFAULT_PORT}`;
export const DEFAULT_URL = `http://127.0.0.1:${DEFAULT_PORT}`;

export interface ServeFlags {
  xapi?: string;
  xapiUser?: string;
  xapiPasswordFile?: string;
  xapiInsecure?: boolean;
  xapiCaFile?: string;
  xapiFingerprint?: string;
  listen?: string;
  tokensFile?: string;
  logLevel?: string;
  simVms?: string;
  serviceId?: string;
  volumeSr?: string[];
  imageUrlAllow?: string[];
  vlanPifDevice?: string;
  vlanRange?: string;
  consoleListen?: string;
  consolePorts?: string;
  consolePublicHost?: string;
  publicUrl?: string;
  consoleTtl?: string;
  consoleLimits?: string;
}

export interface ServeConfig {
  /** Absent: run the embedded simulator. */
  xapi?: {
    /** Never with userinfo: credentials given in the URL are moved to user and password. */
    url: string;
    user: string;
    password: string;
    insecure: boolean;
    caFile?: string;
    fingerprint?: string;
  };
  listen: { host: string; port: number };
  /** The URL clients reach the service at when it is not the one they connect to (a
   * TLS-terminating proxy in front): console tunnel, WebSocket and page addresses use it. */
  publicUrl?: string;
  tokensFile?: string;
  envToken?: { token: string; namespace: string; role: Role };
  logLevel: string;
  simulator: { vms?: number };
  /** The driver's options a deployment sets (ComputeDriverOptions). */
  driver: {
    serviceId?: string;
    volumeSrs: string[];
    /** URL prefixes image imports may download from (none: all refused). */
    imageUrlAllow?: string[];
    /** The device VLAN networks are made on, and the tags NICs may ask for. */
    vlans?: { device: string; min: number; max: number };
  };
  /** The console proxy (the driver's ConsoleProxyOptions). */
  consoles: {
    ttlMs: number;
    perInstance: number;
    perNamespace: number;
    vnc: { listenHost: string; ports: { min: number; max: number }; publicHost?: string };
  };
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  if (!m) throw new Error(`listen address must be HOST:PORT, got '${text}'`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`port out of range in '${text}'`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

function readSecret(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

/**
 * `https://user:password@host/...` -> the URL without userinfo, and the (percent-decoded) user
 * and password it carried. Other URLs (and unix:///path) come back as they are.
 */
export function splitUserinfo(url: string): { url: string; user?: string; password?: string } {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*)@(.*)$/is.exec(url);
  if (!m) return { url };
  const [user, ...rest] = m[2].split(':');
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return {
    url: m[1] + m[3],
    ...(user ? { user: decode(user) } : {}),
    ...(rest.length > 0 ? { password: decode(rest.join(':')) } : {}),
  };
}

function role(text: string | undefined): Role {
  const r = (text ?? 'admin').toLowerCase();
  if (r !== 'admin' && r !== 'operator' && r !== 'viewer')
    throw new Error(`XCD_TOKEN_ROLE must be admin, operator or viewer, got '${text}'`);
  return r;
}

export function loadServeConfig(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv = process.env,
): ServeConfig {
  const given = flags.xapi ?? env.XCD_XAPI_URL;
  let xapi: ServeConfig['xapi'];
  if (given) {
    // Credentials in the URL serve when none are given otherwise; the URL is kept without them.
    const { url, ...inUrl } = splitUserinfo(given);
    const passwordFile = flags.xapiPasswordFile ?? env.XCD_XAPI_PASSWORD_FILE;
    const password = passwordFile
      ? readSecret(passwordFile)
      : (env.XCD_XAPI_PASSWORD ?? inUrl.password);
    if (password === undefined)
      throw new Error(
        '--xapi needs --xapi-password-file (or XCD_XAPI_PASSWORD_FILE, XCD_XAPI_PASSWORD)',
      );
    xapi = {
      url,
      user: flags.xapiUser ?? env.XCD_XAPI_USER ?? inUrl.user ?? 'root',
      password,
      insecure: flags.xapiInsecure ?? env.XCD_XAPI_INSECURE === '1',
    };
    const caFile = flags.xapiCaFile ?? env.XCD_XAPI_CA_FILE;
    const fingerprint = flags.xapiFingerprint ?? env.XCD_XAPI_FINGERPRINT;
    if (caFile) xapi.caFile = caFile;
    if (fingerprint) xapi.fingerprint = fingerprint;
  }
  const tokensFile = flags.tokensFile ?? env.XCD_TOKENS_FILE;
  const envToken = env.XCD_TOKEN
    ? {
        token: env.XCD_TOKEN,
        namespace: env.XCD_TOKEN_NAMESPACE ?? 'default',
        role: role(env.XCD_TOKEN_ROLE),
      }
    : undefined;
  const vms = flags.simVms ?? env.XCD_SIM_VMS;
  const serviceId = flags.serviceId ?? env.XCD_SERVICE_ID;
  if (serviceId !== undefined && !/^[A-Za-z0-9._:@-]{1,128}$/.test(serviceId))
    throw new Error(`--service-id must be 1-128 of [A-Za-z0-9._:@-], got '${serviceId}'`);
  const volumeSrs = (flags.volumeSr ?? (env.XCD_VOLUME_SRS ?? '').split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const uuid of volumeSrs)
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid))
      throw new Error(`--volume-sr must be an SR uuid, got '${uuid}'`);
  const imageUrlAllow = (flags.imageUrlAllow ?? (env.XCD_IMAGE_URL_ALLOW ?? '').split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const prefix of imageUrlAllow)
    if (!/^https?:\/\/[^/]+\//.test(prefix))
      throw new Error(
        `--image-url-allow takes http(s) prefixes ending in a path (http://host/...), got '${prefix}'`,
      );
  const vlans = parseVlans(
    flags.vlanPifDevice ?? env.XCD_VLAN_PIF_DEVICE,
    flags.vlanRange ?? env.XCD_VLAN_RANGE,
  );
  const listen = parseListen(flags.listen ?? env.XCD_LISTEN ?? DEFAULT_LISTEN);
  const publicUrl = flags.publicUrl ?? env.XCD_PUBLIC_URL;
  if (publicUrl !== undefined && !/^https?:\/\/[^/]+\/?$/.test(publicUrl))
    throw new Error(`--public-url must be http(s)://host[:port], got '${publicUrl}'`);
  const consoles = parseConsoles(
    {
      listen: flags.consoleListen ?? env.XCD_CONSOLE_LISTEN,
      ports: flags.consolePorts ?? env.XCD_CONSOLE_PORTS,
      publicHost: flags.consolePublicHost ?? env.XCD_CONSOLE_PUBLIC_HOST,
      ttl: flags.consoleTtl ?? env.XCD_CONSOLE_TTL,
      limits: flags.consoleLimits ?? env.XCD_CONSOLE_LIMITS,
    },
    listen.host,
  );
  return {
    ...(xapi ? { xapi } : {}),
    listen,
    ...(publicUrl ? { publicUrl: publicUrl.replace(/\/$/, '') } : {}),
    ...(tokensFile ? { tokensFile } : {}),
    ...(envToken ? { envToken } : {}),
    logLevel: flags.logLevel ?? env.XCD_LOG_LEVEL ?? 'info',
    simulator: vms ? { vms: Number(vms) } : {},
    driver: {
      ...(serviceId ? { serviceId } : {}),
      volumeSrs,
      ...(imageUrlAllow.length > 0 ? { imageUrlAllow } : {}),
      ...(vlans ? { vlans } : {}),
    },
    consoles,
  };
}

/** The console proxy's settings: `--console-listen HOST` (default the service's listen host),
 * `--console-ports MIN-MAX` (default 5900-5999; `0` for any free port), `--console-public-host`,
 * `--console-ttl SECONDS` (default 60) and `--console-limits PER_INSTANCE,PER_NAMESPACE`
 * (default 4,32). */
function parseConsoles(
  given: { listen?: string; ports?: string; publicHost?: string; ttl?: string; limits?: string },
  listenHost: string,
): ServeConfig['consoles'] {
  const ports = given.ports ?? '5900-5999';
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(ports);
  const [min, max] = ports === '0' ? [0, 0] : m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(ports === '0' || (min >= 1 && max <= 65535 && min <= max)))
    throw new Error(`--console-ports must be MIN-MAX within 1-65535, or 0, got '${ports}'`);
  const ttl = Number(given.ttl ?? 60);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 3600)
    throw new Error(`--console-ttl must be 1-3600 seconds, got '${given.ttl}'`);
  const lm = /^(\d{1,4}),(\d{1,5})$/.exec(given.limits ?? '4,32');
  if (!lm || Number(lm[1]) < 1 || Number(lm[2]) < Number(lm[1]))
    throw new Error(
      `--console-limits must be PER_INSTANCE,PER_NAMESPACE (1 <= first <= second), got '${given.limits}'`,
    );
  const host = given.listen ?? listenHost;
  if (!/^[A-Za-z0-9.:_-]+$/.test(host))
    throw new Error(`--console-listen must be a host address, got '${host}'`);
  return {
    ttlMs: ttl * 1000,
    perInstance: Number(lm[1]),
    perNamespace: Number(lm[2]),
    vnc: {
      listenHost: host,
      ports: { min, max },
      ...(given.publicHost ? { publicHost: given.publicHost } : {}),
    },
  };
}

/** --vlan-pif-device and --vlan-range (`MIN-MAX`, tags 1-4094): both or neither. */
function parseVlans(
  device: string | undefined,
  range: string | undefined,
): ServeConfig['driver']['vlans'] {
  if (device === undefined && range === undefined) return undefined;
  if (!device || !/^[A-Za-z0-9._-]{1,64}$/.test(device))
    throw new Error(`--vlan-pif-device must name a PIF device such as eth1, got '${device ?? ''}'`);
  const m = /^(\d{1,4})-(\d{1,4})$/.exec(range ?? '');
  const [min, max] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(min >= 1 && max <= 4094 && min <= max))
    throw new Error(`--vlan-range must be MIN-MAX within 1-4094, got '${range ?? ''}'`);
  return { device, min, max };
}

/** Where the CLI's client commands send requests, and with which token. */
export function loadClientConfig(
  flags: { url?: string; token?: string },
  env: NodeJS.ProcessEnv = process.env,
): { url: string; token?: string } {
  const token = flags.token ?? env.XCD_TOKEN;
  return {
    url: (flags.url ?? env.XCD_URL ?? DEFAULT_URL).replace(/\/+$/, ''),
    ...(token ? { token } : {}),
  };
}
