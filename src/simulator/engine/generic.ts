// The generic messages xapi derives from the datamodel for every class: get_all,
// get_all_records, get_record, get_by_uuid, get_by_name_label, field getters and setters,
// map add_to_/remove_from_, set add_/remove_, create and destroy. Lifecycle rules override any of
// them with defineMessage; this file holds no class-specific semantics.
import { DATAMODEL, XAPI_CLASSES, type XapiClass } from '../../xapi/datamodel.generated';
import { XapiFault } from './fault';
import { defineGenericMessage, type Handler } from './registry';
import type { Rec } from './store';

/**
 * Constructor fields without a default in the datamodel: a `create` struct must carry them
 * (xapi fails the unmarshalling with INTERNAL_ERROR otherwise). Fields not listed here that are
 * RW or RO/constructor are optional; other members of the struct are ignored.
 */
export const CONSTRUCTOR_REQUIRED: Partial<Record<XapiClass, string[]>> = {
  VM: [
    'user_version',
    'is_a_template',
    'affinity',
    'memory_static_max',
    'memory_dynamic_max',
    'memory_dynamic_min',
    'memory_static_min',
    'VCPUs_params',
    'VCPUs_max',
    'VCPUs_at_startup',
    'actions_after_shutdown',
    'actions_after_reboot',
    'actions_after_crash',
    'PV_bootloader',
    'PV_kernel',
    'PV_ramdisk',
    'PV_args',
    'PV_bootloader_args',
    'PV_legacy_args',
    'HVM_boot_policy',
    'HVM_boot_params',
    'platform',
    'PCI_bus',
    'other_config',
    'recommendations',
  ],
  VDI: ['SR', 'virtual_size', 'type', 'sharable', 'read_only', 'other_config'],
  VBD: [
    'VM',
    'VDI',
    'userdevice',
    'bootable',
    'mode',
    'type',
    'empty',
    'other_config',
    'qos_algorithm_type',
    'qos_algorithm_params',
  ],
  VIF: [
    'device',
    'network',
    'VM',
    'MAC',
    'MTU',
    'other_config',
    'qos_algorithm_type',
    'qos_algorithm_params',
  ],
  network: ['other_config'],
  console: ['other_config'],
  SR: ['physical_size', 'type', 'content_type', 'other_config'],
  PBD: ['host', 'SR', 'device_config'],
  blob: ['last_updated', 'mime_type'],
  user: ['short_name', 'fullname'],
};

/** Is `field` of `cls` settable through a constructor struct? */
export function isConstructorField(cls: XapiClass, field: string): boolean {
  const q = DATAMODEL[cls].fields[field]?.[1];
  return q === 'RW' || q === 'RO/constructor';
}

function genericFor(cls: XapiClass, msg: string): Handler | undefined {
  const fields = DATAMODEL[cls].fields;
  const field = (prefix: string): string | undefined => {
    const f = msg.slice(prefix.length);
    return msg.startsWith(prefix) && f in fields ? f : undefined;
  };
  switch (msg) {
    case 'get_all':
      return (ctx) => [...ctx.store.all(cls).keys()];
    case 'get_all_records':
      return (ctx) => {
        const out: Record<string, Rec> = {};
        for (const [ref, rec] of ctx.store.all(cls)) out[ref] = rec;
        return out;
      };
    case 'get_record':
      return (ctx, [self]) => ctx.store.get(cls, self);
    case 'get_by_uuid':
      return (ctx, [uuid]) => {
        const ref = ctx.store.byUuid(cls, uuid);
        if (!ref) throw new XapiFault('UUID_INVALID', [cls, uuid]);
        return ref;
      };
    case 'get_by_name_label':
      return (ctx, [label]) => {
        const out: string[] = [];
        for (const [ref, rec] of ctx.store.all(cls)) if (rec.name_label === label) out.push(ref);
        return out;
      };
    case 'create':
      return (ctx, [args]) => {
        const rec: Rec = {};
        for (const k of Object.keys(args as Rec))
          if (isConstructorField(cls, k)) rec[k] = (args as Rec)[k];
        return ctx.store.create(cls, rec);
      };
    case 'destroy':
      return (ctx, [self]) => {
        ctx.store.destroy(cls, self);
      };
  }
  let f: string | undefined;
  if ((f = field('get_'))) {
    const name = f;
    return (ctx, [self]) => ctx.store.get(cls, self)[name];
  }
  if ((f = field('set_'))) {
    const name = f;
    return (ctx, [self, value]) => {
      ctx.store.update(cls, self, { [name]: value });
    };
  }
  if ((f = field('add_to_'))) {
    const name = f;
    return (ctx, [self, key, value]) => {
      const cur = (ctx.store.get(cls, self)[name] ?? {}) as Rec;
      if (Object.prototype.hasOwnProperty.call(cur, key)) {
        throw new XapiFault('MAP_DUPLICATE_KEY', [cls, name, self, key]);
      }
      ctx.store.update(cls, self, { [name]: { ...cur, [key]: value } });
    };
  }
  if ((f = field('remove_from_'))) {
    const name = f;
    return (ctx, [self, key]) => {
      const cur = (ctx.store.get(cls, self)[name] ?? {}) as Rec;
      const next = { ...cur };
      delete next[key];
      ctx.store.update(cls, self, { [name]: next });
    };
  }
  if ((f = field('add_'))) {
    const name = f;
    return (ctx, [self, value]) => {
      const cur = (ctx.store.get(cls, self)[name] ?? []) as unknown[];
      if (!cur.includes(value)) ctx.store.update(cls, self, { [name]: [...cur, value] });
    };
  }
  if ((f = field('remove_'))) {
    const name = f;
    return (ctx, [self, value]) => {
      const cur = (ctx.store.get(cls, self)[name] ?? []) as unknown[];
      if (cur.includes(value))
        ctx.store.update(cls, self, { [name]: cur.filter((x) => x !== value) });
      else ctx.store.get(cls, self);
    };
  }
  return undefined;
}

/** Register a generic handler for every implicit message of every class. */
export function registerGenericMessages(): void {
  for (const cls of XAPI_CLASSES) {
    const msgs = DATAMODEL[cls].messages;
    for (const msg of Object.keys(msgs)) {
      if (!msgs[msg][2]) continue;
      const h = genericFor(cls, msg);
      if (h) defineGenericMessage(`${cls}.${msg}`, h);
    }
  }
}
