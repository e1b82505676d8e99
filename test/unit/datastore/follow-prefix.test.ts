import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryDatastore } from '../../../src/datastore/memory.js';
import { followPrefix, type PrefixFollower, type SyncerChange } from '../../../src/datastore/syncer.js';
import type { Datastore } from '../../../src/datastore/types.js';

/** A follower that writes down every call; `matters` decides what `change` answers. */
function recorder(matters: (u: SyncerChange) => boolean): { calls: string[]; follower: PrefixFollower } {
  const calls: string[] = [];
  return {
    calls,
    follower: {
      change: (u) => {
        calls.push(`change ${u.type} ${u.type === 'deleted' ? u.key : u.kv.key}`);
        return matters(u);
      },
      inSync: () => calls.push('in-sync'),
      resyncing: (reason) => calls.push(`resyncing ${reason}`),
      settle: () => calls.push('settle'),
      failed: (e) => calls.push(`failed ${(e as Error).message}`),
    },
  };
}

async function until(calls: string[], last: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (calls.at(-1) !== last) {
    if (Date.now() > deadline) throw new Error(`never saw "${last}" after ${calls.join(', ')}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('followPrefix: one loop for every long-running consumer of a prefix', () => {
  test('the listing, then in-sync and a settle; a change that matters settles, one that does not is only applied', async () => {
    const store = new MemoryDatastore();
    await store.create('/p/a', '1');
    const controller = new AbortController();
    const { calls, follower } = recorder((u) => u.type !== 'added' || !u.kv.key.endsWith('ignored'));
    const done = followPrefix(store, '/p/', follower, { signal: controller.signal });
    await until(calls, 'settle');
    await store.create('/p/ignored', '2');
    await until(calls, 'change added /p/ignored');
    await store.create('/p/b', '3');
    await until(calls, 'settle');
    controller.abort();
    await done;
    assert.deepEqual(calls, [
      'change added /p/a',
      'settle',
      'in-sync',
      'settle',
      'change added /p/ignored',
      'change added /p/b',
      'settle',
    ]);
  });

  test('a syncer that fails is reported once; an abort is not a failure', async () => {
    const broken = {
      list: () => Promise.reject(new Error('disk on fire')),
    } as unknown as Datastore;
    const { calls, follower } = recorder(() => true);
    await followPrefix(broken, '/p/', follower);
    assert.deepEqual(calls, ['failed disk on fire']);

    const store = new MemoryDatastore();
    const controller = new AbortController();
    const quiet = recorder(() => true);
    const done = followPrefix(store, '/p/', quiet.follower, { signal: controller.signal });
    await until(quiet.calls, 'settle');
    controller.abort();
    await done;
    assert.deepEqual(quiet.calls, ['in-sync', 'settle']);
  });
});
