// Consoles of an instance: the VNC console (admins only while it carries the service's XAPI
// session), the console log and diagnostics. Reads only: no operation, no change to the pool.
// What each reads in XAPI lives in procedures/console.ts and views/diagnostics.ts. No HTTP.
import type { XapiClient } from '../xapi';
import { assertConsoleAccess, consoleLog, vncConsole } from './procedures/console';
import type { OperationRunner } from './runner';
import type { Caller, Schema } from './types';
import { diagnostics } from './views/diagnostics';

export class Consoles {
  constructor(
    private readonly xapi: XapiClient,
    private readonly runner: OperationRunner,
  ) {}

  console(caller: Caller, id: string): Schema<'Console'> {
    assertConsoleAccess(caller.role);
    return vncConsole(this.xapi, this.runner.vmOf(caller.namespace, id));
  }

  log(caller: Caller, id: string): Promise<Schema<'ConsoleLog'>> {
    return consoleLog(this.xapi, this.runner.vmOf(caller.namespace, id));
  }

  diagnostics(caller: Caller, id: string): Schema<'Diagnostics'> {
    return diagnostics(this.xapi.mirror, id, this.runner.vmOf(caller.namespace, id));
  }
}
