// etcd misbehaving under a running client: restarts, partitions with compaction, and an outage.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EtcdDatastore } from '../../../src/datastore/etcd.js';
import { EtcdUnavailableError } from '../../../src/datastore/etcd-errors.js';
import { syncPrefix, type SyncerUpdate } from '../../../src/datastore/syncer.js';
import type { KVPair } from '../../../src/datastore/types.js';
import { describeEvent, readEvents } from '../../datastore-conformance/watch-reading.js';
import { EtcdServer, freePort } from '../../support/etcd.js';
import { etcdOptions } from './etcd-datastore-subject.js';
import { TcpProxy } from './tcp-proxy.js';

const FAST_BACKOFF = { initialMs: 50, maxMs: 500 };

let server: EtcdServer;
before(async () => {
  server = await EtcdServer.start();
});
after(() => server?.close());

async function nextUpdates(
  syncer: AsyncIterator<SyncerUpdate>,
  until: (update: SyncerUpdate) => boolean,
  deadlineMs = 15_000,
): Promise<SyncerUpdate[]> {
  const seen: SyncerUpdate[] = [];
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([
      syncer.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`syncer stalled after ${JSON.stringify(seen)}`)),
          Math.max(0, deadline - Date.now()),
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (result.done) throw new Error(`syncer ended after ${JSON.stringify(seen)}`);
    seen.push(result.value);
    if (until(result.value)) return seen;
  }
}

function describeUpdate(update: SyncerUpdate): string {
  switch (update.type) {
    case 'added':
      return `added ${update.kv.key}=${update.kv.value}`;
    case 'modified':
      return `modified ${update.kv.key}=${update.kv.value} (was ${update.prev.value})`;
    case 'deleted':
      return `deleted ${update.key} (was ${update.prev.value})`;
    case 'in-sync':
    case 'resyncing':
      return update.type;
    default: {
      const never: never = update;
      return JSON.stringify(never);
    }
  }
}

describe('a watcher while etcd stops and starts again', () => {
  for (const how of ['stop', 'kill'] as const) {
    test(`etcd ${how === 'stop' ? 'stopped (SIGTERM)' : 'killed (SIGKILL)'} and started: every event arrives once, in order`, async () => {
      const root = `/faults/restart-${how}/`;
      const watcher = await EtcdDatastore.open({ ...etcdOptions(server), watchBackoff: FAST_BACKOFF });
      const writer = await EtcdDatastore.open({ ...etcdOptions(server), timeoutMs: 15_000 });
      try {
        const from = await writer.currentRevision();
        const watch = watcher.watch(root, { fromRevision: from })[Symbol.asyncIterator]();
        const written: string[] = [];
        for (let i = 0; i < 40; i++) {
          const kv = await writer.create(`${root}k${String(i).padStart(3, '0')}`, `before ${i}`);
          written.push(`added ${kv.key} r${kv.revision} = ${kv.value}`);
        }
        // Read part of what was written, so the watch is mid-stream when etcd goes away.
        const early = await readEvents(watch, 10);
        await (how === 'stop' ? server.stop() : server.kill());
        await new Promise((resolve) => setTimeout(resolve, 300));
        await server.restart();
        for (let i = 40; i < 60; i++) {
          const kv = await writer.create(`${root}k${String(i).padStart(3, '0')}`, `after ${i}`);
          written.push(`added ${kv.key} r${kv.revision} = ${kv.value}`);
        }
        const rest = await readEvents(watch, 50);
        assert.deepEqual([...early, ...rest].map(describeEvent), written);
        // Nothing further is owed: the next event is the next write.
        const sentinel = await writer.create(`${root}sentinel`, 'last');
        assert.deepEqual((await readEvents(watch, 1)).map(describeEvent), [
          `added ${sentinel.key} r${sentinel.revision} = last`,
        ]);
        await watch.return?.();
      } finally {
        await watcher.close();
        await writer.close();
        if (!server.running) await server.restart();
      }
    });
  }
});

describe('an outage', () => {
  test('calls fail within the configured timeout with an error naming the endpoint, and work again after', async () => {
    const client = await EtcdDatastore.open({ ...etcdOptions(server), timeoutMs: 1_000 });
    try {
      await server.stop();
      const started = Date.now();
      await assert.rejects(client.get('/faults/outage'), (error: unknown) => {
        assert.ok(error instanceof EtcdUnavailableError, String(error));
        assert.equal(error.problem, 'unreachable');
        assert.match(error.message, new RegExp(`etcd ${server.endpoint}: is unreachable`));
        return true;
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 900 && elapsed < 2_500, `failed after ${elapsed} ms, expected about 1,000`);
      await server.restart();
      assert.equal(await client.get('/faults/outage'), undefined);
    } finally {
      await client.close();
      if (!server.running) await server.restart();
    }
  });
});

describe('several endpoints', () => {
  test('with one endpoint dead, reads, writes and watches go to the live one', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const root = '/faults/endpoints/';
    const store = await EtcdDatastore.open({
      endpoints: [dead, server.endpoint],
      watchBackoff: FAST_BACKOFF,
    });
    try {
      const watch = store.watch(root)[Symbol.asyncIterator]();
      const written = [];
      for (let i = 0; i < 20; i++) {
        written.push(await store.create(`${root}k${String(i).padStart(2, '0')}`, `${i}`));
        assert.equal((await store.get(`${root}k${String(i).padStart(2, '0')}`))?.value, `${i}`);
      }
      assert.deepEqual(
        await readEvents(watch, 20),
        written.map((kv) => ({ type: 'added', kv })),
      );
      await watch.return?.();
    } finally {
      await store.close();
    }
  });
});

