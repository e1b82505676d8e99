/**
 * The one key-value contract every backend (memory, sqlite, etcd) implements.
 *
 * Keys are slash-separated paths (`/calico/resources/v3/projectcalico.org/ippools/default-ipv4`);
 * values are JSON text. Every stored value carries the store-wide revision of its last write, a
 * positive integer that only grows, like etcd's mod revision. Writes are compare-and-swap on that
 * revision, so two writers racing on one key cannot both win. Watches resume from a revision; when
 * the backend can no longer replay from there (history compacted), the watch says so with a
 * `resync-required` event and the caller must list again.
 */

/** A stored key, its JSON value, and the revision of the write that produced it. */
export interface KVPair {
  readonly key: string;
  readonly value: string;
  readonly revision: number;
}

/** The result of a prefix listing: the items in key order, and the store revision they are consistent with. */
export interface ListResult {
  readonly items: KVPair[];
  /** Watching from this revision misses nothing and repeats nothing that the list returned. */
  readonly revision: number;
}

export type WatchEvent =
  | { readonly type: 'added'; readonly kv: KVPair }
  | { readonly type: 'modified'; readonly kv: KVPair; readonly prev?: KVPair }
  | {
      readonly type: 'deleted';
      readonly key: string;
      /** Revision of the delete itself. */
      readonly revision: number;
      readonly prev?: KVPair;
    }
  | {
      /** History from the requested revision is gone (compacted); list again and watch from the list's revision. */
      readonly type: 'resync-required';
      readonly reason: string;
    };

export interface WatchOptions {
  /** Deliver only changes with a revision greater than this. Omitted: changes after the watch starts. */
  readonly fromRevision?: number;
  /** Aborting ends the iteration cleanly. */
  readonly signal?: AbortSignal;
}

export type DatastoreType = 'memory' | 'sqlite' | 'etcdv3';

export interface Datastore {
  readonly type: DatastoreType;
  get(key: string): Promise<KVPair | undefined>;
  /** Every key that starts with `prefix`, in byte order of the key. */
  list(prefix: string): Promise<ListResult>;
  /** Fails with `KeyExistsError` if the key is present. */
  create(key: string, value: string): Promise<KVPair>;
  /**
   * Replaces the value. With `expectedRevision`, fails with `RevisionConflictError` unless the stored
   * revision equals it; fails with `KeyNotFoundError` if the key is absent.
   */
  update(key: string, value: string, expectedRevision?: number): Promise<KVPair>;
  /** Removes the key and returns what it held; CAS like `update` when `expectedRevision` is given. */
  delete(key: string, expectedRevision?: number): Promise<KVPair>;
  /** Changes under `prefix` in revision order, as an async iterator; ends when the signal aborts or on close(). */
  watch(prefix: string, options?: WatchOptions): AsyncIterable<WatchEvent>;
  /** The store's current revision (the revision of its latest write). */
  currentRevision(): Promise<number>;
  close(): Promise<void>;
}
