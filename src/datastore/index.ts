export * from './types.js';
export * from './errors.js';
export * from './config.js';
export { openDatastore, type OpenDatastoreOptions } from './open.js';
export * from './resources.js';
