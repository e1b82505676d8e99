import { DatastoreUnavailableError, KeyExistsError } from './errors.js';
import { compareKeys } from './key-order.js';
import { checkExpectedRevision, compactedReason, requireNonNegativeInteger } from './revision-checks.js';
import type { Datastore, KVPair, ListResult, WatchEvent, WatchOptions } from './types.js';
import { WatchHub, type Change } from './watch-hub.js';
import { failedWatch, resyncWatch } from './watch-stream.js';

/**
 * The whole datastore in one process's memory, for unit tests and for anything that needs the real
 * contract without a file: store-wide revisions, compare-and-swap, and watches that resume from a
 * revision. It keeps a bounded log of recent changes, exactly like the persistent backends, so code
 * under test meets `resync-required` the same way it would against SQLite or etcd.
 */
export interface MemoryDatastoreOptions {
  /** How many recent changes are kept for watch replay; older revisions get `resync-required`. Default 10,000. */
  readonly historyLimit?: number;
  /** Most undelivered events one watcher may hold before it gets `resync-required`. Default 65,536. */
  readonly watchBufferLimit?: number;
}

export const DEFAULT_HISTORY_LIMIT = 10_000;
export const DEFAULT_WATCH_BUFFER_LIMIT = 65_536;

export class MemoryDatastore implements Datastore {
  readonly type = 'memory' as const;
  private readonly entries = new Map<string, KVPair>();
  private revision = 0;
  /** Changes compactedThrough+1 .. revision, contiguous, oldest first (from index `historyHead`). */
  private history: Change[] = [];
  private historyHead = 0;
  private compactedThrough = 0;
  private closed = false;
  private readonly historyLimit: number;
  private readonly hub: WatchHub;

  constructor(options: MemoryDatastoreOptions = {}) {
    this.historyLimit = requireNonNegativeInteger(
      'memory datastore historyLimit',
      options.historyLimit ?? DEFAULT_HISTORY_LIMIT,
    );
    this.hub = new WatchHub({ bufferLimit: options.watchBufferLimit ?? DEFAULT_WATCH_BUFFER_LIMIT });
  }

  async get(key: string): Promise<KVPair | undefined> {
    this.assertOpen();
    return this.entries.get(key);
  }

  async list(prefix: string): Promise<ListResult> {
    this.assertOpen();
    const items: KVPair[] = [];
    for (const [key, kv] of this.entries) if (key.startsWith(prefix)) items.push(kv);
    items.sort((a, b) => compareKeys(a.key, b.key));
    return { items, revision: this.revision };
  }

  async create(key: string, value: string): Promise<KVPair> {
    this.assertOpen();
    if (this.entries.has(key)) throw new KeyExistsError(key);
    return this.commit(key, value, undefined);
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KVPair> {
    this.assertOpen();
    const prev = checkExpectedRevision(key, this.entries.get(key), expectedRevision);
    return this.commit(key, value, prev);
  }

  async delete(key: string, expectedRevision?: number): Promise<KVPair> {
    this.assertOpen();
    const prev = checkExpectedRevision(key, this.entries.get(key), expectedRevision);
    this.entries.delete(key);
    this.record({ revision: ++this.revision, key, value: undefined, prev });
    return prev;
  }

  watch(prefix: string, options: WatchOptions = {}): AsyncIterableIterator<WatchEvent> {
    if (this.closed) return failedWatch(closedError());
    const from = requireNonNegativeInteger('watch fromRevision', options.fromRevision ?? this.revision);
    if (from < this.compactedThrough) return resyncWatch(compactedReason(from, this.compactedThrough));
    const firstIndex = this.historyHead + Math.max(0, from - this.compactedThrough);
    return this.hub.open(prefix, {
      after: from,
      signal: options.signal,
      backlog: this.history.slice(firstIndex),
    });
  }

  async currentRevision(): Promise<number> {
    this.assertOpen();
    return this.revision;
  }

  /** Forgets history up to and including `throughRevision`; watches from before it get `resync-required`. */
  compact(throughRevision: number): void {
    const through = Math.min(requireNonNegativeInteger('compact revision', throughRevision), this.revision);
    if (through <= this.compactedThrough) return;
    this.historyHead += through - this.compactedThrough;
    this.compactedThrough = through;
    // Reclaim the dropped front once it is most of the array, so compaction stays amortised O(1).
    if (this.historyHead * 2 >= this.history.length) {
      this.history = this.history.slice(this.historyHead);
      this.historyHead = 0;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hub.stopAll();
  }

  private commit(key: string, value: string, prev: KVPair | undefined): KVPair {
    const kv: KVPair = { key, value, revision: ++this.revision };
    this.entries.set(key, kv);
    this.record({ revision: kv.revision, key, value, prev });
    return kv;
  }

  private record(change: Change): void {
    this.history.push(change);
    if (this.revision - this.compactedThrough > this.historyLimit)
      this.compact(this.revision - this.historyLimit);
    this.hub.dispatch(change);
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

function closedError(): DatastoreUnavailableError {
  return new DatastoreUnavailableError('the memory datastore is closed; open a new MemoryDatastore');
}
