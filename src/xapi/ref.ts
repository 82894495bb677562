// XAPI references: the null ref xapi writes in a reference field that points nowhere. Plain
// constants and predicates; no I/O.

/** The reference xapi uses for "no object" in a ref field (VM.resident_on of a halted VM ...). */
export const NULL_REF = 'OpaqueRef:NULL';

/** Does a ref field point at an object? */
export function isRef(ref: string | undefined | null): ref is string {
  return typeof ref === 'string' && ref !== '' && ref !== NULL_REF;
}
