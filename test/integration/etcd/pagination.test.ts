// Listing through pages: large prefixes arrive complete, in byte order, and as one snapshot.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import etcd3 from 'etcd3';
import { EtcdDatastore } from '../../../src/datastore/etcd.js';
import { EtcdServer } from '../../support/etcd.js';
import { etcdOptions } from './etcd-datastore-subject.js';

let server: EtcdServer;
before(async () => {
  server = await EtcdServer.start();
});
after(() => server?.close());

describe('listing in pages', () => {
  test('100,000 keys list completely and in key order, 1,000 keys a page', async () => {
    const root = '/pages/big/';
    const total = 100_000;
    // Loaded with the raw client, 128 puts a transaction (etcd's default limit), to keep set-up short.
    const raw = new etcd3.Etcd3({ hosts: server.endpoint });
    try {
      for (let start = 0; start < total; start += 128) {
        const puts = [];
        for (let i = start; i < Math.min(total, start + 128); i++)
          puts.push({ request_put: { key: Buffer.from(`${root}${i}`), value: Buffer.from(`{"n":${i}}`) } });
        await raw.kv.txn({ success: puts });
      }
    } finally {
      raw.close();
    }
    const store = await EtcdDatastore.open(etcdOptions(server));
    try {
      const listed = await store.list(root);
      assert.equal(listed.items.length, total);
      const expectedOrder = Array.from({ length: total }, (_, i) => `${root}${i}`).sort();
      assert.deepEqual(
        listed.items.map((kv) => kv.key),
        expectedOrder,
      );
      for (const kv of listed.items) assert.equal(kv.value, `{"n":${kv.key.slice(root.length)}}`);
    } finally {
      await store.close();
    }
  });

  test('a listing is one snapshot even while other clients write between its pages', async () => {
    const root = '/pages/snapshot/';
    const writer = await EtcdDatastore.open(etcdOptions(server));
    const lister = await EtcdDatastore.open({ ...etcdOptions(server), pageSize: 3 });
    try {
      const original = [];
      for (let i = 0; i < 60; i++)
        original.push(await writer.create(`${root}k${String(i).padStart(2, '0')}`, `v${i}`));
      // Churn while the 20-page listing runs: delete old keys, create new ones, update others.
      let churning = true;
      const changes: Array<{ key: string; revision: number; what: 'created' | 'deleted' | 'updated' }> = [];
      const churn = (async () => {
        for (let i = 0; churning && i < 60; i++) {
          const deleted = await writer.delete(`${root}k${String(i).padStart(2, '0')}`);
          changes.push({ key: deleted.key, revision: await writer.currentRevision(), what: 'deleted' });
          const created = await writer.create(`${root}new${String(i).padStart(2, '0')}`, 'new');
          changes.push({ key: created.key, revision: created.revision, what: 'created' });
        }
      })();
      const listed = await lister.list(root);
      churning = false;
      await churn;
      const expected = new Map(original.map((kv) => [kv.key, kv]));
      for (const change of changes) {
        if (change.revision > listed.revision) continue;
        if (change.what === 'deleted') expected.delete(change.key);
        else expected.set(change.key, { key: change.key, value: 'new', revision: change.revision });
      }
      assert.ok(
        changes.some((c) => c.revision > listed.revision),
        'some writes landed after the first page',
      );
      assert.deepEqual(
        listed.items,
        [...expected.values()].sort((a, b) => (a.key < b.key ? -1 : 1)),
      );
    } finally {
      await writer.close();
      await lister.close();
    }
  });

  test('a compaction between two pages makes the listing start again, and it still returns one snapshot', async () => {
    const root = '/pages/compacted/';
    const other = await EtcdDatastore.open(etcdOptions(server));
    const lister = await EtcdDatastore.open({ ...etcdOptions(server), pageSize: 4 });
    try {
      for (let i = 0; i < 10; i++) await other.create(`${root}k${i}`, `${i}`);
      // After the first page, another client writes and compacts away the revision the list reads at.
      const kv = lister.connection.kv;
      const range = kv.range.bind(kv);
      let pages = 0;
      let compacted = false;
      kv.range = async (request, options) => {
        const response = await range(request, options);
        if (request.limit !== undefined && ++pages === 1) {
          await other.create(`${root}late`, 'late');
          await other.compact(await other.currentRevision());
          compacted = true;
        }
        return response;
      };
      const listed = await lister.list(root);
      assert.ok(compacted);
      assert.ok(pages > 3, `the listing started again (${pages} pages read)`);
      assert.deepEqual(listed.items, (await other.list(root)).items);
      assert.ok(listed.items.some((item) => item.key === `${root}late`));
    } finally {
      await other.close();
      await lister.close();
    }
  });
});
