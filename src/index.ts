// The package's public face: the library APIs other parts and outside checks call.
export const VERSION = '0.1.0';
export * from './selector/index.js';
export * from './datastore/index.js';
export * as bgp from './bgp/index.js';
