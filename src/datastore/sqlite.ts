import { existsSync, mkdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { DatastoreUnavailableError, KeyExistsError } from './errors.js';
import { prefixUpperBound } from './key-order.js';
import { checkExpectedRevision, compactedReason, requireNonNegativeInteger } from './revision-checks.js';
import { describeSqliteFailure, isBusy } from './sqlite-errors.js';
import {
  SCHEMA_SQL,
  SCHEMA_VERSION,
  prepareStatements,
  type ChangeRow,
  type SqliteStatements,
} from './sqlite-schema.js';
import type { Datastore, KVPair, ListResult, WatchEvent, WatchOptions } from './types.js';
import { WatchHub, type Change } from './watch-hub.js';
import { failedWatch, resyncWatch } from './watch-stream.js';

/**
 * The embedded default datastore: one SQLite file that several processes (calicoctl, calico-node,
 * the CNI plugin) open at once.
 *
 * Why it is shaped like this:
 * - Every write is one `BEGIN IMMEDIATE` transaction that reads the meta revision, checks the
 *   compare-and-swap, writes the key, appends to the change log and bumps the revision. SQLite lets
 *   one writer in at a time across processes, so revisions are store-wide and strictly increasing
 *   and two processes racing on one key cannot both win. WAL mode lets readers proceed meanwhile;
 *   `synchronous=NORMAL` keeps commits off fsync (a power cut may lose the last commits, never
 *   corrupt the file).
 * - SQLite has no notification between processes, so watches poll. One poller per open datastore
 *   serves all its watchers; each tick first reads `PRAGMA data_version` (no I/O) and touches the
 *   change log only when another connection has committed. Writes made through this handle are
 *   delivered at once, without waiting for a tick. Every commit appends to the `-wal` file, so an
 *   inotify watch on the file's directory (fs.watch) wakes the poller when another process writes,
 *   and the timer is only the safety net (every 200 ms); where no watch can be set up (inotify
 *   limits, an in-memory store) the timer runs every 5 ms, as before: a daemon polling at 200 Hz
 *   spent ~1.6% of a core doing nothing (bench/node-memory's idle calico-node).
 * - The change log is trimmed to the last `historyLimit` writes. A watcher asking for an older
 *   revision, or one that fell behind the trim, gets `resync-required`, as etcd does after compaction.
 */
export interface SqliteDatastoreOptions {
  /** How long a write waits for another process's write lock before failing. Default 5,000 ms. */
  readonly busyTimeoutMs?: number;
  /** How often watchers look for other processes' writes when no file watch wakes them. Default 5 ms. */
  readonly pollIntervalMs?: number;
  /** How often they look anyway while a file watch wakes them on writes. Default 200 ms. */
  readonly notifiedPollIntervalMs?: number;
  /** Wake watchers through an inotify watch on the file's directory (default true). */
  readonly watchFile?: boolean;
  /** How many recent changes are kept for watch replay. Default 10,000. */
  readonly historyLimit?: number;
  /** Most undelivered events one watcher may hold before it gets `resync-required`. Default 65,536. */
  readonly watchBufferLimit?: number;
}

export const SQLITE_DEFAULTS = {
  busyTimeoutMs: 5_000,
  pollIntervalMs: 5,
  notifiedPollIntervalMs: 200,
  historyLimit: 10_000,
  watchBufferLimit: 65_536,
} as const;

type WriteKind = 'create' | 'update' | 'delete';

export class SqliteDatastore implements Datastore {
  readonly type = 'sqlite' as const;
  private readonly statements: SqliteStatements;
  private readonly hub: WatchHub;
  private readonly writeTransaction: (
    kind: WriteKind,
    key: string,
    value: string | undefined,
    expectedRevision: number | undefined,
  ) => Change;
  /** Revision through which changes have been handed to the watchers. */
  private lastSeen = 0;
  private lastDataVersion = -1;
  private poller: ReturnType<typeof setInterval> | undefined;
  private fileWatch: FSWatcher | undefined;
  private pollQueued = false;
  private closed = false;

  /**
   * Opens (creating if needed, with its parent directory) the datastore file at `path`. Async so that
   * opening can wait out another process that is creating the same file at the same moment.
   */
  static async open(path: string, options: SqliteDatastoreOptions = {}): Promise<SqliteDatastore> {
    const settings = {
      busyTimeoutMs: requireNonNegativeInteger(
        'sqlite busyTimeoutMs',
        options.busyTimeoutMs ?? SQLITE_DEFAULTS.busyTimeoutMs,
      ),
      pollIntervalMs: Math.max(
        1,
        requireNonNegativeInteger(
          'sqlite pollIntervalMs',
          options.pollIntervalMs ?? SQLITE_DEFAULTS.pollIntervalMs,
        ),
      ),
      notifiedPollIntervalMs: Math.max(
        1,
        requireNonNegativeInteger(
          'sqlite notifiedPollIntervalMs',
          options.notifiedPollIntervalMs ?? SQLITE_DEFAULTS.notifiedPollIntervalMs,
        ),
      ),
      watchFile: options.watchFile ?? true,
      historyLimit: requireNonNegativeInteger(
        'sqlite historyLimit',
        options.historyLimit ?? SQLITE_DEFAULTS.historyLimit,
      ),
      watchBufferLimit: options.watchBufferLimit ?? SQLITE_DEFAULTS.watchBufferLimit,
    };
    const file = path === ':memory:' ? path : resolve(path);
    if (file !== ':memory:') {
      try {
        makeDirectories(dirname(file));
      } catch (error) {
        throw new DatastoreUnavailableError(
          `sqlite datastore ${file}: cannot create its directory ${dirname(file)} (${(error as Error).message}); choose another SQLITE_PATH`,
        );
      }
    }
    let db: Database.Database;
    try {
      db = new Database(file, { timeout: settings.busyTimeoutMs });
    } catch (error) {
      throw describeSqliteFailure(error, file, settings.busyTimeoutMs);
    }
    try {
      await initialiseFile(db, file, settings.busyTimeoutMs);
      return new SqliteDatastore(file, db, settings);
    } catch (error) {
      db.close();
      throw describeSqliteFailure(error, file, settings.busyTimeoutMs);
    }
  }

  private constructor(
    /** The absolute path of the datastore file. */
    readonly path: string,
    private readonly db: Database.Database,
    private readonly settings: Required<SqliteDatastoreOptions>,
  ) {
    this.statements = prepareStatements(db);
    this.hub = new WatchHub({ bufferLimit: settings.watchBufferLimit, onIdle: () => this.stopPolling() });
    const transaction = db.transaction(
      (kind: WriteKind, key: string, value: string | undefined, expectedRevision: number | undefined) =>
        this.applyWrite(kind, key, value, expectedRevision),
    );
    this.writeTransaction = transaction.immediate;
  }

  async get(key: string): Promise<KVPair | undefined> {
    return this.run(() => copyKv(this.statements.getKv.get(key)));
  }

  async list(prefix: string): Promise<ListResult> {
    return this.run(() =>
      this.db.transaction(() => {
        const upper = prefixUpperBound(prefix);
        const rows =
          upper === undefined
            ? this.statements.listFrom.all(prefix)
            : this.statements.listRange.all(prefix, upper);
        const { revision } = this.readMeta();
        return {
          items: rows.map((row) => ({ key: row.key, value: row.value, revision: row.revision })),
          revision,
        };
      })(),
    );
  }

  async create(key: string, value: string): Promise<KVPair> {
    return this.write('create', key, value, undefined);
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KVPair> {
    return this.write('update', key, value, expectedRevision);
  }

  async delete(key: string, expectedRevision?: number): Promise<KVPair> {
    return this.write('delete', key, undefined, expectedRevision);
  }

  watch(prefix: string, options: WatchOptions = {}): AsyncIterableIterator<WatchEvent> {
    if (this.closed) return failedWatch(this.closedError());
    if (options.fromRevision !== undefined)
      requireNonNegativeInteger('watch fromRevision', options.fromRevision);
    try {
      const wasIdle = this.hub.size === 0;
      this.bringWatchersUpToDate(wasIdle);
      const from = options.fromRevision ?? this.lastSeen;
      let backlog: Change[] = [];
      if (from < this.lastSeen) {
        const replay = this.db.transaction(() => {
          const { compacted_revision } = this.readMeta();
          if (from < compacted_revision) return compacted_revision;
          backlog = this.statements.changesBetween.all(from, this.lastSeen).map(rowToChange);
          return undefined;
        })();
        if (replay !== undefined) return resyncWatch(compactedReason(from, replay));
      }
      const stream = this.hub.open(prefix, { after: from, signal: options.signal, backlog });
      if (this.hub.size > 0) this.startPolling();
      return stream;
    } catch (error) {
      return failedWatch(describeSqliteFailure(error, this.path, this.settings.busyTimeoutMs));
    }
  }

  async currentRevision(): Promise<number> {
    return this.run(() => this.readMeta().revision);
  }

  /** Trims the change log through `throughRevision`; watches from before it get `resync-required`. */
  async compact(throughRevision: number): Promise<void> {
    requireNonNegativeInteger('compact revision', throughRevision);
    this.run(() =>
      this.db
        .transaction(() => {
          const meta = this.readMeta();
          const through = Math.min(throughRevision, meta.revision);
          if (through <= meta.compacted_revision) return;
          this.statements.deleteChangesThrough.run(through);
          this.statements.setCompacted.run(through);
        })
        .immediate(),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopPolling();
    this.hub.stopAll();
    this.db.close();
  }

  private write(
    kind: WriteKind,
    key: string,
    value: string | undefined,
    expectedRevision: number | undefined,
  ): Promise<KVPair> {
    return this.run(() => {
      const change = this.writeTransaction(kind, key, value, expectedRevision);
      if (this.hub.size > 0) this.deliverOwnWrite(change);
      if (change.value !== undefined) return { key, value: change.value, revision: change.revision };
      return change.prev as KVPair;
    });
  }

  /** The body of every write; runs inside `BEGIN IMMEDIATE`, so no other process writes meanwhile. */
  private applyWrite(
    kind: WriteKind,
    key: string,
    value: string | undefined,
    expectedRevision: number | undefined,
  ): Change {
    const current = copyKv(this.statements.getKv.get(key));
    let prev: KVPair | undefined;
    if (kind === 'create') {
      if (current !== undefined) throw new KeyExistsError(key);
    } else {
      prev = checkExpectedRevision(key, current, expectedRevision);
    }
    const meta = this.readMeta();
    const revision = meta.revision + 1;
    if (value === undefined) this.statements.deleteKv.run(key);
    else this.statements.putKv.run(key, value, revision);
    const type = value === undefined ? 'deleted' : prev === undefined ? 'added' : 'modified';
    this.statements.insertChange.run(
      revision,
      key,
      type,
      value ?? null,
      prev?.value ?? null,
      prev?.revision ?? null,
    );
    const compactThrough = revision - this.settings.historyLimit;
    if (compactThrough > meta.compacted_revision) {
      this.statements.deleteChangesThrough.run(compactThrough);
      this.statements.setRevisionAndCompacted.run(revision, compactThrough);
    } else {
      this.statements.setRevision.run(revision);
    }
    return { revision, key, value, prev };
  }

  /** Our own write reaches our watchers now; if other processes wrote in between, read theirs first. */
  private deliverOwnWrite(change: Change): void {
    if (change.revision === this.lastSeen + 1) {
      this.lastSeen = change.revision;
      this.hub.dispatch(change);
    } else {
      this.catchUp();
    }
  }

  private bringWatchersUpToDate(idle: boolean): void {
    if (idle) {
      // Nobody was watching, so nothing is owed to anyone: start from the present.
      this.lastDataVersion = this.statements.dataVersion.get() ?? -1;
      this.lastSeen = this.readMeta().revision;
    } else {
      this.catchUp();
    }
  }

  /** Hands every change after `lastSeen` to the watchers, or tells them to resync if it is gone. */
  private catchUp(): void {
    this.db.transaction(() => {
      const meta = this.readMeta();
      if (meta.revision <= this.lastSeen) return;
      if (meta.compacted_revision > this.lastSeen) {
        this.hub.requireResyncAll(
          `changes after revision ${this.lastSeen} were compacted before this watcher read them; list again and watch from the list's revision`,
        );
        this.lastSeen = meta.revision;
        return;
      }
      for (const row of this.statements.changesBetween.iterate(this.lastSeen, meta.revision)) {
        this.lastSeen = row.revision;
        this.hub.dispatch(rowToChange(row));
      }
    })();
  }

  private pollOnce(): void {
    if (this.closed) return;
    try {
      const version = this.statements.dataVersion.get() ?? -1;
      if (version === this.lastDataVersion) return;
      this.lastDataVersion = version;
      this.catchUp();
    } catch (error) {
      // A reader is rarely refused in WAL mode (during recovery or a checkpoint restart); try next tick.
      if (isBusy(error)) {
        this.lastDataVersion = -1;
        return;
      }
      this.hub.failAll(describeSqliteFailure(error, this.path, this.settings.busyTimeoutMs));
    }
  }

  /** `watchFile: false` starts the fast timer alone (also after a lost file watch). */
  private startPolling(watchFile = this.settings.watchFile): void {
    if (this.poller !== undefined) return;
    this.fileWatch = watchFile ? this.watchForWrites() : undefined;
    this.poller = setInterval(
      () => this.pollOnce(),
      this.fileWatch !== undefined ? this.settings.notifiedPollIntervalMs : this.settings.pollIntervalMs,
    );
  }

  private stopPolling(): void {
    this.fileWatch?.close();
    this.fileWatch = undefined;
    if (this.poller === undefined) return;
    clearInterval(this.poller);
    this.poller = undefined;
  }

  /** `<dir>` watched for changes to `<file>-wal`, which every commit of any process appends to. */
  private watchForWrites(): FSWatcher | undefined {
    if (this.path === ':memory:') return undefined;
    const wal = `${basename(this.path)}-wal`;
    let watcher: FSWatcher;
    try {
      watcher = watch(dirname(this.path), { persistent: false }, (_event, name) => {
        if (name === wal) this.pollSoon();
      });
    } catch {
      return undefined; // no inotify here (or out of watches): the fast timer instead
    }
    watcher.on('error', () => {
      // Lost (the directory went away, say): back to the fast timer.
      if (this.fileWatch !== watcher) return;
      this.stopPolling();
      if (this.hub.size > 0 && !this.closed) this.startPolling(false);
    });
    return watcher;
  }

  /** One poll soon for any number of file events in a turn (a big write is many). */
  private pollSoon(): void {
    if (this.pollQueued) return;
    this.pollQueued = true;
    setImmediate(() => {
      this.pollQueued = false;
      this.pollOnce();
    });
  }

  private readMeta() {
    const meta = this.statements.getMeta.get();
    if (meta === undefined) {
      throw new DatastoreUnavailableError(
        `sqlite datastore ${this.path}: the meta row is missing; the file is damaged`,
      );
    }
    return meta;
  }

  private run<T>(operation: () => T): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    try {
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(describeSqliteFailure(error, this.path, this.settings.busyTimeoutMs));
    }
  }

  private closedError(): DatastoreUnavailableError {
    return new DatastoreUnavailableError(`sqlite datastore ${this.path} is closed; open it again`);
  }
}

/** WAL mode and the schema; retried while another process holds the file during its own first open. */
async function initialiseFile(db: Database.Database, file: string, busyTimeoutMs: number): Promise<void> {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.transaction(() => db.exec(SCHEMA_SQL)).immediate();
      break;
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      await sleep(5);
    }
  }
  const row = db
    .prepare<[], { schema_version: number }>('SELECT schema_version FROM meta WHERE id = 1')
    .get();
  if (row?.schema_version !== SCHEMA_VERSION) {
    throw new DatastoreUnavailableError(
      `sqlite datastore ${file}: the file uses datastore schema version ${row?.schema_version ?? 'unknown'}, this program understands ${SCHEMA_VERSION}; use a matching calico version or a new file`,
    );
  }
}

function copyKv(row: KVPair | undefined): KVPair | undefined {
  return row === undefined ? undefined : { key: row.key, value: row.value, revision: row.revision };
}

function rowToChange(row: ChangeRow): Change {
  const prev =
    row.prev_value === null || row.prev_revision === null
      ? undefined
      : { key: row.key, value: row.prev_value, revision: row.prev_revision };
  return { revision: row.revision, key: row.key, value: row.value ?? undefined, prev };
}

/**
 * `mkdir -p`, one level at a time. Node 20's `mkdirSync(dir, { recursive: true })` never returns
 * for a path under /proc (it retries the ENOENT it gets there forever); this fails at once with
 * the error of the first level that cannot be made.
 */
function makeDirectories(dir: string): void {
  const missing: string[] = [];
  let at = dir;
  for (; !existsSync(at); at = dirname(at)) {
    missing.push(at);
    if (dirname(at) === at) break;
  }
  if (existsSync(at) && !statSync(at).isDirectory()) throw new Error(`${at} is not a directory`);
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
