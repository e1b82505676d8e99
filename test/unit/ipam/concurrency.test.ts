import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatastore } from '../../../src/datastore/sqlite.js';
import { ACCEPTANCE, runIpamConcurrencyScenario } from './fixtures/concurrency-scenario.js';

describe('IPAM under concurrency on sqlite', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'calico-ts-ipam-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('8 processes for 4 hosts each assign 200 addresses from one /22 and release half: no address is given twice, each keeps exactly its own, blocks belong to the right hosts, check finds nothing', async () => {
    const path = join(dir, 'store.sqlite');
    const outcome = await runIpamConcurrencyScenario(
      {
        config: { datastoreType: 'sqlite', sqlitePath: path, source: 'test' },
        open: () => SqliteDatastore.open(path),
      },
      ACCEPTANCE,
    );
    assert.equal(outcome.reports.length, 8);
    assert.ok(outcome.blockVersionsSeen >= 1600, `saw ${outcome.blockVersionsSeen} block versions`);
  });
});
