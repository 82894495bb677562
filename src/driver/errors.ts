// The driver's error class (ApiError: an HTTP status and a stable code), the one table that
// turns XAPI failures (XapiError codes, TransportError) into it, with XAPI refs, session ids and
// URL credentials scrubbed from what callers see, and the one problem body (RFC 9457) every
// failure is shown as, by the API and in operations. Knows nothing of express or HTTP headers.
// XAPI's error classes are recognised by shape, so this file does not load the addon.
import { OperationCancelled, StepFailure } from './steps';
import type { Problem } from './types';

export interface XapiErrorInfo {
  code: string;
  params: string[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly xapi_error?: XapiErrorInfo;
  readonly extra?: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
    detail: string,
    opts: { xapi_error?: XapiErrorInfo; extra?: Record<string, unknown> } = {},
  ) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.detail = detail;
    if (opts.xapi_error) this.xapi_error = opts.xapi_error;
    if (opts.extra) this.extra = opts.extra;
  }

  /** The problem body: also an operation's `error` and the persisted tag's. */
  toJSON(): Problem {
    return problemBody({
      ...this.extra,
      status: this.status,
      code: this.code,
      detail: this.detail,
      ...(this.xapi_error ? { xapi_error: this.xapi_error } : {}),
    });
  }
}

/** Words a title writes in capitals. */
const ACRONYMS: Record<string, string> = { xapi: 'XAPI', sr: 'SR', vdi: 'VDI', mac: 'MAC' };

