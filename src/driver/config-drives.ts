// The config drive of an instance, rebuilt with new user data and metadata as an operation
// through the runner (checked against the mirror first: power state, the drive's presence).
// What it does in XAPI lives in procedures/config-drive.ts. No HTTP.
import type { XapiClient } from '../xapi';
import { isConfigDrive, requireDriveWritable, updateConfigDrive } from './procedures/config-drive';
import type { OperationRunner } from './runner';
import type { Caller, Operation, Schema } from './types';

export class ConfigDrives {
  constructor(
    private readonly xapi: XapiClient,
    private readonly runner: OperationRunner,
  ) {}

  update(caller: Caller, id: string, body: Schema<'ConfigDriveRequest'>): Operation {
    const { runner } = this;
    runner.assertMutator(caller);
    const { mirror } = this.xapi;
    const precheck: Parameters<OperationRunner['onInstance']>[2]['precheck'] = (vm) =>
      requireDriveWritable(
        vm.$ref,
        vm.power_state,
        vm.VBDs.some((r) => {
          const vbd = mirror.get('VBD', r);
          return vbd !== undefined && isConfigDrive(vbd);
        }),
      );
    return runner.onInstance(caller, id, { kind: 'update-config-drive', args: {}, precheck }, (r) =>
      updateConfigDrive(this.xapi, body, r),
    );
  }
}
