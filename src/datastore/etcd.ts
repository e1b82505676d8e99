import type { IRangeResponse, ITxnRequest, ITxnResponse } from 'etcd3';
import { EtcdConnection, type EtcdConnectionOptions } from './etcd-connection.js';
import { etcdFailure } from './etcd-errors.js';
import { keyAfter, prefixRange, toKVPair } from './etcd-keys.js';
import { EtcdWatch } from './etcd-watch.js';
import { KeyExistsError, KeyNotFoundError, RevisionConflictError } from './errors.js';
import { requireNonNegativeInteger } from './revision-checks.js';
import type { Datastore, KVPair, ListResult, WatchEvent, WatchOptions } from './types.js';
import { WatchStream, failedWatch } from './watch-stream.js';

/**
 * The cluster datastore: the `Datastore` contract on etcd v3.
 *
 * The contract was written with etcd in mind, so most of it maps one to one: our store-wide
 * revision is etcd's revision and a key's revision is its mod revision; every write is one etcd
 * transaction whose compare is the compare-and-swap (create: create_revision == 0; update and
 * delete: mod_revision == expected, or version > 0 when no revision is expected), and whose failure
 * branch reads the key back, so a refused write says whether the key was missing or changed, in one
 * round trip. Listing pages through the range (`pageSize` keys a page, each page starting just after
 * the previous last key) at the first page's revision, so a large listing is consistent without one
 * huge response (and starts again if a compaction removes that revision midway). Watches are
 * `EtcdWatch`es, which resume after etcd restarts; a watch without `fromRevision` starts after the
 * highest revision this client has seen in any response, which includes its own latest write.
 *
 * Calls are bounded in time by `EtcdConnection` and fail with an `EtcdUnavailableError` that names
 * the endpoint and the problem (unreachable, TLS, authentication, permission denied).
 */
export interface EtcdDatastoreOptions extends EtcdConnectionOptions {
  /** Keys per range request when listing. Default 1,000. */
  readonly pageSize?: number;
  /** Most undelivered events one watcher may hold before it gets `resync-required`. Default 65,536. */
  readonly watchBufferLimit?: number;
  /**
   * A key every user of ours may read, ranged over to learn the current revision (a linearizable
   * read, unlike the maintenance status call). Default "/calico/", the root of our key space.
   */
  readonly revisionProbeKey?: string;
  /** Delay before a broken watch reconnects, doubling up to `maxMs`. Default 100 ms to 2 s. */
  readonly watchBackoff?: { readonly initialMs: number; readonly maxMs: number };
}

export const ETCD_DEFAULTS = {
  pageSize: 1_000,
  watchBufferLimit: 65_536,
  watchBackoff: { initialMs: 100, maxMs: 2_000 },
  revisionProbeKey: '/calico/',
} as const;

export class EtcdDatastore implements Datastore {
  readonly type = 'etcdv3' as const;
  private readonly watches = new Set<EtcdWatch>();
  /** The highest revision any response has shown us: where a watch without `fromRevision` starts. */
  private knownRevision = 0;
  private readonly pageSize: number;
  private readonly watchBufferLimit: number;
  private readonly watchBackoff: { readonly initialMs: number; readonly maxMs: number };
  private readonly revisionProbeKey: Buffer;

  /**
   * Connects and makes one request, so a wrong endpoint, CA or password fails here, with its name,
   * rather than at the first real use.
   */
  static async open(options: EtcdDatastoreOptions): Promise<EtcdDatastore> {
    const datastore = new EtcdDatastore(new EtcdConnection(options), options);
    try {
      await datastore.currentRevision();
      return datastore;
    } catch (error) {
      await datastore.close();
      throw error;
    }
  }

  private constructor(
    readonly connection: EtcdConnection,
    options: EtcdDatastoreOptions,
  ) {
    this.pageSize = requireNonNegativeInteger('etcd pageSize', options.pageSize ?? ETCD_DEFAULTS.pageSize);
    if (this.pageSize === 0) throw new RangeError('etcd pageSize must be at least 1');
    this.watchBufferLimit = options.watchBufferLimit ?? ETCD_DEFAULTS.watchBufferLimit;
    this.watchBackoff = options.watchBackoff ?? ETCD_DEFAULTS.watchBackoff;
    this.revisionProbeKey = Buffer.from(options.revisionProbeKey ?? ETCD_DEFAULTS.revisionProbeKey, 'utf8');
  }

  get endpoints(): readonly string[] {
    return this.connection.endpoints;
  }

  async get(key: string): Promise<KVPair | undefined> {
    const response = await this.connection.call(`get ${key}`, true, (options) =>
      this.connection.kv.range({ key: Buffer.from(key, 'utf8') }, options),
    );
    this.observe(response);
    const kv = response.kvs[0];
    return kv === undefined ? undefined : toKVPair(kv);
  }