/** The title of a problem type: its code in words (`instance_not_found` -> `Instance not found`). */
function problemTitle(code: string): string {
  const words = code.split('_').map((w) => ACRONYMS[w] ?? w);
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** What a problem body is made from: its status and code, and any other members it carries. */
export interface ProblemFields {
  status: number;
  code: string;
  detail?: string;
  [member: string]: unknown;
}

/**
 * The problem+json body (RFC 9457) of a failure, the one place it is built: the type
 * (`urn:xcd:error:<code>`) and title name the code, so they are the same for every occurrence of
 * it; the detail says what happened this time (the title when nothing more is known). Other
 * members (`instance`, `xapi_error`, `errors`, figures) are kept; a given type or title is not.
 */
export function problemBody(p: ProblemFields): Problem {
  const { status, code, detail, ...rest } = p;
  delete rest.type;
  delete rest.title;
  const title = problemTitle(code);
  const body: Problem = {
    type: `urn:xcd:error:${code}`,
    title,
    status,
    code: code as Problem['code'],
    detail: detail ?? title,
  };
  return Object.assign(body, rest);
}

export const instanceNotFound = (id: string): ApiError =>
  new ApiError(404, 'instance_not_found', `instance '${id}' not found`);

export const operationNotFound = (id: string): ApiError =>
  new ApiError(404, 'operation_not_found', `operation '${id}' not found`);

function splitStates(text: string | undefined): string[] {
  return (text ?? '')
    .split(/[,;]\s*/)
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
}

function toNumber(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}

/** XAPI code -> (status, code, detail, extra). Codes not listed become 502 xapi_error. */
function mapXapi(
  code: string,
  params: string[],
): [number, string, string, Record<string, unknown>?] {
  switch (code) {
    case 'VM_BAD_POWER_STATE': {
      const expected = splitStates(params[1]);
      const actual = (params[2] ?? '').toLowerCase();
      return [
        409,
        'invalid_power_state',
        `the instance is ${actual || 'in another power state'}; this needs ${expected.join(' or ') || 'another state'}`,
        { expected_power_states: expected, actual_power_state: actual },
      ];
    }
    case 'HOST_NOT_ENOUGH_FREE_MEMORY': {
      const needed = toNumber(params[0]);
      const available = toNumber(params[1]);
      return [
        409,
        'insufficient_memory',
        `not enough free memory on the host: ${needed} bytes needed, ${available} available`,
        { needed_bytes: needed, available_bytes: available },
      ];
    }
    case 'HANDLE_INVALID':
    case 'UUID_INVALID':
      return [404, 'not_found', `${params[0] ?? 'object'} '${params[1] ?? ''}' does not exist`];
    case 'VM_REQUIRES_SR':
    case 'VM_REQUIRES_NETWORK':
    case 'VM_REQUIRES_VDI':
    case 'NO_HOSTS_AVAILABLE':
      return [409, 'no_host_available', `no host can run the instance (${code})`];
    case 'SR_FULL':
      return [
        507,
        'insufficient_storage',
        `the storage repository is full: ${params[0]} bytes requested, ${params[1]} available`,
        { requested_bytes: toNumber(params[0]), maximum_bytes: toNumber(params[1]) },
      ];
    case 'OTHER_OPERATION_IN_PROGRESS':
      return [
        409,
        'operation_in_progress',
        `another operation (${params[2] ?? 'unknown'}) is in progress on the ${params[0] ?? 'object'}`,
        { operation: params[2] },
      ];
    case 'OPERATION_BLOCKED':
      return [
        409,
        'operation_blocked',
        `the operation is blocked on this object (${params[1] ?? ''})`,
      ];
    case 'OPERATION_NOT_ALLOWED':
      return [409, 'operation_not_allowed', params[0] ?? 'the operation is not allowed now'];
    case 'VM_IS_TEMPLATE':
    case 'VM_IS_SNAPSHOT':
      return [
        409,
        'operation_not_allowed',
        `not allowed on a ${code === 'VM_IS_TEMPLATE' ? 'template' : 'snapshot'}`,
      ];
    case 'VM_LACKS_FEATURE':
    case 'VM_MISSING_PV_DRIVERS':
      return [409, 'guest_lacks_feature', 'the guest lacks the PV drivers this operation needs'];
    case 'VDI_IN_USE':
      return [409, 'disk_in_use', `the disk is in use (${params[1] ?? ''})`];
    case 'VM_SHUTDOWN_TIMEOUT':
      return [504, 'shutdown_timeout', 'the guest did not shut down in time'];
    case 'TASK_CANCELLED':
      return [409, 'cancelled', 'the operation was cancelled'];
    case 'INVALID_VALUE':
    case 'MEMORY_CONSTRAINT_VIOLATION':
    case 'MEMORY_CONSTRAINT_VIOLATION_ORDER':
    case 'MEMORY_CONSTRAINT_VIOLATION_MAXPIN':
    case 'VM_TOO_MANY_VCPUS':
    case 'VM_NO_VCPUS':
    case 'VM_MEMORY_SIZE_TOO_LOW':
    case 'VDI_TOO_SMALL':
      return [
        422,
        'invalid_value',
        `XAPI rejected a value (${code}${params.length ? `: ${params.join(', ')}` : ''})`,
      ];
    // The storage manager's iSCSI errors (sm's XE_SR_ERRORCODES.xml), met plugging a PBD.
    case 'SR_BACKEND_FAILURE_141':
      return [502, 'iscsi_target_unreachable', 'no iSCSI service answers at the target portal'];
    case 'SR_BACKEND_FAILURE_83':
    case 'SR_BACKEND_FAILURE_84':
    case 'SR_BACKEND_FAILURE_96':
    case 'SR_BACKEND_FAILURE_106':
      return [422, 'iscsi_target_not_found', 'the portal does not offer the target IQN'];
    case 'SR_BACKEND_FAILURE_68':
      return [
        422,
        'iscsi_login_failed',
        'the iSCSI target refused the login: check the CHAP credentials and the initiators it allows',
      ];
    case 'SR_BACKEND_FAILURE_67':
    case 'SR_BACKEND_FAILURE_107':
      return [404, 'iscsi_lun_not_found', 'the iSCSI target has no such LUN'];
    case 'HOST_POWER_ON_MODE_DISABLED':
      return [409, 'operation_not_allowed', 'the host has no power-on mode configured in XAPI'];
    case 'HOST_OFFLINE':
      return [409, 'operation_not_allowed', 'the host is not live'];
    case 'LICENCE_RESTRICTION':
      return [
        403,
        'licence_restriction',
        `the pool's licence does not allow this (${params[0] ?? ''})`,
      ];
    case 'SESSION_INVALID':
    case 'HOST_IS_SLAVE':
    case 'HOST_STILL_BOOTING':
    case 'TOO_BUSY':
      return [503, 'xapi_unavailable', `XAPI cannot take the call now (${code})`];
    default:
      return [
        502,
        'xapi_error',
        `XAPI refused the call: ${code}${params.length ? ` [${params.join(', ')}]` : ''}`,
      ];
  }
}

interface XapiErrorShape extends Error {
  code: string;
  params: string[];
}

function isXapiError(err: unknown): err is XapiErrorShape {
  const e = err as { code?: unknown; params?: unknown };
  return (
    err instanceof Error &&
    err.name === 'XapiError' &&
    typeof e.code === 'string' &&
    Array.isArray(e.params)
  );
}

function isTransportError(err: unknown): err is Error & { code?: string } {
  return err instanceof Error && err.name === 'TransportError';
}

/** An XAPI ref (a session id is one too), also URL-encoded; OpaqueRef:NULL names nothing. */
const XAPI_REF = /OpaqueRef(?::|%3A)(?!NULL\b)[0-9A-Za-z-]+/gi;
/** The userinfo of a URL (`//user:password@host`). */
const URL_USERINFO = /(\/\/)[^/\s@]+@/g;
/** What callers see in place of a ref: they could not use it, and a session id opens the pool. */
export const REDACTED_REF = '<ref>';

function scrubText(text: string): string {
  return text.replace(XAPI_REF, REDACTED_REF).replace(URL_USERINFO, '$1');
}

/** The value with every string scrubbed; the same object when nothing needed it. */
function scrub<T>(value: T): T {
  if (typeof value === 'string') return scrubText(value) as T;
  if (Array.isArray(value)) {
    const out = value.map(scrub);
    return (out.some((v, i) => v !== value[i]) ? out : value) as T;
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = scrub(v);
      if (out[k] !== v) changed = true;
    }
    return (changed ? out : value) as T;
  }
  return value;
}

