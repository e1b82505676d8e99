import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, describe, test } from 'node:test';
import { DatastoreUnavailableError } from '../../../src/datastore/errors.js';
import Database from 'better-sqlite3';
import { SqliteDatastore, type SqliteDatastoreOptions } from '../../../src/datastore/sqlite.js';
import { SCHEMA_SQL } from '../../../src/datastore/sqlite-schema.js';
import type { SqliteChildArgument } from '../../datastore-conformance/open-sqlite.js';
import { runDatastoreConformance } from '../../datastore-conformance/suite.js';
import { describeEvent, nextEvent, readEvents } from '../../datastore-conformance/watch-reading.js';

// One scratch directory for the whole file, removed at the end whether the tests pass or not.
const scratch = mkdtempSync(join(tmpdir(), 'calico-sqlite-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(scratch, `store-${++files}`, 'calico.db');

// Every store a test below opens is closed after it, pass or fail: an open watcher's poller would
// otherwise keep this test process alive.
const opened: SqliteDatastore[] = [];
async function openStore(path: string, options?: SqliteDatastoreOptions): Promise<SqliteDatastore> {
  const store = await SqliteDatastore.open(path, options);
  opened.push(store);
  return store;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

runDatastoreConformance('sqlite', {
  sharedAcrossProcesses: true,
  async open() {
    const path = freshPath();
    const datastore = await SqliteDatastore.open(path);
    const others: SqliteDatastore[] = [];
    const argument: SqliteChildArgument = { path };
    return {
      datastore,
      compact: (revision) => datastore.compact(revision),
      async openAnotherHandle() {
        const other = await SqliteDatastore.open(path);
        others.push(other);
        return other;
      },
      childOpener: {
        moduleUrl: new URL('../../datastore-conformance/open-sqlite.ts', import.meta.url).href,
        exportName: 'openSqliteForChild',
        argument,
      },
      async dispose() {
        await Promise.all([datastore, ...others].map((store) => store.close()));
      },
    };
  },
});

describe('sqlite datastore file handling', () => {
  test('creates missing parent directories and reports the absolute path', async () => {
    const path = join(scratch, 'deep', 'er', 'calico.db');
    const datastore = await openStore(path);
    assert.equal(datastore.path, path);
    assert.ok(existsSync(path));
    await datastore.close();
  });

  test('keeps keys and the revision counter across close and reopen', async () => {
    const path = freshPath();
    const first = await openStore(path);
    const kv = await first.create('/k', 'v');
    await first.close();
    const second = await openStore(path);
    assert.deepEqual(await second.get('/k'), kv);
    assert.equal(await second.currentRevision(), kv.revision);
    assert.ok((await second.create('/k2', 'v')).revision > kv.revision);
    await second.close();
  });

  const unusable: ReadonlyArray<{ name: string; prepare: () => string; message: RegExp }> = [
    {
      name: 'a file that is not a SQLite database',
      prepare: () => {
        const path = join(scratch, 'not-a-db.txt');
        writeFileSync(
          path,
          'this is a text file, long enough to have a header that is not SQLite\n'.repeat(20),
        );
        return path;
      },
      message: /not-a-db\.txt: the file is not a SQLite database/,
    },
    {
      name: 'a path whose parent is a regular file',
      prepare: () => {
        const parent = join(scratch, 'plain-file');
        writeFileSync(parent, 'x');
        return join(parent, 'calico.db');
      },
      message: /cannot create its directory .*plain-file/,
    },
    {
      // Node 20's recursive mkdir never returns there; the datastore must fail at once.
      name: 'a path under /proc, where no directory can be made',
      prepare: () => '/proc/calico-sqlite-test/deeper/calico.db',
      message: /cannot create its directory \/proc\/calico-sqlite-test\/deeper \(ENOENT/,
    },
    {
      name: 'a datastore file written with a newer schema',
      prepare: () => {
        const path = join(scratch, 'newer-schema.db');
        const db = new Database(path);
        db.exec(SCHEMA_SQL);
        db.exec('UPDATE meta SET schema_version = 99');
        db.close();
        return path;
      },
      message: /newer-schema\.db: the file uses datastore schema version 99, this program understands 1/,
    },
    {
      name: 'a path that is a directory',
      prepare: () => scratch,
      message: /sqlite datastore .*calico-sqlite-test-/,
    },
  ];
  for (const { name, prepare, message } of unusable) {
    // A timeout, so a hang (Node 20's recursive mkdir under /proc) fails here instead of stalling the run.
    test(
      `opening ${name} fails with DatastoreUnavailableError naming the file`,
      { timeout: 20_000 },
      async () => {
        await assert.rejects(SqliteDatastore.open(prepare()), (error: unknown) => {
          assert.ok(error instanceof DatastoreUnavailableError, String(error));
          assert.match(error.message, message);
          return true;
        });
      },
    );
  }
});

/**
 * Opens `path` as a user who cannot write it and returns the error message. Root can write anything,
 * so under root the attempt runs in a child process as `nobody`; otherwise the file is made read-only.
 */
function openWithoutWriteAccess(path: string): string {
  if (process.getuid?.() !== 0) {
    chmodSync(path, 0o444);
    chmodSync(join(path, '..'), 0o555);
  }
  const code = `
    const { SqliteDatastore } = await import(${JSON.stringify(new URL('../../../src/datastore/sqlite.ts', import.meta.url).href)});
    try { await SqliteDatastore.open(${JSON.stringify(path)}); console.log('opened'); }
    catch (error) { console.log(error.name + ': ' + error.message); }`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    encoding: 'utf8',
    ...(process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}),
  });
  if (process.getuid?.() !== 0) chmodSync(join(path, '..'), 0o755);
  return `${run.stdout}${run.stderr}`.trim();
}

describe('sqlite datastore permissions', () => {
  test('opening a datastore file this user cannot write fails with a message saying so', async () => {
    const dir = join(scratch, 'read-only');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(scratch, 0o755);
    const path = join(dir, 'calico.db');
    await (await openStore(path)).close();
    assert.match(
      openWithoutWriteAccess(path),
      /^DatastoreUnavailableError: sqlite datastore .*read-only\/calico\.db: the file is not writable/,
    );
  });
});

describe('sqlite datastore change log', () => {
  test('keeps only the last historyLimit changes; older watch revisions get resync-required', async () => {
    const datastore = await openStore(freshPath(), { historyLimit: 3 });
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

  test('a watcher whose poll falls behind another connection`s trimming gets resync-required', async () => {
    const path = freshPath();
    const watching = await openStore(path, { historyLimit: 5 });
    const writing = await openStore(path, { historyLimit: 5 });
    const watch = watching.watch('/')[Symbol.asyncIterator]();
    // Synchronous from the event loop's view: the watcher cannot poll until all 20 are written.
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 20; i++) writes.push(writing.create(`/k${i}`, String(i)));
    await Promise.all(writes);
    const first = await nextEvent(watch);
    assert.equal(first.value?.type, 'resync-required');
    assert.deepEqual(await nextEvent(watch), { value: undefined, done: true });
    await writing.close();
    await watching.close();
  });

  // How the poller is woken. The timer that is not under test is set to a minute, so only the
  // mechanism under test can deliver within the read deadline (5 s).
  const wakeRows: { name: string; options: SqliteDatastoreOptions }[] = [
    {
      name: 'the file watch on the -wal file wakes it (the 200 ms safety net set to a minute)',
      options: { notifiedPollIntervalMs: 60_000 },
    },
    {
      name: 'without the file watch, the fast timer finds the write',
      options: { watchFile: false, notifiedPollIntervalMs: 60_000 },
    },
  ];
  for (const row of wakeRows) {
    test(`another connection's write reaches a watcher: ${row.name}`, async () => {
      const path = freshPath();
      const watching = await openStore(path, row.options);
      const writing = await openStore(path);
      try {
        const watch = watching.watch('/')[Symbol.asyncIterator]();
        // Let the poller's first tick pass, so the write is found by a wake-up, not a first look.
        await new Promise((r) => setTimeout(r, 50));
        const kv = await writing.create('/woken', 'yes');
        assert.deepEqual((await nextEvent(watch)).value, { type: 'added', kv });
      } finally {
        await writing.close();
        await watching.close();
      }
    });
  }

  test('a watcher sees writes made through another connection without a write of its own', async () => {
    const path = freshPath();
    const watching = await openStore(path, { pollIntervalMs: 2 });
    const writing = await openStore(path);
    const watch = watching.watch('/')[Symbol.asyncIterator]();
    const kvs = [];
    for (let i = 0; i < 3; i++) kvs.push(await writing.create(`/k${i}`, String(i)));
    assert.deepEqual(
      await readEvents(watch, 3),
      kvs.map((kv) => ({ type: 'added', kv })),
    );
    await writing.close();
    await watching.close();
  });
});
