/**
 * How each part of a lab reaches the lab's one datastore, SQLite file or throwaway etcd: the lab's
 * own commands (in the root namespace) open it from the state file; calico-node and calicoctl
 * (inside a host's namespace) get it through the environment, as Calico's programs do. etcd is
 * reached at a different address from each side (see etcd.ts), which is why this is a function of
 * where the caller runs.
 */
import type { DatastoreConfig } from '../datastore/config.js';
import { openDatastore } from '../datastore/open.js';
import type { Datastore } from '../datastore/types.js';
import { hostEtcdEndpoints } from './etcd.js';
import type { LabScenario } from './scenario.js';
import type { LabState } from './state.js';

/** The configuration for the root namespace: the SQLite file, or etcd through its root link. */
export function labDatastoreConfig(state: LabState): DatastoreConfig {
  const d = state.datastore;
  switch (d.type) {
    case 'sqlite':
      return { datastoreType: 'sqlite', sqlitePath: d.path, source: `lab ${state.lab}` };
    case 'etcdv3':
      return { datastoreType: 'etcdv3', etcdEndpoints: [...d.endpoints], source: `lab ${state.lab}` };
    default: {
      const never: never = d;
      throw new Error(`lab ${state.lab}: unknown datastore ${JSON.stringify(never)}`);
    }
  }
}

export function openLabDatastore(state: LabState): Promise<Datastore> {
  return openDatastore(labDatastoreConfig(state));
}

/** The environment for one of our programs running inside `host`'s namespace. */
export function hostDatastoreEnv(
  state: LabState,
  scenario: LabScenario,
  host: string,
): Record<string, string> {
  const d = state.datastore;
  switch (d.type) {
    case 'sqlite':
      return { DATASTORE_TYPE: 'sqlite', SQLITE_PATH: d.path };
    case 'etcdv3':
      return { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: hostEtcdEndpoints(scenario, host).join(',') };
    default: {
      const never: never = d;
      throw new Error(`lab ${state.lab}: unknown datastore ${JSON.stringify(never)}`);
    }
  }
}
