import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  DatastoreUnavailableError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionConflictError,
} from '../../src/datastore/errors.js';
import type { Datastore, KVPair, WatchEvent } from '../../src/datastore/types.js';
import { DatastoreChild, raceChildren } from './child-process.js';
import { wallClockMs, type ChildOpener } from './child-protocol.js';
import { describeEvent, nextEvent, readEvents } from './watch-reading.js';

/**
 * The one suite every `Datastore` backend must pass (memory, sqlite, and etcd when it lands).
 *
 * A backend's test file calls `runDatastoreConformance(name, factory)`; the factory opens a fresh
 * store per test. Every test works under its own random key root, so a backend whose tests share one
 * server (etcd) passes too, and no test assumes revisions start at 1. Tests do assume that nothing
 * else writes to the store while they run (they compare store revisions before and after). Tests
 * that need a second connection or a second process run only for backends shared across processes.
 */
export interface DatastoreUnderTest {
  readonly datastore: Datastore;
  /** Drops watch history through `revision`, as the backend's own compaction would. */
  compact(revision: number): Promise<void>;
  /** A second, independent connection to the same store; absent when the backend has no such thing. */
  openAnotherHandle?(): Promise<Datastore>;
  /** How a child process opens the same store; absent for backends that live inside one process. */
  readonly childOpener?: ChildOpener;
  /** Closes whatever is still open and removes any files; safe after `datastore.close()`. */
  dispose(): Promise<void>;
}

export interface DatastoreFactory {
  /** Opens a fresh store for one test. */
  open(): Promise<DatastoreUnderTest>;
  /**
   * The store can be opened from another connection and another process (`openAnotherHandle` and
   * `childOpener` are then required), which adds the multi-connection and multi-process tests.
   */
  readonly sharedAcrossProcesses: boolean;
}

/** How many child processes race, and for how many rounds, in the multi-process CAS test. */
const RACERS = 3;
const RACE_ROUNDS = 20;