  async list(prefix: string): Promise<ListResult> {
    // A compaction between two pages removes the snapshot the later pages read; start again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.listSnapshot(prefix);
      } catch (error) {
        if (
          attempt >= 3 ||
          !(error instanceof Error) ||
          !/required revision has been compacted/.test(error.message)
        )
          throw error;
      }
    }
  }

  private async listSnapshot(prefix: string): Promise<ListResult> {
    const { key: first, range_end } = prefixRange(prefix);
    const items: KVPair[] = [];
    let start = first;
    let revision = 0;
    for (;;) {
      const response = await this.connection.call(
        `list ${prefix} (page ${Math.floor(items.length / this.pageSize) + 1})`,
        true,
        (options) =>
          this.connection.kv.range(
            { key: start, range_end, limit: this.pageSize, ...(revision > 0 ? { revision } : {}) },
            options,
          ),
      );
      this.observe(response);
      // Every later page reads the store as it was at the first page, so the list is one snapshot.
      if (revision === 0) revision = Number(response.header.revision);
      for (const kv of response.kvs) items.push(toKVPair(kv));
      const last = response.kvs[response.kvs.length - 1];
      if (!response.more || last === undefined) return { items, revision };
      start = keyAfter(last.key);
    }
  }

  async create(key: string, value: string): Promise<KVPair> {
    const k = Buffer.from(key, 'utf8');
    const response = await this.txn(`create ${key}`, {
      compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key: k, value: Buffer.from(value, 'utf8') } }],
    });
    if (!response.succeeded) throw new KeyExistsError(key);
    return { key, value, revision: Number(response.header.revision) };
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KVPair> {
    const k = Buffer.from(key, 'utf8');
    const response = await this.txn(`update ${key}`, {
      compare: [this.presentAt(k, expectedRevision)],
      success: [{ request_put: { key: k, value: Buffer.from(value, 'utf8') } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!response.succeeded) throw this.refusal(key, expectedRevision, response);
    return { key, value, revision: Number(response.header.revision) };
  }

  async delete(key: string, expectedRevision?: number): Promise<KVPair> {
    const k = Buffer.from(key, 'utf8');
    const response = await this.txn(`delete ${key}`, {
      compare: [this.presentAt(k, expectedRevision)],
      success: [{ request_delete_range: { key: k, prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!response.succeeded) throw this.refusal(key, expectedRevision, response);
    const prev = response.responses[0]?.response_delete_range?.prev_kvs[0];
    // The compare said the key was there, and the transaction is atomic, so it was deleted.
    if (prev === undefined) throw new KeyNotFoundError(key);
    return toKVPair(prev);
  }

  watch(prefix: string, options: WatchOptions = {}): AsyncIterableIterator<WatchEvent> {
    if (this.connection.isClosed)
      return failedWatch(etcdFailure('closed', '', this.connection.context(`watch ${prefix}`)));
    const after = requireNonNegativeInteger('watch fromRevision', options.fromRevision ?? this.knownRevision);
    // The stream and the watch refer to each other: the stream's end stops the watch.
    const link: { watch?: EtcdWatch } = {};
    const stream = new WatchStream({
      bufferLimit: this.watchBufferLimit,
      signal: options.signal,
      onEnd: () => {
        if (link.watch === undefined) return;
        link.watch.stop();
        this.watches.delete(link.watch);
      },
    });
    if (!stream.isOpen) return stream;
    const watch = new EtcdWatch({
      connection: this.connection,
      prefix,
      after,
      stream,
      observeRevision: (revision) => this.observeRevision(revision),
      probe: async () => {
        await this.currentRevision();
      },
      backoff: this.watchBackoff,
    });
    link.watch = watch;
    this.watches.add(watch);
    watch.start();
    return stream;
  }

  async currentRevision(): Promise<number> {
    // A count of one key costs the server next to nothing and carries the header.
    const response = await this.connection.call('read the current revision', true, (options) =>
      this.connection.kv.range({ key: this.revisionProbeKey, count_only: true }, options),
    );
    this.observe(response);
    return Number(response.header.revision);
  }

  /**
   * Drops history before `throughRevision` (etcd keeps the state at that revision itself): watches
   * from an earlier revision get `resync-required`. Needs the etcd root role when auth is on.
   */
  async compact(throughRevision: number): Promise<void> {
    requireNonNegativeInteger('compact revision', throughRevision);
    await this.connection.call(`compact through revision ${throughRevision}`, true, (options) =>
      this.connection.kv.compact({ revision: throughRevision, physical: true }, options),
    );
  }

  async close(): Promise<void> {
    for (const watch of [...this.watches]) watch.close();
    this.watches.clear();
    this.connection.close();
  }

  private presentAt(key: Buffer, expectedRevision: number | undefined) {
    return expectedRevision === undefined
      ? { key, target: 'Version' as const, result: 'Greater' as const, version: 0 }
      : { key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: expectedRevision };
  }

  /** Why a guarded write was refused, from the key as the failure branch read it. */
  private refusal(key: string, expectedRevision: number | undefined, response: ITxnResponse): Error {
    const current = response.responses[0]?.response_range?.kvs[0];
    if (current === undefined) return new KeyNotFoundError(key);
    return new RevisionConflictError(key, expectedRevision ?? 0, Number(current.mod_revision));
  }

  private async txn(operation: string, request: ITxnRequest): Promise<ITxnResponse> {
    // Not idempotent: a create that landed but whose answer was lost would, sent again, report
    // KeyExistsError for our own write. Retried only when it never left (see EtcdConnection.call).
    const response = await this.connection.call(operation, false, (options) =>
      this.connection.kv.txn(request, options),
    );
    this.observe(response);
    return response;
  }

  private observe(response: IRangeResponse | ITxnResponse): void {
    this.observeRevision(Number(response.header.revision));
  }

  private observeRevision(revision: number): void {
    if (revision > this.knownRevision) this.knownRevision = revision;
  }
}
