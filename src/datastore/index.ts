export * from './types.js';
export * from './errors.js';
export * from './config.js';
export { openDatastore, type OpenDatastoreOptions } from './open.js';
export * from './resources.js';
export { MemoryDatastore, type MemoryDatastoreOptions } from './memory.js';
export { SqliteDatastore, SQLITE_DEFAULTS, type SqliteDatastoreOptions } from './sqlite.js';
export { EtcdDatastore, ETCD_DEFAULTS, type EtcdDatastoreOptions } from './etcd.js';
export { EtcdUnavailableError, type EtcdProblem } from './etcd-errors.js';
export { syncPrefix, reconcile, type SyncerUpdate, type SyncerOptions } from './syncer.js';
export {
  exportDatastore,
  importDatastore,
  parseExport,
  MigrationError,
  MIGRATION_PREFIX,
  type ExportHeader,
  type ExportEntry,
} from './migration.js';
