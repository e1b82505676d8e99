// The package's public face: the library APIs other parts and outside checks call.
export { VERSION } from './version.js';
export * from './selector/index.js';
export * from './datastore/index.js';
export * as bgp from './bgp/index.js';
export * from './api/index.js';
export * from './ipam/index.js';
