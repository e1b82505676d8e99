/**
 * `openDatastore`: the library's way in. It resolves configuration as calicoctl does (see
 * config.ts) unless given a complete one, and returns a ready `Datastore`.
 *
 * Each backend is loaded only when it is the one configured, so a process keeps resident the code of
 * one store: the etcd client and its gRPC stack cost ~25 MB, better-sqlite3 and the SQLite backend
 * ~0.5 MB. Loading happens while the store is opened, so a missing backend still fails there.
 */
import { type DatastoreConfig, type ResolveOptions, ConfigError, resolveDatastoreConfig } from './config.js';
import { parseEtcdTimeout } from './etcd-timeout.js';
import type { Datastore } from './types.js';

export type OpenDatastoreOptions = ResolveOptions | DatastoreConfig;

function isConfig(o: OpenDatastoreOptions): o is DatastoreConfig {
  return 'datastoreType' in o;
}

export async function openDatastore(config: OpenDatastoreOptions = {}): Promise<Datastore> {
  const cfg = isConfig(config) ? config : resolveDatastoreConfig(config);
  switch (cfg.datastoreType) {
    case 'memory': {
      const { MemoryDatastore } = await import('./memory.js');
      return new MemoryDatastore();
    }
    case 'sqlite': {
      if (!cfg.sqlitePath)
        throw new ConfigError(`${cfg.source}: sqlite datastore needs a path (SQLITE_PATH)`);
      const { SqliteDatastore } = await import('./sqlite.js');
      return SqliteDatastore.open(cfg.sqlitePath);
    }
    case 'etcdv3': {
      // ETCD_TIMEOUT bounds every etcd call; it is not part of calicoctl.cfg, so it comes from the environment.
      const env = isConfig(config) ? process.env : (config.env ?? process.env);
      const { EtcdDatastore } = await import('./etcd.js');
      return EtcdDatastore.open({
        endpoints: cfg.etcdEndpoints ?? [],
        username: cfg.etcdUsername,
        password: cfg.etcdPassword,
        caFile: cfg.etcdCACertFile,
        certFile: cfg.etcdCertFile,
        keyFile: cfg.etcdKeyFile,
        timeoutMs: env.ETCD_TIMEOUT ? parseEtcdTimeout(env.ETCD_TIMEOUT) : undefined,
      });
    }
    default: {
      const never: never = cfg.datastoreType;
      throw new ConfigError(`unknown datastore type ${String(never)}`);
    }
  }
}
