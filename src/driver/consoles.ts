// Consoles of an instance: one-time consoles proxied by the service (console-proxy/), XAPI's own
// CONNECT form for admins, the console log and diagnostics. Checks the caller's ownership and
// the instance's power state before handing anything out, and again (by the ticket's instance
// and VM) when a client connects. No HTTP: the HTTP layer hands over the client's stream.
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { XapiClient } from '../xapi';
import {
  ConsoleProxy,
  type ConsoleOrigin,
  type ConsoleProxyOptions,
  type ConsoleStats,
} from './console-proxy/proxy';
import { ApiError, instanceNotFound } from './errors';
import {
  assertXapiConsoleAccess,
  consoleLog,
  rfbConsoleOf,
  xapiConsole,
} from './procedures/console';
import type { OperationRunner } from './runner';
import type { Caller, Schema } from './types';
import { diagnostics } from './views/diagnostics';

export type { ConsoleOrigin, ConsoleProxyOptions, ConsoleStats };
export type ConsoleType = NonNullable<Schema<'Console'>['type']>;

export class Consoles {
  readonly #proxy: ConsoleProxy;

  constructor(
    private readonly xapi: XapiClient,
    private readonly runner: OperationRunner,
    logger: Logger,
    opts: ConsoleProxyOptions = {},
  ) {
    this.#proxy = new ConsoleProxy(
      xapi,
      (t) => {
        const vm = this.runner.vmOf(t.namespace, t.instanceId);
        // the same instance id spawned again is another VM: its consoles are not this one's
        if (vm.uuid !== t.vmUuid) throw instanceNotFound(t.instanceId);
        const rfb = rfbConsoleOf(this.xapi, vm);
        return {
          vmRef: vm.$ref,
          hostRef: rfb.hostRef,
          address: rfb.address,
          consoleUuid: rfb.consoleUuid,
        };
      },
      logger.child({ component: 'console' }),
      opts,
    );
  }

  /** A console of the caller's running instance, in the form asked for. */
  async console(
    caller: Caller,
    id: string,
    type: ConsoleType,
    origin: ConsoleOrigin,
  ): Promise<Schema<'Console'>> {
    if (type === 'xapi') {
      assertXapiConsoleAccess(caller.role);
      return xapiConsole(this.xapi, this.runner.vmOf(caller.namespace, id));
    }
    const vm = this.runner.vmOf(caller.namespace, id);
    if (caller.role === 'viewer')
      throw new ApiError(403, 'forbidden', 'a console takes keyboard and mouse: operators only');
    rfbConsoleOf(this.xapi, vm); // running, with a console: else 409 now rather than on connect
    return (await this.#proxy.issue(
      type,
      { namespace: caller.namespace, instanceId: id, vmUuid: vm.uuid },
      origin,
    )) as Schema<'Console'>;
  }

  /** Spends a tunnel or WebSocket token (404, 409 before the protocol switch); attach() then
   * speaks RFB on the client's stream and relays. */
  claimConsole(token: string, via: 'tunnel' | 'websocket'): { attach(client: Duplex): void } {
    return this.#proxy.claim(token, via);
  }

  /** Whether a console page's token is live (loading the page does not spend it). */
  hasConsolePage(token: string): boolean {
    return this.#proxy.hasPage(token);
  }

  /** Open console connections, optionally of one instance (tests and metrics). */
  openConsoles(instance?: { namespace: string; instanceId: string }): number {
    return this.#proxy.connections(instance);
  }

  consoleStats(): ConsoleStats {
    return this.#proxy.stats();
  }

  log(caller: Caller, id: string): Promise<Schema<'ConsoleLog'>> {
    return consoleLog(this.xapi, this.runner.vmOf(caller.namespace, id));
  }

  diagnostics(caller: Caller, id: string): Schema<'Diagnostics'> {
    return diagnostics(this.xapi.mirror, id, this.runner.vmOf(caller.namespace, id));
  }

  close(): Promise<void> {
    return this.#proxy.close();
  }
}
