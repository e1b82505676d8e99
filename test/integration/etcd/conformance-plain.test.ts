// The datastore conformance suite on a real etcd over plain HTTP without auth.
import { after, before } from 'node:test';
import { runDatastoreConformance } from '../../datastore-conformance/suite.js';
import { EtcdServer } from '../../support/etcd.js';
import { etcdFactory } from './etcd-datastore-subject.js';

let server: EtcdServer | undefined;
before(async () => {
  server = await EtcdServer.start();
});
after(() => server?.close());

runDatastoreConformance('etcd (plain)', {
  sharedAcrossProcesses: true,
  open: () => {
    if (!server) throw new Error('etcd did not start');
    return etcdFactory(server).open();
  },
});
