// Sizes as XAPI counts them (bytes, binary multiples) and as the REST contract shows them
// (memory in MiB, disks in GiB to three decimals). Plain arithmetic; no I/O.

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Bytes as the contract's size_gb: GiB to three decimals. */
export function sizeGb(bytes: unknown): number {
  return Math.round((Number(bytes) / GiB) * 1000) / 1000;
}
