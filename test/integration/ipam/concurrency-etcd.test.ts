// The IPAM concurrency acceptance scenario (see test/unit/ipam/fixtures/concurrency-scenario.ts) on a
// real etcd: the same 8 processes, 4 hosts and /22 as on sqlite, each process with its own etcd client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatastore } from '../../../src/datastore/open.js';
import { EtcdServer } from '../../support/etcd.js';
import { ACCEPTANCE, runIpamConcurrencyScenario } from '../../unit/ipam/fixtures/concurrency-scenario.js';

describe('IPAM under concurrency on etcd', () => {
  let server: EtcdServer;
  before(async () => (server = await EtcdServer.start()));
  after(() => server.close());

  test('8 processes for 4 hosts each assign 200 addresses from one /22 and release half: no address is given twice, each keeps exactly its own, blocks belong to the right hosts, check finds nothing', async () => {
    const config = server.config();
    const outcome = await runIpamConcurrencyScenario(
      { config, open: () => openDatastore(config) },
      ACCEPTANCE,
    );
    assert.equal(outcome.reports.length, 8);
    assert.ok(outcome.blockVersionsSeen >= 1600, `saw ${outcome.blockVersionsSeen} block versions`);
  });
});
