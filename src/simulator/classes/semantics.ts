// The VM, storage, network and host semantics of the simulator: registerSemantics() defines
// every lifecycle message through the registry (one register function per class family), plus
// the declared-but-plain field messages (VM.add_to_other_config, VDI.set_name_label ...) that
// xapi implements as simple writes. It touches neither the wire nor the generic machinery.
import { DATAMODEL, type XapiClass } from '../../xapi/datamodel.generated';
import { XapiFault } from '../engine/fault';
import { registerHostMessages } from './host';
import { registerHostMaintenanceMessages } from './host-maintenance';
import { registerNetwork } from './network';
import { defineMessage, lookupMessage } from '../engine/registry';
import { registerSecretMessages } from './secret';
import { registerStorageMessages } from './storage';
import { registerVmPowerMessages } from './vm';
import { registerVmCopyMessages } from './vm-copy';
import { updateAllowedOperations } from './vm-lifecycle';
import { registerVmSettingsMessages } from './vm-settings';
import { registerVmSnapshotMessages } from './vm-snapshot';
import type { Rec } from '../engine/store';

const PLAIN_CLASSES: XapiClass[] = [
  'VM',
  'VDI',
  'VBD',
  'VIF',
  'SR',
  'PBD',
  'network',
  'PIF',
  'host',
  'pool',
];

/**
 * Non-implicit set_X / add_to_X / remove_from_X / add_X / remove_X messages of the datamodel
 * that nothing else defines: xapi's implementations are plain writes (after validation the
 * simulator does not model). VM writes recompute allowed_operations (platform, blocked ops).
 */
function registerPlainFieldMessages(): void {
  for (const cls of PLAIN_CLASSES) {
    const { fields, messages } = DATAMODEL[cls];
    for (const msg of Object.keys(messages)) {
      const name = `${cls}.${msg}`;
      if (lookupMessage(name)) continue;
      const after = (ctx: { store: import('../engine/store').Store }, ref: string): void => {
        if (cls === 'VM') updateAllowedOperations(ctx.store, ref);
      };
      const m = /^(set_|add_to_|remove_from_|add_|remove_)(.+)$/.exec(msg);
      if (!m || !(m[2] in fields)) continue;
      const field = m[2];
      const isMap = fields[field][0].endsWith(' map');
      const isSet = fields[field][0].endsWith(' set');
      switch (m[1]) {
        case 'set_':
          defineMessage(name, (ctx, [ref, value]) => {
            ctx.store.update(cls, ref, { [field]: value });
            after(ctx, ref);
          });
          break;
        case 'add_to_':
          if (!isMap) break;
          defineMessage(name, (ctx, [ref, key, value]) => {
            const cur = ctx.store.get(cls, ref)[field] as Rec;
            if (Object.prototype.hasOwnProperty.call(cur, key))
              throw new XapiFault('MAP_DUPLICATE_KEY', [cls, field, ref, key]);
            ctx.store.update(cls, ref, { [field]: { ...cur, [key]: value } });
            after(ctx, ref);
          });
          break;
        case 'remove_from_':
          if (!isMap) break;
          defineMessage(name, (ctx, [ref, key]) => {
            const cur = { ...(ctx.store.get(cls, ref)[field] as Rec) };
            delete cur[key];
            ctx.store.update(cls, ref, { [field]: cur });
            after(ctx, ref);
          });
          break;
        case 'add_':
          if (!isSet) break;
          defineMessage(name, (ctx, [ref, value]) => {
            const cur = ctx.store.get(cls, ref)[field] as unknown[];
            if (!cur.includes(value)) ctx.store.update(cls, ref, { [field]: [...cur, value] });
            after(ctx, ref);
          });
          break;
        case 'remove_':
          if (!isSet) break;
          defineMessage(name, (ctx, [ref, value]) => {
            const cur = ctx.store.get(cls, ref)[field] as unknown[];
            ctx.store.update(cls, ref, { [field]: cur.filter((v) => v !== value) });
            after(ctx, ref);
          });
          break;
      }
    }
  }
}

export function registerSemantics(): void {
  registerHostMessages();
  registerHostMaintenanceMessages();
  registerStorageMessages();
  registerSecretMessages();
  registerNetwork();
  registerVmPowerMessages();
  registerVmCopyMessages();
  registerVmSettingsMessages();
  registerVmSnapshotMessages();
  registerPlainFieldMessages();
}
