import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryDatastore } from '../../../src/datastore/memory.js';
import { runDatastoreConformance } from '../../datastore-conformance/suite.js';
import { describeEvent, nextEvent, readEvents } from '../../datastore-conformance/watch-reading.js';

runDatastoreConformance('memory', {
  sharedAcrossProcesses: false,
  async open() {
    const datastore = new MemoryDatastore();
    return {
      datastore,
      compact: async (revision) => datastore.compact(revision),
      dispose: () => datastore.close(),
    };
  },
});

describe('memory datastore history', () => {
  test('keeps only the last historyLimit changes for watch replay', async () => {
    const datastore = new MemoryDatastore({ historyLimit: 3 });
    for (let i = 1; i <= 6; i++) await datastore.create(`/k${i}`, String(i));
    const tooOld = datastore.watch('/', { fromRevision: 2 })[Symbol.asyncIterator]();
    assert.equal((await nextEvent(tooOld)).value?.type, 'resync-required');
    const oldestKept = datastore.watch('/', { fromRevision: 3 })[Symbol.asyncIterator]();
    assert.deepEqual((await readEvents(oldestKept, 3)).map(describeEvent), [
      'added /k4 r4 = 4',
      'added /k5 r5 = 5',
      'added /k6 r6 = 6',
    ]);
    await datastore.close();
  });

  test('a watcher that falls more than watchBufferLimit events behind gets resync-required, then ends', async () => {
    const datastore = new MemoryDatastore({ watchBufferLimit: 4 });
    const watch = datastore.watch('/')[Symbol.asyncIterator]();
    for (let i = 0; i < 5; i++) await datastore.create(`/k${i}`, String(i));
    const first = await nextEvent(watch);
    assert.equal(first.value?.type, 'resync-required');
    assert.deepEqual(await nextEvent(watch), { value: undefined, done: true });
    await datastore.close();
  });

  test('a watcher that keeps up is not limited by watchBufferLimit', async () => {
    const datastore = new MemoryDatastore({ watchBufferLimit: 2 });
    const watch = datastore.watch('/')[Symbol.asyncIterator]();
    for (let i = 0; i < 10; i++) {
      const kv = await datastore.create(`/k${i}`, String(i));
      assert.deepEqual(await readEvents(watch, 1), [{ type: 'added', kv }]);
    }
    await datastore.close();
  });

  const invalidOptions: ReadonlyArray<{ name: string; make: () => unknown; message: RegExp }> = [
    {
      name: 'a negative historyLimit',
      make: () => new MemoryDatastore({ historyLimit: -1 }),
      message: /historyLimit/,
    },
    {
      name: 'a fractional historyLimit',
      make: () => new MemoryDatastore({ historyLimit: 1.5 }),
      message: /historyLimit/,
    },
    {
      name: 'a zero watchBufferLimit',
      make: () => new MemoryDatastore({ watchBufferLimit: 0 }),
      message: /buffer limit/,
    },
  ];
  for (const { name, make, message } of invalidOptions) {
    test(`rejects ${name}`, () => {
      assert.throws(make, message);
    });
  }
});
