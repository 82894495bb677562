// The instance's consoles: the VNC (rfb) console record from the mirror turned into what a noVNC
// proxy needs (host, the port and scheme XAPI is reached on, and the path it sends as CONNECT,
// with the service's XAPI session id: admins only), and the guest's console log read through the
// host's `console` plugin where the host has one. Never opens the console connection itself.
import { inflateSync } from 'node:zlib';
import type { XapiClient } from '../../xapi';
import type { VMRecord } from '../../xapi/datamodel.generated';
import { badPowerState } from './common';
import { ApiError, toApiError } from '../errors';
import type { Caller, Schema } from '../types';
import { NULL_REF } from '../../xapi/ref';

type VmRec = VMRecord & { $ref: string };

/**
 * How to reach the host's console handler. The location xapi writes names no port
 * (`https://<address>/console?...`), yet every host serves /console wherever it serves XAPI:
 * over HTTP on 80 (what Nova's XenAPI driver used) and over TLS on 443. So the scheme and port
 * are the ones this service reaches XAPI with; the location's own (or https on 443) only when
 * it names a port or XAPI is reached through a Unix socket.
 */
function consoleTransport(xapi: XapiClient, location: URL): { tls: boolean; port: number } {
  const via = /^https?:\/\//.test(xapi.connection.masterUrl)
    ? new URL(xapi.connection.masterUrl)
    : undefined;
  const from = location.port || !via ? location : via;
  const tls = from.protocol === 'https:';
  return { tls, port: from.port ? Number(from.port) : tls ? 443 : 80 };
}

/**
 * Who may have the CONNECT form. Its path carries the service's own XAPI session, which opens the
 * whole pool (every namespace's VMs, session.logout), so until a console proxy hands out
 * per-console access it goes to admin tokens only: operators and viewers get 403 forbidden.
 */
export function assertConsoleAccess(role: Caller['role']): void {
  if (role !== 'admin')
    throw new ApiError(
      403,
      'forbidden',
      'the VNC console answer carries the service XAPI session: it is given to admin tokens only',
    );
}

export function vncConsole(xapi: XapiClient, vm: VmRec): Schema<'Console'> {
  if (vm.power_state !== 'Running' && vm.power_state !== 'Paused')
    throw badPowerState(vm.$ref, ['running', 'paused'], vm.power_state);
  const rfb = (vm.consoles ?? [])
    .map((ref) => xapi.mirror.get('console', ref))
    .find((c) => c?.protocol === 'rfb');
  if (!rfb || !rfb.location)
    throw new ApiError(409, 'invalid_power_state', 'the instance has no VNC console yet', {
      extra: {
        expected_power_states: ['running'],
        actual_power_state: vm.power_state.toLowerCase(),
      },
    });
  const url = new URL(rfb.location);
  const { tls, port } = consoleTransport(xapi, url);
  const query = new URLSearchParams(url.search);
  query.set('session_id', xapi.sessionRef);
  return {
    protocol: 'vnc',
    host: url.hostname,
    port,
    path: `${url.pathname}?${query.toString()}`,
    url: rfb.location,
    tls,
    console_uuid: rfb.uuid,
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
