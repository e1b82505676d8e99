export * from './types.js';
export * from './errors.js';
export * from './config.js';
export { openDatastore, type OpenDatastoreOptions } from './open.js';
export * from './resources.js';
export { MemoryDatastore, type MemoryDatastoreOptions } from './memory.js';
export { SqliteDatastore, SQLITE_DEFAULTS, type SqliteDatastoreOptions } from './sqlite.js';
