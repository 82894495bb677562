// The VM, storage, network and host semantics of the simulator: registerSemantics() defines
// every lifecycle message through the registry (one register function per class family). It
// touches neither the wire nor the generic machinery, and holds no rules itself.
import { registerHostMessages } from './host';
import { registerNetwork } from './network';
import { registerStorageMessages } from './storage';
import { registerVmPowerMessages } from './vm';
import { registerVmCopyMessages } from './vm-copy';
import { registerVmSettingsMessages } from './vm-settings';

export function registerSemantics(): void {
  registerHostMessages();
  registerStorageMessages();
  registerNetwork();
  registerVmPowerMessages();
  registerVmCopyMessages();
  registerVmSettingsMessages();
}
