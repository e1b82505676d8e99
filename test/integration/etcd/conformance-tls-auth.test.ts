// The datastore conformance suite on a real etcd over TLS with client certificates and password auth.
import { after, before } from 'node:test';
import { runDatastoreConformance } from '../../datastore-conformance/suite.js';
import { EtcdServer, STANDARD_USERS } from '../../support/etcd.js';
import { etcdFactory } from './etcd-datastore-subject.js';

let server: EtcdServer | undefined;
before(async () => {
  server = await EtcdServer.start({ tls: true, users: STANDARD_USERS });
});
after(() => server?.close());

runDatastoreConformance('etcd (TLS + auth)', {
  sharedAcrossProcesses: true,
  open: () => {
    if (!server) throw new Error('etcd did not start');
    return etcdFactory(server, { name: 'calico', password: 'calico-secret' }).open();
  },
});
