/**
 * Opens the datastore for one CNI call. The configuration comes from the network configuration when
 * it names a datastore, else from the environment and calicoctl.cfg exactly as calicoctl resolves it.
 *
 * The SQLite backend is imported on its own and the general `openDatastore` (which loads the etcd
 * client) only for etcd, and calicoctl's configuration resolver only when the network configuration
 * names no datastore: loading the etcd client costs more than a whole SQLite ADD, and every CNI
 * call is a fresh process.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DatastoreConfig } from '../datastore/config.js';
import type { Datastore } from '../datastore/types.js';
import type { DatastoreChoice } from './network-config.js';
import { CniError, CniErrorCode } from './spec.js';

export async function datastoreConfigFor(
  choice: DatastoreChoice,
  env: NodeJS.ProcessEnv,
): Promise<DatastoreConfig> {
  if (choice.kind === 'configured') return choice.config;
  // calicoctl's resolver reads calicoctl.cfg with the YAML library, which costs a good part of a
  // CNI call to load; only calls that name no datastore pay for it.
  const { resolveDatastoreConfig } = await import('../datastore/config.js');
  try {
    return resolveDatastoreConfig({
      env,
      ...(env.CALICOCTL_DEFAULT_CONFIG ? { defaultConfigFile: env.CALICOCTL_DEFAULT_CONFIG } : {}),
    });
  } catch (e) {
    throw new CniError(
      CniErrorCode.InvalidNetworkConfig,
      `datastore configuration: ${(e as Error).message}`,
      'set datastore_type and sqlite_path or etcd_endpoints in the network configuration',
    );
  }
}

export async function openCniDatastore(config: DatastoreConfig): Promise<Datastore> {
  try {
    if (config.datastoreType === 'sqlite' && config.sqlitePath) {
      const { SqliteDatastore } = await import('../datastore/sqlite.js');
      return await SqliteDatastore.open(config.sqlitePath);
    }
    const { openDatastore } = await import('../datastore/open.js');
    return await openDatastore(config);
  } catch (e) {
    throw new CniError(
      CniErrorCode.TryAgainLater,
      `cannot open the ${config.datastoreType} datastore (${config.source}): ${(e as Error).message}`,
      'check the datastore settings and that it is reachable; the runtime may retry',
    );
  }
}

function canonicalPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

const sortedJoin = (list: readonly string[] | undefined) => [...(list ?? [])].sort().join(',');

/**
 * Whether a call's datastore is the one calico-node already has open, so its CNI server can use that
 * handle instead of opening the store per call: the same SQLite file (after symbolic links), or the
 * same etcd cluster reached with the same credentials. A memory store is never the same as another.
 */
export function sameDatastore(
  a: DatastoreConfig,
  b: DatastoreConfig,
  pathOf: (path: string) => string = canonicalPath,
): boolean {
  if (a.datastoreType !== b.datastoreType) return false;
  switch (a.datastoreType) {
    case 'sqlite':
      return !!a.sqlitePath && !!b.sqlitePath && pathOf(a.sqlitePath) === pathOf(b.sqlitePath);
    case 'etcdv3':
      return (
        sortedJoin(a.etcdEndpoints) === sortedJoin(b.etcdEndpoints) &&
        a.etcdUsername === b.etcdUsername &&
        a.etcdPassword === b.etcdPassword &&
        a.etcdCACertFile === b.etcdCACertFile &&
        a.etcdCertFile === b.etcdCertFile &&
        a.etcdKeyFile === b.etcdKeyFile
      );
    case 'memory':
      return false;
    default: {
      const never: never = a.datastoreType;
      throw new Error(`unknown datastore type ${String(never)}`);
    }
  }
}
