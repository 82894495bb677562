// The object store and the registry contract the lifecycle rules build on: defaults from the
// datamodel, HANDLE_INVALID, change notifications with generations, uuid lookup, rekey on
// restart, and explicit messages overriding the generic ones.
import { Store, XapiFault, defineMessage } from '../../../src/simulator';
import { registerGenericMessages } from '../../../src/simulator/engine/generic';
import { defineGenericMessage, lookupMessage } from '../../../src/simulator/engine/registry';
import { recordVersion } from '../../../src/simulator/engine/store';

describe('Store', () => {
  it('creates records with every datamodel field, defaults filled and a fresh uuid', () => {
    const s = new Store();
    const ref = s.create('network', { name_label: 'n1' });
    expect(ref).toMatch(/^OpaqueRef:[0-9a-f-]{36}$/);
    const rec = s.get('network', ref);
    expect(rec.name_label).toBe('n1');
    expect(rec.MTU).toBe(1500);
    expect(rec.other_config).toEqual({});
    expect(rec.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.byUuid('network', rec.uuid as string)).toBe(ref);
    expect(s.count('network')).toBe(1);
    expect(() => s.create('network', { no_such_field: 1 })).toThrow(/no field/);
  });

  it('does not share default maps between records', () => {
    const s = new Store();
    const a = s.get('network', s.create('network'));
    const b = s.get('network', s.create('network'));
    expect(a.other_config).not.toBe(b.other_config);
  });

  it('throws HANDLE_INVALID [cls, ref] for a missing record', () => {
    const s = new Store();
    expect(s.find('VM', 'OpaqueRef:x')).toBeUndefined();
    try {
      s.get('VM', 'OpaqueRef:x');
      throw new Error('no throw');
    } catch (e) {
      expect(e).toBeInstanceOf(XapiFault);
      expect((e as XapiFault).toErrorDescription()).toEqual([
        'HANDLE_INVALID',
        'VM',
        'OpaqueRef:x',
      ]);
    }
    expect(() => s.destroy('VM', 'OpaqueRef:x')).toThrow(XapiFault);
  });

  it('notifies add/mod/del with increasing generations and bumps record versions', () => {
    const s = new Store();
    const seen: string[] = [];
    const off = s.onChange((c) => seen.push(`${c.gen}:${c.op}:${c.cls}`));
    const ref = s.create('pool');
    const rec = s.get('pool', ref);
    const v0 = recordVersion(rec);
    s.update('pool', ref, { name_label: 'p' });
    expect(recordVersion(rec)).toBe(v0 + 1);
    s.destroy('pool', ref);
    off();
    s.create('pool');
    expect(seen).toEqual(['1:add:pool', '2:mod:pool', '3:del:pool']);
    expect(s.generation).toBe(4);
  });

  it('rekeys every ref, including refs held in fields, keeping uuids; drops sessions', () => {
    const s = new Store();
    const host = s.create('host', { name_label: 'h' });
    const pool = s.create('pool', { master: host, other_config: { [host]: host } });
    s.create('session', { this_host: host });
    const hostUuid = s.get('host', host).uuid as string;
    const map = s.rekey();
    const nhost = map.get(host)!;
    expect(nhost).not.toBe(host);
    expect(s.byUuid('host', hostUuid)).toBe(nhost);
    const npool = s.get('pool', map.get(pool)!);
    expect(npool.master).toBe(nhost);
    expect(npool.other_config).toEqual({ [nhost]: nhost });
    expect(s.count('session')).toBe(0);
  });
});

describe('registry', () => {
  it('lets an explicit definition override the generic one, and needs a signature for unknown names', () => {
    registerGenericMessages();
    const generic = lookupMessage('VM_guest_metrics.get_os_version');
    expect(generic?.explicit).toBe(false);
    defineGenericMessage('VM_guest_metrics.get_os_version', () => 'generic');
    defineMessage('VM_guest_metrics.get_os_version', () => 'explicit');
    const e = lookupMessage('VM_guest_metrics.get_os_version')!;
    expect(e.explicit).toBe(true);
    expect(e.def[1]).toBe('(string -> string) map');
    expect(() => defineMessage('VM.no_such_message', () => 1)).toThrow(/signature/);
  });
});
