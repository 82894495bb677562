// VM consoles: a console record (protocol rfb, location on the VM's host) exists while the VM
// has a domain; it is created on start/resume, moved on migration and removed on halt/suspend.
// It must not change power states: vm.ts calls it on each transition.
import { linkRef } from './vm-lifecycle';
import type { Store } from '../engine/store';

function locationFor(store: Store, hostRef: string, consoleUuid: string): string {
  const host = store.find('host', hostRef);
  const address = host ? String(host.address) : '127.0.0.1';
  return `https://${address}/console?uuid=${consoleUuid}`;
}

export function createConsole(store: Store, vmRef: string, hostRef: string): string {
  const ref = store.create('console', {
    protocol: 'rfb',
    VM: vmRef,
    other_config: { vgaconsole: 'true' },
  });
  const uuid = store.get('console', ref).uuid as string;
  store.update('console', ref, { location: locationFor(store, hostRef, uuid) });
  linkRef(store, 'VM', vmRef, 'consoles', ref);
  return ref;
}

export function destroyConsoles(store: Store, vmRef: string): void {
  const vmRec = store.find('VM', vmRef);
  if (!vmRec) return;
  for (const ref of vmRec.consoles as string[])
    if (store.has('console', ref)) store.destroy('console', ref);
  store.update('VM', vmRef, { consoles: [] });
}

export function moveConsoles(store: Store, vmRef: string, hostRef: string): void {
  const vmRec = store.get('VM', vmRef);
  for (const ref of vmRec.consoles as string[]) {
    const rec = store.find('console', ref);
    if (rec)
      store.update('console', ref, { location: locationFor(store, hostRef, rec.uuid as string) });
  }
}
