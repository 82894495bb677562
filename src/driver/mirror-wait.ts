// Waiting until the mirror shows what XAPI already did (a started VM Running, a destroyed VM
// gone), so an operation reported finished is also visible in reads. Only watches the mirror;
// never calls XAPI. Gives up quietly after the timeout: the mirror catches up on its own.
import type { MirrorView } from '../xapi';

export function waitForMirror(
  mirror: MirrorView,
  check: () => boolean,
  timeoutMs = 5000,
): Promise<boolean> {
  if (check()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const listener = (): void => {
      if (check()) done(true);
    };
    const timer = setTimeout(() => done(check()), timeoutMs);
    function done(ok: boolean): void {
      clearTimeout(timer);
      mirror.off('change', listener);
      resolve(ok);
    }
    mirror.on('change', listener);
  });
}
