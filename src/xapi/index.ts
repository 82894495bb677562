// The public face of src/xapi: the client, its mirror view, errors and the datamodel types.
// Nothing outside src/xapi imports addon.ts; everything the service needs is re-exported here.
export { XapiClient, DEFAULT_MIRROR, type XapiClientOptions } from './client';
export { MirrorView, type MirrorChange, type Where } from './mirror';
export { XapiError, TransportError } from './errors';
export type { XapiClass, RecordTypes } from './datamodel.generated';