describe('compaction past a partitioned watcher', () => {
  test('the syncer re-lists and emits exactly the differences, then follows live changes', async () => {
    const root = '/faults/compaction/';
    const proxy = await TcpProxy.start(server.clientPort);
    const writer = await EtcdDatastore.open(etcdOptions(server));
    const behind = await EtcdDatastore.open({
      endpoints: [`http://127.0.0.1:${proxy.port}`],
      watchBackoff: FAST_BACKOFF,
      timeoutMs: 1_000,
    });
    const controller = new AbortController();
    try {
      for (const name of ['a', 'b', 'e', 'same']) await writer.create(`${root}${name}`, `${name}1`);
      const syncer = syncPrefix(behind, root, { signal: controller.signal, retryDelayMs: 50 });
      const initial = await nextUpdates(syncer, (u) => u.type === 'in-sync');
      assert.deepEqual(initial.map(describeUpdate), [
        `added ${root}a=a1`,
        `added ${root}b=b1`,
        `added ${root}e=e1`,
        `added ${root}same=same1`,
        'in-sync',
      ]);
      // Start the syncer's watch, then cut it off before anything changes.
      const pending = syncer.next();
      await new Promise((resolve) => setTimeout(resolve, 200));
      proxy.partition();
      await writer.create(`${root}c`, 'c1');
      await writer.update(`${root}a`, 'a2');
      await writer.delete(`${root}b`);
      await writer.create(`${root}d`, 'short-lived');
      await writer.delete(`${root}d`);
      await writer.update(`${root}e`, 'e2');
      await writer.update(`${root}e`, 'e3');
      const compactedAt = await writer.currentRevision();
      await writer.compact(compactedAt);
      proxy.restore();
      const first = await pending;
      assert.equal(first.done, false);
      const rest = await nextUpdates(syncer, (u) => u.type === 'in-sync');
      assert.deepEqual([first.value as SyncerUpdate, ...rest].map(describeUpdate), [
        'resyncing',
        `modified ${root}a=a2 (was a1)`,
        `added ${root}c=c1`,
        `modified ${root}e=e3 (was e1)`,
        `deleted ${root}b (was b1)`,
        'in-sync',
      ]);
      const resync = first.value;
      assert.ok(resync?.type === 'resyncing' && /compacted/.test(resync.reason), JSON.stringify(resync));
      // And it follows live changes again.
      await writer.update(`${root}same`, 'same2');
      assert.deepEqual((await nextUpdates(syncer, () => true)).map(describeUpdate), [
        `modified ${root}same=same2 (was same1)`,
      ]);
    } finally {
      controller.abort();
      await behind.close();
      await writer.close();
      await proxy.close();
    }
  });
});

describe('a three-member cluster', () => {
  test('members killed and restarted one at a time: calls and a watch carry on, every event once, in order', async () => {
    const cluster = await EtcdServer.start({ members: 3 });
    const root = '/faults/cluster/';
    const options = { endpoints: cluster.endpoints, watchBackoff: FAST_BACKOFF, timeoutMs: 10_000 };
    const watcher = await EtcdDatastore.open(options);
    const writer = await EtcdDatastore.open(options);
    try {
      const from = await writer.currentRevision();
      const watch = watcher.watch(root, { fromRevision: from })[Symbol.asyncIterator]();
      const written: string[] = [];
      let n = 0;
      let ambiguous = 0;
      // What a careful caller does when etcd loses its leader under a write: the error says the
      // write may or may not have landed, so read it back, and write again only if it did not.
      const createSurely = async (key: string, value: string): Promise<KVPair> => {
        for (;;) {
          try {
            return await writer.create(key, value);
          } catch (error) {
            if (!(error instanceof EtcdUnavailableError && error.problem === 'timeout')) throw error;
            assert.match(error.message, /may or may not have been applied/);
            ambiguous++;
            const landed = await writer.get(key);
            if (landed?.value === value) return landed;
          }
        }
      };
      const writeSome = async (count: number): Promise<void> => {
        for (let i = 0; i < count; i++, n++) {
          const kv = await createSurely(`${root}k${String(n).padStart(3, '0')}`, `${n}`);
          written.push(`added ${kv.key} r${kv.revision} = ${kv.value}`);
        }
      };
      await writeSome(10);
      for (const member of cluster.members) {
        await member.kill();
        await writeSome(10);
        await member.restart();
        await writeSome(5);
      }
      assert.deepEqual((await readEvents(watch, written.length)).map(describeEvent), written);
      await watch.return?.();
      // Each killed leader may cost one ambiguous write; more would mean we give up too easily.
      assert.ok(ambiguous <= cluster.members.length, `${ambiguous} ambiguous writes`);
    } finally {
      await watcher.close();
      await writer.close();
      await cluster.close();
    }
  });
});
