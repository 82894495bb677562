// Waiting until the mirror shows what XAPI already did (a started VM Running, a destroyed VM
// gone), so an operation reported finished is also visible in reads. One change listener per
// mirror serves every waiter, checking once a batch reached every other listener. Only watches
// the mirror, never calls XAPI; gives up quietly after the timeout (resolving false).
import type { MirrorView } from '../xapi';

interface Waiter {
  check: () => boolean;
  done: (ok: boolean) => void;
}

const waitersOf = new WeakMap<MirrorView, Set<Waiter>>();

function waiters(mirror: MirrorView): Set<Waiter> {
  const existing = waitersOf.get(mirror);
  if (existing) return existing;
  const created = new Set<Waiter>();
  waitersOf.set(mirror, created);
  // Checks run after every other listener of the batch (the instance index among them).
  const listener = (): void => queueMicrotask(run);
  const run = (): void => {
    for (const w of [...created]) {
      let ok: boolean;
      try {
        ok = w.check();
      } catch {
        ok = false;
      }
      if (ok) w.done(true);
    }
    if (created.size === 0) {
      mirror.off('change', listener);
      waitersOf.delete(mirror);
    }
  };
  mirror.on('change', listener);
  return created;
}

export function waitForMirror(
  mirror: MirrorView,
  check: () => boolean,
  timeoutMs = 5000,
): Promise<boolean> {
  if (check()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const set = waiters(mirror);
    const waiter: Waiter = {
      check,
      done: (ok) => {
        clearTimeout(timer);
        set.delete(waiter);
        resolve(ok);
      },
    };
    const timer = setTimeout(() => waiter.done(check()), timeoutMs);
    set.add(waiter);
  });
}
