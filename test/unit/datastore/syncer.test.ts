import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryDatastore } from '../../../src/datastore/memory.js';
import { reconcile, syncPrefix, type SyncerUpdate } from '../../../src/datastore/syncer.js';
import type { KVPair } from '../../../src/datastore/types.js';

const kv = (key: string, value: string, revision: number): KVPair => ({ key, value, revision });

/** `added /a r3`, `modified /a r5 (was r3)`, `deleted /a (was r5)`, `in-sync`. */
function describeUpdate(update: SyncerUpdate): string {
  switch (update.type) {
    case 'added':
      return `added ${update.kv.key}=${update.kv.value}`;
    case 'modified':
      return `modified ${update.kv.key}=${update.kv.value} (was ${update.prev.value})`;
    case 'deleted':
      return `deleted ${update.key} (was ${update.prev.value})`;
    case 'in-sync':
      return 'in-sync';
    case 'resyncing':
      return 'resyncing';
    default: {
      const never: never = update;
      return `unknown ${JSON.stringify(never)}`;
    }
  }
}

async function take(
  iterator: AsyncIterator<SyncerUpdate>,
  until: (update: SyncerUpdate) => boolean,
): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const result = await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`stalled after ${seen}`)), 5_000)),
    ]);
    if (result.done) throw new Error(`syncer ended after ${seen}`);
    seen.push(describeUpdate(result.value));
    if (until(result.value)) return seen;
  }
}

describe('reconcile: the updates that turn what the consumer knows into a new listing', () => {
  const cases: ReadonlyArray<{ name: string; known: KVPair[]; listed: KVPair[]; expected: string[] }> = [
    {
      name: 'nothing known: everything is added',
      known: [],
      listed: [kv('/a', '1', 2)],
      expected: ['added /a=1'],
    },
    { name: 'identical: nothing', known: [kv('/a', '1', 2)], listed: [kv('/a', '1', 2)], expected: [] },
    {
      name: 'a new revision: modified',
      known: [kv('/a', '1', 2)],
      listed: [kv('/a', '2', 7)],
      expected: ['modified /a=2 (was 1)'],
    },
    {
      name: 'rewritten with the same value: modified (the revision moved)',
      known: [kv('/a', '1', 2)],
      listed: [kv('/a', '1', 9)],
      expected: ['modified /a=1 (was 1)'],
    },
    { name: 'gone: deleted', known: [kv('/a', '1', 2)], listed: [], expected: ['deleted /a (was 1)'] },
    {
      name: 'mixed: adds and modifies in key order, then deletes in key order',
      known: [kv('/b', 'b', 1), kv('/d', 'd', 2), kv('/a', 'a', 3)],
      listed: [kv('/a', 'a', 3), kv('/c', 'c', 8), kv('/d', 'd2', 9)],
      expected: ['added /c=c', 'modified /d=d2 (was d)', 'deleted /b (was b)'],
    },
  ];
  for (const { name, known, listed, expected } of cases) {
    test(name, () => {
      const view = new Map(known.map((k) => [k.key, k]));
      assert.deepEqual(reconcile(view, listed).map(describeUpdate), expected);
      assert.deepEqual(
        [...view.values()].sort((x, y) => (x.key < y.key ? -1 : 1)),
        listed,
      );
    });
  }
});

describe('syncPrefix over the memory datastore', () => {
  test('lists first, says in-sync, then passes live changes through with the previous value', async () => {
    const store = new MemoryDatastore();
    await store.create('/p/a', 'a1');
    await store.create('/other', 'x');
    const controller = new AbortController();
    const syncer = syncPrefix(store, '/p/', { signal: controller.signal });
    assert.deepEqual(await take(syncer, (u) => u.type === 'in-sync'), ['added /p/a=a1', 'in-sync']);
    await store.update('/p/a', 'a2');
    await store.create('/p/b', 'b1');
    await store.delete('/p/a');
    assert.deepEqual(await take(syncer, (u) => u.type === 'deleted'), [
      'modified /p/a=a2 (was a1)',
      'added /p/b=b1',
      'deleted /p/a (was a2)',
    ]);
    controller.abort();
    assert.equal((await syncer.next()).done, true);
  });

  test('after a watcher falls behind, re-lists and emits exactly the differences', async () => {
    // A buffer of 3 events: the changes below overflow it while the consumer is not reading.
    const store = new MemoryDatastore({ watchBufferLimit: 3 });
    await store.create('/p/a', 'a1');
    await store.create('/p/b', 'b1');
    await store.create('/p/e', 'e1');
    await store.create('/p/same', 's');
    const syncer = syncPrefix(store, '/p/');
    await take(syncer, (u) => u.type === 'in-sync');
    // The generator is paused at its last yield; this first next() starts its watch.
    const pending = syncer.next();
    await store.create('/p/c', 'c1');
    await store.update('/p/a', 'a2');
    await store.delete('/p/b');
    await store.create('/p/d', 'short-lived');
    await store.delete('/p/d');
    await store.update('/p/e', 'e2');
    await store.update('/p/e', 'e3');
    const first = await pending;
    assert.equal(first.done, false);
    const rest = await take(syncer, (u) => u.type === 'in-sync');
    const updates = [first.value ? describeUpdate(first.value) : '', ...rest];
    // The first event may arrive before the overflow; what follows the resync is exactly the rest.
    const afterResync = updates.slice(updates.indexOf('resyncing') + 1);
    assert.ok(updates.includes('resyncing'), `expected a resync in ${updates}`);
    const expected = [
      'modified /p/a=a2 (was a1)',
      'added /p/c=c1',
      'modified /p/e=e3 (was e1)',
      'deleted /p/b (was b1)',
      'in-sync',
    ];
    const beforeResync = updates.slice(0, updates.indexOf('resyncing'));
    assert.deepEqual(
      afterResync,
      expected.filter((u) => !beforeResync.includes(u)),
    );
    await syncer.return();
    await store.close();
  });

  test('a closed store ends the syncer instead of retrying forever', async () => {
    const store = new MemoryDatastore();
    const syncer = syncPrefix(store, '/p/');
    await take(syncer, (u) => u.type === 'in-sync');
    const pending = syncer.next();
    await store.close();
    assert.deepEqual(await pending, { value: undefined, done: true });
  });
});
