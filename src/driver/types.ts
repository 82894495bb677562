// Names for the REST contract's shapes as the driver uses them, taken from the generated types
// (src/contract/openapi.generated.ts, `npm run gen:openapi`). Must not restate any schema by hand.
import type { components } from '../contract/openapi.generated';

export type Schema<N extends keyof components['schemas']> = components['schemas'][N];

export type Instance = Schema<'Instance'>;
export type Operation = Schema<'Operation'>;
export type OperationKind = Schema<'OperationKind'>;
export type SpawnRequest = Schema<'SpawnRequest'>;
export type InstanceAction = Schema<'InstanceAction'>;
export type Problem = Schema<'Problem'>;

/** Who is calling: every instance belongs to the namespace of the token that created it. */
export interface Caller {
  namespace: string;
  role: 'admin' | 'operator' | 'viewer';
  tokenId: string;
}