export function runDatastoreConformance(name: string, factory: DatastoreFactory): void {
  async function withStore(
    body: (subject: DatastoreUnderTest, root: string) => Promise<void>,
  ): Promise<void> {
    const subject = await factory.open();
    try {
      await body(subject, `/conformance/${randomUUID()}/`);
    } finally {
      await subject.dispose();
    }
  }

  async function withChildren(
    subject: DatastoreUnderTest,
    count: number,
    body: (children: DatastoreChild[]) => Promise<void>,
  ): Promise<void> {
    const opener = subject.childOpener;
    assert.ok(opener, 'multi-process tests need a childOpener');
    const spawned = await Promise.allSettled(
      Array.from({ length: count }, () => DatastoreChild.spawn(opener)),
    );
    const children = spawned.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    try {
      const failure = spawned.find((result) => result.status === 'rejected');
      if (failure) throw failure.reason;
      await body(children);
    } finally {
      await Promise.all(children.map((child) => child.close()));
    }
  }

  describe(`${name} datastore conformance`, () => {
    describe('reading and writing keys', () => {
      test('get returns undefined for a key that was never written', () =>
        withStore(async ({ datastore }, root) => {
          assert.equal(await datastore.get(`${root}missing`), undefined);
        }));

      test('create stores the value at a new revision, and get returns it', () =>
        withStore(async ({ datastore }, root) => {
          const before = await datastore.currentRevision();
          const created = await datastore.create(`${root}k`, '{"a":1}');
          assert.deepEqual(created, { key: `${root}k`, value: '{"a":1}', revision: created.revision });
          assert.ok(
            created.revision > before,
            'the new revision is past the store revision before the write',
          );
          assert.deepEqual(await datastore.get(`${root}k`), created);
        }));

      test('create on an existing key fails with KeyExistsError and changes nothing', () =>
        withStore(async ({ datastore }, root) => {
          const original = await datastore.create(`${root}k`, 'first');
          const revision = await datastore.currentRevision();
          await assert.rejects(datastore.create(`${root}k`, 'second'), (error: unknown) => {
            assert.ok(error instanceof KeyExistsError);
            assert.equal(error.key, `${root}k`);
            return true;
          });
          assert.deepEqual(await datastore.get(`${root}k`), original);
          assert.equal(await datastore.currentRevision(), revision);
        }));
    });

    describe('listing by prefix', () => {
      const keys = [
        'a/b',
        'a/b/',
        'a/b/c',
        'a/b/d/e',
        'a/bc',
        'a/bc/d',
        'a/c',
        'ab',
        'u/a',
        'u/\u00e9',
        'u/\ufffd',
        'u/\u{1f600}',
      ];
      const cases: ReadonlyArray<{ prefix: string; expected: string[] }> = [
        { prefix: 'a/b/', expected: ['a/b/', 'a/b/c', 'a/b/d/e'] },
        { prefix: 'a/b', expected: ['a/b', 'a/b/', 'a/b/c', 'a/b/d/e', 'a/bc', 'a/bc/d'] },
        { prefix: 'a/bc/', expected: ['a/bc/d'] },
        { prefix: 'a/b/c', expected: ['a/b/c'] },
        { prefix: 'a/x', expected: [] },
        { prefix: 'a', expected: ['a/b', 'a/b/', 'a/b/c', 'a/b/d/e', 'a/bc', 'a/bc/d', 'a/c', 'ab'] },
        // Byte (UTF-8) order: U+00E9 < U+FFFD < U+1F600, although UTF-16 would put the emoji first.
        { prefix: 'u/', expected: ['u/a', 'u/\u00e9', 'u/\ufffd', 'u/\u{1f600}'] },
        { prefix: 'u/\u{1f600}', expected: ['u/\u{1f600}'] },
      ];
      for (const { prefix, expected } of cases) {
        test(`prefix "${prefix}" lists ${expected.length === 0 ? 'nothing' : expected.join(', ')}`, () =>
          withStore(async ({ datastore }, root) => {
            for (const key of [...keys].reverse()) await datastore.create(root + key, JSON.stringify(key));
            const listed = await datastore.list(root + prefix);
            assert.deepEqual(
              listed.items.map((kv) => kv.key.slice(root.length)),
              expected,
            );
            for (const kv of listed.items) assert.equal(kv.value, JSON.stringify(kv.key.slice(root.length)));
            assert.equal(listed.revision, await datastore.currentRevision());
          }));
      }

      test('every listed item carries its own revision, no later than the list revision', () =>
        withStore(async ({ datastore }, root) => {
          const a = await datastore.create(`${root}a`, '1');
          const b = await datastore.create(`${root}b`, '2');
          const a2 = await datastore.update(`${root}a`, '3');
          const listed = await datastore.list(root);
          assert.deepEqual(listed.items, [a2, b]);
          assert.ok(a.revision < b.revision && b.revision < a2.revision);
          assert.ok(listed.revision >= a2.revision);
        }));
    });

    describe('update (compare-and-swap)', () => {
      type Expectation = 'none' | 'current' | 'stale';
      type Outcome = 'written' | 'conflict' | 'not-found';
      const cases: ReadonlyArray<{ name: string; exists: boolean; expect: Expectation; outcome: Outcome }> = [
        {
          name: 'without an expected revision replaces the value',
          exists: true,
          expect: 'none',
          outcome: 'written',
        },
        {
          name: 'at the current revision replaces the value',
          exists: true,
          expect: 'current',
          outcome: 'written',
        },
        {
          name: 'at a stale revision fails with RevisionConflictError',
          exists: true,
          expect: 'stale',
          outcome: 'conflict',
        },
        {
          name: 'of a missing key fails with KeyNotFoundError',
          exists: false,
          expect: 'none',
          outcome: 'not-found',
        },
        {
          name: 'of a missing key at some revision fails with KeyNotFoundError',
          exists: false,
          expect: 'stale',
          outcome: 'not-found',
        },
      ];
      for (const { name: caseName, exists, expect, outcome } of cases) {
        test(caseName, () =>
          withStore(async ({ datastore }, root) => {
            const key = `${root}k`;
            const first = await datastore.create(exists ? key : `${root}other`, 'v1');
            const current = exists ? await datastore.update(key, 'v2') : undefined;
            const expected = { none: undefined, current: current?.revision, stale: first.revision }[expect];
            const attempt = datastore.update(key, 'v3', expected);
            switch (outcome) {
              case 'written': {
                const written = await attempt;
                assert.equal(written.value, 'v3');
                assert.ok(written.revision > (current?.revision ?? 0));
                assert.deepEqual(await datastore.get(key), written);
                return;
              }
              case 'conflict':
                await assert.rejects(attempt, (error: unknown) => {
                  assert.ok(error instanceof RevisionConflictError);
                  assert.equal(error.key, key);
                  assert.equal(error.expected, first.revision);
                  assert.equal(error.actual, current?.revision);
                  return true;
                });
                assert.deepEqual(await datastore.get(key), current);
                return;
              case 'not-found':
                await assert.rejects(attempt, KeyNotFoundError);
                assert.equal(await datastore.get(key), undefined);
                return;
              default: {
                const unknown: never = outcome;
                throw new Error(`unhandled outcome ${String(unknown)}`);
              }
            }
          }),
        );
      }
    });

    describe('delete', () => {
      const cases: ReadonlyArray<{
        name: string;
        exists: boolean;
        expect: 'none' | 'current' | 'stale';
        outcome: 'deleted' | 'conflict' | 'not-found';
      }> = [
        {
          name: 'without an expected revision removes the key',
          exists: true,
          expect: 'none',
          outcome: 'deleted',
        },
        {
          name: 'at the current revision removes the key',
          exists: true,
          expect: 'current',
          outcome: 'deleted',
        },
        {
          name: 'at a stale revision fails with RevisionConflictError and keeps the key',
          exists: true,
          expect: 'stale',
          outcome: 'conflict',
        },
        {
          name: 'of a missing key fails with KeyNotFoundError',
          exists: false,
          expect: 'none',
          outcome: 'not-found',
        },
        {
          name: 'of a missing key at some revision fails with KeyNotFoundError',
          exists: false,
          expect: 'stale',
          outcome: 'not-found',
        },
      ];
      for (const { name: caseName, exists, expect, outcome } of cases) {
        test(caseName, () =>
          withStore(async ({ datastore }, root) => {
            const key = `${root}k`;
            const first = await datastore.create(exists ? key : `${root}other`, 'v1');
            const current = exists ? await datastore.update(key, 'v2') : undefined;
            const expected = { none: undefined, current: current?.revision, stale: first.revision }[expect];
            const before = await datastore.currentRevision();
            const attempt = datastore.delete(key, expected);
            switch (outcome) {
              case 'deleted':
                assert.deepEqual(await attempt, current, 'delete returns what the key held');
                assert.equal(await datastore.get(key), undefined);
                assert.ok(
                  (await datastore.currentRevision()) > before,
                  'a delete is a write with its own revision',
                );
                return;
              case 'conflict':
                await assert.rejects(attempt, RevisionConflictError);
                assert.deepEqual(await datastore.get(key), current);
                return;
              case 'not-found':
                await assert.rejects(attempt, KeyNotFoundError);
                return;
              default: {
                const unknown: never = outcome;
                throw new Error(`unhandled outcome ${String(unknown)}`);
              }
            }
          }),
        );
      }
    });

    describe('revisions', () => {
      test('every write, to any key, gets a revision greater than all before it', () =>
        withStore(async ({ datastore }, root) => {
          const steps: Array<() => Promise<KVPair | undefined>> = [
            () => datastore.create(`${root}a`, '1'),
            () => datastore.create(`${root}b`, '1'),
            () => datastore.update(`${root}a`, '2'),
            async () => {
              await datastore.delete(`${root}b`);
              return undefined;
            },
            () => datastore.create(`${root}b`, '2'),
            async () => datastore.update(`${root}a`, '3', (await datastore.get(`${root}a`))?.revision),
          ];
          let last = await datastore.currentRevision();
          for (const step of steps) {
            const written = await step();
            const now = await datastore.currentRevision();
            assert.ok(now > last, `store revision ${now} after a write must exceed ${last}`);
            if (written !== undefined) assert.equal(written.revision, now);
            last = now;
          }
        }));

      test('failed writes do not advance the store revision', () =>
        withStore(async ({ datastore }, root) => {
          const kv = await datastore.create(`${root}a`, '1');
          const revision = await datastore.currentRevision();
          await assert.rejects(datastore.create(`${root}a`, '2'), KeyExistsError);
          await assert.rejects(datastore.update(`${root}a`, '2', kv.revision - 1), RevisionConflictError);
          await assert.rejects(datastore.update(`${root}missing`, '2'), KeyNotFoundError);
          await assert.rejects(datastore.delete(`${root}a`, kv.revision - 1), RevisionConflictError);
          await assert.rejects(datastore.delete(`${root}missing`), KeyNotFoundError);
          assert.equal(await datastore.currentRevision(), revision);
        }));
    });

    describe('watch', () => {
      test('delivers added, modified and deleted events with the previous values', () =>
        withStore(async ({ datastore }, root) => {
          const watch = datastore.watch(root)[Symbol.asyncIterator]();
          const created = await datastore.create(`${root}x`, 'one');
          const updated = await datastore.update(`${root}x`, 'two', created.revision);
          await datastore.delete(`${root}x`);
          const after = await datastore.create(`${root}y`, 'after');
          const events = await readEvents(watch, 4);
          const deletedAt = events[2]?.type === 'deleted' ? events[2].revision : NaN;
          assert.ok(deletedAt > updated.revision && deletedAt < after.revision, `delete at r${deletedAt}`);
          assert.deepEqual(events, [
            { type: 'added', kv: created },
            { type: 'modified', kv: updated, prev: created },
            { type: 'deleted', key: `${root}x`, revision: deletedAt, prev: updated },
            { type: 'added', kv: after },
          ]);
          await watch.return?.();
        }));

      test('without fromRevision delivers only changes made after watch() was called', () =>
        withStore(async ({ datastore }, root) => {
          await datastore.create(`${root}before`, '1');
          const watch = datastore.watch(root)[Symbol.asyncIterator]();
          const after = await datastore.create(`${root}after`, '2');
          assert.deepEqual(await readEvents(watch, 1), [{ type: 'added', kv: after }]);
          await watch.return?.();
        }));

      test('a watch on "/a/b/" skips "/a/bc" and "/a/b" and sees "/a/b/c"', () =>
        withStore(async ({ datastore }, root) => {
          const watch = datastore.watch(`${root}a/b/`)[Symbol.asyncIterator]();
          await datastore.create(`${root}a/bc`, 'no');
          await datastore.create(`${root}a/b`, 'no');
          await datastore.create(`${root}b/c`, 'no');
          const inside = await datastore.create(`${root}a/b/c`, 'yes');
          assert.deepEqual(await readEvents(watch, 1), [{ type: 'added', kv: inside }]);
          await watch.return?.();
        }));

      test('from an old revision replays every change since, in order', () =>
        withStore(async ({ datastore }, root) => {
          await datastore.create(`${root}early`, '0');
          const from = await datastore.currentRevision();
          const a = await datastore.create(`${root}a`, '1');
          const b = await datastore.create(`${root}b`, '1');
          const a2 = await datastore.update(`${root}a`, '2', a.revision);
          await datastore.delete(`${root}b`, b.revision);
          const deletedAt = await datastore.currentRevision();
          const watch = datastore.watch(root, { fromRevision: from })[Symbol.asyncIterator]();
          const live = await datastore.create(`${root}c`, 'live');
          const events = await readEvents(watch, 5);
          assert.deepEqual(events.map(describeEvent), [
            `added ${root}a r${a.revision} = 1`,
            `added ${root}b r${b.revision} = 1`,
            `modified ${root}a r${a2.revision} = 2 (was r${a.revision} = 1)`,
            `deleted ${root}b r${deletedAt} (was r${b.revision} = 1)`,
            `added ${root}c r${live.revision} = live`,
          ]);
          await watch.return?.();
        }));

      test('from a revision not yet reached delivers only the changes after it', () =>
        withStore(async ({ datastore }, root) => {
          const now = await datastore.currentRevision();
          const watch = datastore.watch(root, { fromRevision: now + 2 })[Symbol.asyncIterator]();
          await datastore.create(`${root}a`, '1');
          await datastore.create(`${root}b`, '2');
          const third = await datastore.create(`${root}c`, '3');
          assert.deepEqual(await readEvents(watch, 1), [{ type: 'added', kv: third }]);
          await watch.return?.();
        }));

      test('from a list revision misses nothing and repeats nothing', () =>
        withStore(async ({ datastore }, root) => {
          for (let i = 0; i < 20; i++)
            await datastore.create(`${root}k${String(i).padStart(2, '0')}`, `v${i}`);
          await datastore.update(`${root}k05`, 'changed');
          const listed = await datastore.list(root);
          // Writes between the list and the watch call, and after it: both must arrive, once each.
          await datastore.create(`${root}k20`, 'between');
          await datastore.update(`${root}k00`, 'between');
          await datastore.delete(`${root}k10`);
          const watch = datastore.watch(root, { fromRevision: listed.revision })[Symbol.asyncIterator]();
          for (let i = 21; i < 25; i++) await datastore.create(`${root}k${i}`, `v${i}`);
          await datastore.update(`${root}k01`, 'after');
          await datastore.delete(`${root}k11`);
          const events = await readEvents(watch, 9);
          const state = new Map(listed.items.map((kv) => [kv.key, kv.value]));
          for (const event of events) {
            assert.notEqual(event.type, 'resync-required');
            if (event.type === 'resync-required') continue;
            const revision = event.type === 'deleted' ? event.revision : event.kv.revision;
            assert.ok(revision > listed.revision, `event at r${revision} is not newer than the list`);
            if (event.type === 'added')
              assert.ok(!state.has(event.kv.key), `duplicate add of ${event.kv.key}`);
            if (event.type === 'deleted') state.delete(event.key);
            else state.set(event.kv.key, event.kv.value);
          }
          const final = await datastore.list(root);
          assert.deepEqual(
            [...state].sort(([x], [y]) => (x < y ? -1 : 1)),
            final.items.map((kv) => [kv.key, kv.value]),
          );
          // Nothing further is owed: the next event is the next write.
          const sentinel = await datastore.create(`${root}zz`, 'sentinel');
          assert.deepEqual(await readEvents(watch, 1), [{ type: 'added', kv: sentinel }]);
          await watch.return?.();
        }));

      test('from a compacted revision reports resync-required, then ends', () =>
        withStore(async ({ datastore, compact }, root) => {
          const revisions: number[] = [];
          for (let i = 0; i < 5; i++)
            revisions.push((await datastore.create(`${root}k${i}`, String(i))).revision);
          const [, second, , fourth, fifth] = revisions as [number, number, number, number, number];
          await compact(fourth);
          const stale = datastore.watch(root, { fromRevision: second })[Symbol.asyncIterator]();
          const first = await nextEvent(stale);
          assert.equal(first.done, false);
          assert.equal(first.value?.type, 'resync-required');
          assert.deepEqual(await nextEvent(stale), { value: undefined, done: true });
          // The compacted revision itself is still a valid starting point: everything after it is kept.
          const fresh = datastore.watch(root, { fromRevision: fourth })[Symbol.asyncIterator]();
          assert.deepEqual((await readEvents(fresh, 1)).map(describeEvent), [
            `added ${root}k4 r${fifth} = 4`,
          ]);
          await fresh.return?.();
        }));

      test('two watchers on one prefix each see every change', () =>
        withStore(async ({ datastore }, root) => {
          const first = datastore.watch(root)[Symbol.asyncIterator]();
          const second = datastore.watch(root)[Symbol.asyncIterator]();
          const a = await datastore.create(`${root}a`, '1');
          const b = await datastore.create(`${root}b`, '2');
          const expected = [
            { type: 'added', kv: a },
            { type: 'added', kv: b },
          ];
          assert.deepEqual(await readEvents(first, 2), expected);
          assert.deepEqual(await readEvents(second, 2), expected);
          await first.return?.();
          await second.return?.();
        }));

      test('aborting the signal ends a watch that is waiting for events', () =>
        withStore(async ({ datastore }, root) => {
          const controller = new AbortController();
          const watch = datastore.watch(root, { signal: controller.signal })[Symbol.asyncIterator]();
          const pending = nextEvent(watch);
          controller.abort();
          assert.deepEqual(await pending, { value: undefined, done: true });
          await datastore.create(`${root}after-abort`, '1');
          assert.deepEqual(await nextEvent(watch), { value: undefined, done: true });
        }));

      test('a watch whose signal is already aborted ends at once', () =>
        withStore(async ({ datastore }, root) => {
          const watch = datastore.watch(root, { signal: AbortSignal.abort() })[Symbol.asyncIterator]();
          await datastore.create(`${root}a`, '1');
          assert.deepEqual(await nextEvent(watch), { value: undefined, done: true });
        }));

      test('leaving a for-await loop early ends the watch', () =>
        withStore(async ({ datastore }, root) => {
          const iterable = datastore.watch(root);
          await datastore.create(`${root}a`, '1');
          await datastore.create(`${root}b`, '2');
          const seen: WatchEvent[] = [];
          for await (const event of iterable) {
            seen.push(event);
            break;
          }
          assert.equal(seen.length, 1);
          assert.deepEqual(await nextEvent(iterable[Symbol.asyncIterator]()), {
            value: undefined,
            done: true,
          });
        }));

      test('close() ends every open watch, and later calls fail with DatastoreUnavailableError', () =>
        withStore(async ({ datastore }, root) => {
          const first = datastore.watch(root)[Symbol.asyncIterator]();
          const second = datastore.watch(`${root}other/`)[Symbol.asyncIterator]();
          const pending = nextEvent(first);
          await datastore.close();
          assert.deepEqual(await pending, { value: undefined, done: true });
          assert.deepEqual(await nextEvent(second), { value: undefined, done: true });
          await assert.rejects(datastore.get(`${root}a`), DatastoreUnavailableError);
          await assert.rejects(datastore.create(`${root}a`, '1'), DatastoreUnavailableError);
          await assert.rejects(
            nextEvent(datastore.watch(root)[Symbol.asyncIterator]()),
            DatastoreUnavailableError,
          );
          await datastore.close();
        }));
    });

    if (!factory.sharedAcrossProcesses) return;

    describe('two connections to one store', () => {
      test('a write through one connection is seen by the other connection`s get, list and watch', () =>
        withStore(async (subject, root) => {
          assert.ok(subject.openAnotherHandle, 'a store shared across processes needs openAnotherHandle');
          const other = await subject.openAnotherHandle();
          try {
            const watch = subject.datastore.watch(root)[Symbol.asyncIterator]();
            const written = await other.create(`${root}k`, 'from-other');
            assert.deepEqual(await subject.datastore.get(`${root}k`), written);
            assert.deepEqual((await subject.datastore.list(root)).items, [written]);
            assert.deepEqual(await readEvents(watch, 1), [{ type: 'added', kv: written }]);
            await watch.return?.();
          } finally {
            await other.close();
          }
        }));

      test('two connections updating one key from the same revision: exactly one wins', () =>
        withStore(async (subject, root) => {
          assert.ok(subject.openAnotherHandle, 'a store shared across processes needs openAnotherHandle');
          const other = await subject.openAnotherHandle();
          try {
            const kv = await subject.datastore.create(`${root}k`, '0');
            const results = await Promise.allSettled([
              subject.datastore.update(`${root}k`, 'mine', kv.revision),
              other.update(`${root}k`, 'theirs', kv.revision),
            ]);
            assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
            const loser = results.find((r) => r.status === 'rejected');
            assert.ok(loser?.status === 'rejected' && loser.reason instanceof RevisionConflictError);
          } finally {
            await other.close();
          }
        }));
    });

    describe('several processes on one store', () => {
      test(`${RACERS} processes CAS one key from the same revision: exactly one wins, ${RACE_ROUNDS} rounds`, () =>
        withStore(async (subject, root) => {
          await withChildren(subject, RACERS, async (children) => {
            const key = `${root}contested`;
            let current = await subject.datastore.create(key, 'start');
            for (let round = 0; round < RACE_ROUNDS; round++) {
              const outcomes = await raceChildren(
                children.map((child, i) => ({
                  child,
                  operation: {
                    kind: 'update',
                    key,
                    value: `round ${round} child ${i}`,
                    expectedRevision: current.revision,
                  },
                })),
              );
              const winners = outcomes.flatMap((outcome, i) => (outcome.ok ? [i] : []));
              assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(outcomes)}`);
              for (const outcome of outcomes) {
                if (!outcome.ok) assert.equal(outcome.errorName, 'RevisionConflictError', outcome.message);
              }
              const stored = await subject.datastore.get(key);
              assert.equal(stored?.value, `round ${round} child ${winners[0]}`);
              assert.ok(stored && stored.revision > current.revision);
              current = stored;
            }
          });
        }));

      test(`${RACERS} processes create one new key at the same moment: exactly one succeeds`, () =>
        withStore(async (subject, root) => {
          await withChildren(subject, RACERS, async (children) => {
            for (let round = 0; round < 5; round++) {
              const key = `${root}fresh-${round}`;
              const outcomes = await raceChildren(
                children.map((child, i) => ({
                  child,
                  operation: { kind: 'create', key, value: `child ${i}` },
                })),
              );
              assert.equal(outcomes.filter((o) => o.ok).length, 1, JSON.stringify(outcomes));
              for (const outcome of outcomes) {
                if (!outcome.ok) assert.equal(outcome.errorName, 'KeyExistsError', outcome.message);
              }
            }
          });
        }));

      test('writes from several processes get distinct, increasing revisions that a watch sees in order', () =>
        withStore(async (subject, root) => {
          await withChildren(subject, RACERS, async (children) => {
            const from = await subject.datastore.currentRevision();
            const perChild = 20;
            await Promise.all(
              children.map(async (child, i) => {
                for (let n = 0; n < perChild; n++) {
                  const outcome = await child.run({
                    kind: 'create',
                    key: `${root}c${i}/${n}`,
                    value: `${n}`,
                  });
                  assert.ok(outcome.ok, JSON.stringify(outcome));
                }
              }),
            );
            const watch = subject.datastore.watch(root, { fromRevision: from })[Symbol.asyncIterator]();
            const events = await readEvents(watch, RACERS * perChild);
            await watch.return?.();
            const revisions = events.map((e) => (e.type === 'added' ? e.kv.revision : -1));
            for (let i = 1; i < revisions.length; i++) {
              assert.ok(
                (revisions[i] ?? 0) > (revisions[i - 1] ?? 0),
                `revisions out of order: ${revisions}`,
              );
            }
            assert.equal((await subject.datastore.list(root)).items.length, RACERS * perChild);
          });
        }));

      test('a watcher here sees a write made by another process within 100 ms (median of 5)', () =>
        withStore(async (subject, root) => {
          await withChildren(subject, 1, async ([child]) => {
            assert.ok(child);
            const watch = subject.datastore.watch(root)[Symbol.asyncIterator]();
            const latencies: number[] = [];
            for (let i = 0; i < 5; i++) {
              const arrival = readEvents(watch, 1).then((events) => ({ events, receivedAt: wallClockMs() }));
              const outcome = await child.run({ kind: 'create-stamped', key: `${root}stamped-${i}` });
              assert.ok(outcome.ok, JSON.stringify(outcome));
              const {
                events: [event],
                receivedAt,
              } = await arrival;
              assert.equal(event?.type, 'added');
              if (event?.type !== 'added') continue;
              assert.equal(event.kv.key, `${root}stamped-${i}`);
              latencies.push(receivedAt - (JSON.parse(event.kv.value) as { writtenAt: number }).writtenAt);
            }
            await watch.return?.();
            const median = [...latencies].sort((x, y) => x - y)[2] ?? Infinity;
            assert.ok(
              median < 100,
              `median cross-process watch latency ${median.toFixed(1)} ms: ${latencies}`,
            );
          });
        }));
    });
  });
}
