// Placeholder for the VM/storage/network lifecycle rules (owned by the lifecycle engineer, who
// replaces this file): registerSemantics() defines the explicit messages through defineMessage.
// It must not touch the wire or the generic machinery.

export function registerSemantics(): void {
  // no explicit lifecycle messages yet: the generic datamodel messages answer everything
}
