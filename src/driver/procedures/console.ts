// The instance's consoles as XAPI has them: where a running VM's VNC (rfb) console is (its
// record, the host it runs on and that host's address) for the console proxy, XAPI's own
// CONNECT form for admins (host, port and scheme XAPI is reached on, and the path with the
// service's XAPI session id), and the guest's console log read through the host's `console`
// plugin where the host has one. Never opens a console connection itself.
import { inflateSync } from 'node:zlib';
import type { XapiClient } from '../../xapi';
import type { VMRecord } from '../../xapi/datamodel.generated';
import { badPowerState } from './common';
import { ApiError, toApiError } from '../errors';
import type { Caller, Schema } from '../types';
import { NULL_REF } from '../../xapi/ref';

type VmRec = VMRecord & { $ref: string };

/** The VNC console of a running VM: its record, the host it runs on and that host's address.
 * Halted, suspended and paused VMs answer 409 invalid_power_state (expected: running): a paused
 * domain's screen is frozen and takes no input. */
export function rfbConsoleOf(
  xapi: XapiClient,
  vm: VmRec,
): { consoleUuid: string; location: string; hostRef: string; address: string } {
  if (vm.power_state !== 'Running') throw badPowerState(vm.$ref, ['running'], vm.power_state);
  const rfb = (vm.consoles ?? [])
    .map((ref) => xapi.mirror.get('console', ref))
    .find((c) => c?.protocol === 'rfb');
  const host = vm.resident_on !== NULL_REF ? xapi.mirror.get('host', vm.resident_on) : undefined;
  if (!rfb || !rfb.location || !host)
    throw new ApiError(409, 'invalid_power_state', 'the instance has no VNC console yet', {
      extra: { expected_power_states: ['running'], actual_power_state: 'running' },
    });
  return {
    consoleUuid: rfb.uuid,
    location: rfb.location,
    hostRef: vm.resident_on,
    address: host.address || new URL(rfb.location).hostname,
  };
}

/**
 * Who may have XAPI's own CONNECT form. Its path carries the service's own XAPI session, which
 * opens the whole pool (every namespace's VMs, session.logout): admin tokens only; operators get
 * 403 forbidden (and the proxied forms).
 */
export function assertXapiConsoleAccess(role: Caller['role']): void {
  if (role !== 'admin')
    throw new ApiError(
      403,
      'forbidden',
      "the xapi console form carries the service's XAPI session: it is given to admin tokens only",
    );
}

/**
 * XAPI's own console: what a noVNC proxy sends as `CONNECT <path>` to the host the VM runs on.
 * The location xapi writes names no port (`https://<address>/console?...`), yet every host
 * serves /console wherever it serves XAPI: so the scheme and port are the ones this service
 * reaches XAPI with (XapiClient.hostTransport), the location's own only when it names a port.
 */
export function xapiConsole(xapi: XapiClient, vm: VmRec): Schema<'ConsoleXapi'> {
  const rfb = rfbConsoleOf(xapi, vm);
  const url = new URL(rfb.location);
  const via = xapi.hostTransport();
  const tls = url.port ? url.protocol === 'https:' : via.tls;
  const port = url.port ? Number(url.port) : via.port;
  const query = new URLSearchParams(url.search);
  query.set('session_id', xapi.sessionRef);
  return {
    type: 'xapi',
    protocol: 'vnc',
    host: url.hostname,
    port,
    path: `${url.pathname}?${query.toString()}`,
    url: rfb.location,
    tls,
    console_uuid: rfb.consoleUuid,
  };
}

/** Decodes the plugin's answer: base64 of zlib-compressed text (Nova's format), else plain text. */
function decodeLog(raw: string): string {
  try {
    return inflateSync(Buffer.from(raw, 'base64')).toString('utf8');
  } catch {
    return raw;
  }
}

export async function consoleLog(xapi: XapiClient, vm: VmRec): Promise<Schema<'ConsoleLog'>> {
  const unavailable = (why: string): ApiError =>
    new ApiError(404, 'console_not_available', `no console log: ${why}`);
  if (vm.power_state !== 'Running' && vm.power_state !== 'Paused')
    throw unavailable(`the instance is ${vm.power_state.toLowerCase()}`);
  if (!vm.resident_on || vm.resident_on === NULL_REF)
    throw unavailable('the instance runs on no host');
  let raw: string;
  try {
    raw = await xapi.call<string>(
      'host.call_plugin',
      vm.resident_on,
      'console',
      'get_console_log',
      { dom_id: String(vm.domid) },
    );
  } catch (err) {
    const e = toApiError(err);
    if (e.status >= 500 && e.code !== 'xapi_error') throw e; // XAPI unreachable: say so
    throw unavailable(`the host cannot read it (${e.xapi_error?.code ?? e.code})`);
  }
  return { text: decodeLog(String(raw ?? '')) };
}
