/**
 * Wraps a running test etcd as a conformance-suite subject: each test gets fresh connections to the
 * one server (tests work under their own random key roots), and compaction goes through a root
 * connection because etcd reserves it for the root role when auth is on.
 */
import type { DatastoreFactory } from '../../datastore-conformance/suite.js';
import { EtcdDatastore, type EtcdDatastoreOptions } from '../../../src/datastore/etcd.js';
import { ROOT_PASSWORD, type EtcdServer } from '../../support/etcd.js';

export function etcdOptions(
  server: EtcdServer,
  user?: { name: string; password: string },
): EtcdDatastoreOptions {
  const tls = server.tls;
  return {
    endpoints: [server.endpoint],
    ...(tls ? { caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile } : {}),
    ...(user ? { username: user.name, password: user.password } : {}),
  };
}

export function etcdFactory(server: EtcdServer, user?: { name: string; password: string }): DatastoreFactory {
  const options = etcdOptions(server, user);
  return {
    sharedAcrossProcesses: true,
    async open() {
      const datastore = await EtcdDatastore.open(options);
      const others: EtcdDatastore[] = [];
      return {
        datastore,
        async compact(revision) {
          const admin = await EtcdDatastore.open(
            etcdOptions(server, server.users ? { name: 'root', password: ROOT_PASSWORD } : undefined),
          );
          try {
            await admin.compact(revision);
          } finally {
            await admin.close();
          }
        },
        async openAnotherHandle() {
          const other = await EtcdDatastore.open(options);
          others.push(other);
          return other;
        },
        childOpener: {
          moduleUrl: new URL('./open-etcd-for-child.ts', import.meta.url).href,
          exportName: 'openEtcdForChild',
          argument: options,
        },
        async dispose() {
          await Promise.all([datastore, ...others].map((store) => store.close()));
        },
      };
    },
  };
}
