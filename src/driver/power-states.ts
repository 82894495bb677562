// The contract's power states and XAPI's, and the mapping between them: the one table every
// view, filter and procedure uses. Plain data; no I/O.
import type { Schema } from './types';

const NORMALIZED: Record<string, Schema<'PowerState'>> = {
  Running: 'running',
  Paused: 'paused',
  Halted: 'shutdown',
  Suspended: 'suspended',
};
const XAPI_STATE: Record<string, string> = Object.fromEntries(
  Object.entries(NORMALIZED).map(([xapi, contract]) => [contract, xapi]),
);

/** XAPI's power_state as the contract's PowerState ('nostate' for anything else). */
export function normalizePowerState(xapiState: string | undefined): Schema<'PowerState'> {
  return (xapiState && NORMALIZED[xapiState]) || 'nostate';
}

/** The contract's PowerState as XAPI's power_state (undefined for 'nostate'). */
export function xapiPowerState(state: string): string | undefined {
  return XAPI_STATE[state];
}
