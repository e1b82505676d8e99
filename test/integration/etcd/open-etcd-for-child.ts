// How a conformance child process opens the parent's etcd store (named by a ChildOpener).
import { EtcdDatastore, type EtcdDatastoreOptions } from '../../../src/datastore/etcd.js';

export async function openEtcdForChild(options: EtcdDatastoreOptions): Promise<EtcdDatastore> {
  return EtcdDatastore.open(options);
}