/** The error as callers may see it: no XAPI refs, session ids or URL credentials. */
function scrubbed(e: ApiError): ApiError {
  const detail = scrub(e.detail);
  const xapiError = e.xapi_error && scrub(e.xapi_error);
  const extra = e.extra && scrub(e.extra);
  if (detail === e.detail && xapiError === e.xapi_error && extra === e.extra) return e;
  return new ApiError(e.status, e.code, detail, {
    ...(xapiError ? { xapi_error: xapiError } : {}),
    ...(extra ? { extra } : {}),
  });
}

/** The one mapping of any failure the driver meets to an ApiError, as callers may see it. */
export function toApiError(err: unknown): ApiError {
  return scrubbed(mapError(err));
}

function mapError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof StepFailure) return mapError(err.cause);
  if (err instanceof OperationCancelled)
    return new ApiError(409, 'cancelled', 'the operation was cancelled');
  if (isXapiError(err)) {
    const [status, code, detail, extra] = mapXapi(err.code, err.params);
    return new ApiError(status, code, detail, {
      xapi_error: { code: err.code, params: [...err.params] },
      ...(extra ? { extra } : {}),
    });
  }
  if (isTransportError(err)) {
    const timedOut = err.code === 'ETIMEDOUT';
    return new ApiError(
      timedOut ? 504 : 503,
      timedOut ? 'timeout' : 'xapi_unavailable',
      `XAPI is unreachable: ${err.message}`,
      {
        ...(err.code ? { extra: { transport_error: err.code } } : {}),
      },
    );
  }
  if (err instanceof Error && err.name === 'AbortError')
    return new ApiError(409, 'cancelled', 'the operation was cancelled');
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError(500, 'internal_error', message);
}

/** True when the error says the object is gone (used where "already gone" counts as success). */
export function isGone(err: unknown): boolean {
  return isXapiError(err) && (err.code === 'HANDLE_INVALID' || err.code === 'UUID_INVALID');
}

export function xapiCode(err: unknown): string | undefined {
  return isXapiError(err) ? err.code : undefined;
}
