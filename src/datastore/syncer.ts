import { setTimeout as sleep } from 'node:timers/promises';
import { DatastoreUnavailableError } from './errors.js';
import { compareKeys } from './key-order.js';
import type { Datastore, KVPair } from './types.js';

/**
 * Keeps a consumer's copy of everything under a prefix equal to the store's, with nothing lost and
 * nothing invented, across watch failures and compaction. This is what Felix and the BGP daemon
 * build their state from.
 *
 * It lists the prefix, hands over the items as `added` and says `in-sync`, then follows a watch from
 * the list's revision. When the watch cannot continue (`resync-required` after compaction or a slow
 * consumer, or the watch failed because the store went away), the syncer lists again and compares
 * the new listing with what it has already told the consumer, and emits only the differences:
 * `added` for keys it never reported, `modified` for keys whose revision changed, `deleted` for keys
 * that are gone, then `in-sync` again. A consumer that applies every update therefore always holds
 * exactly what the store held at the last `in-sync` or event revision.
 */
export type SyncerUpdate =
  | { readonly type: 'added'; readonly kv: KVPair }
  | { readonly type: 'modified'; readonly kv: KVPair; readonly prev: KVPair }
  | { readonly type: 'deleted'; readonly key: string; readonly revision: number; readonly prev: KVPair }
  /** Everything up to `revision` has been delivered; sent after each (re-)listing. */
  | { readonly type: 'in-sync'; readonly revision: number }
  /** The watch broke and the syncer is listing again; `reason` says why. Updates follow. */
  | { readonly type: 'resyncing'; readonly reason: string };

export interface SyncerOptions {
  readonly signal?: AbortSignal;
  /** Wait before listing again after the store was unavailable, doubling to `maxRetryDelayMs`. Default 100 ms. */
  readonly retryDelayMs?: number;
  /** Default 5,000 ms. */
  readonly maxRetryDelayMs?: number;
}

/** What the consumer has been told: key → the KV it last saw. */
type View = Map<string, KVPair>;

/** The updates that turn `view` into `listed`, in key order; `view` is updated to match. */
export function reconcile(view: View, listed: readonly KVPair[]): SyncerUpdate[] {
  const updates: SyncerUpdate[] = [];
  const present = new Set<string>();
  for (const kv of listed) {
    present.add(kv.key);
    const known = view.get(kv.key);
    if (known === undefined) updates.push({ type: 'added', kv });
    else if (known.revision !== kv.revision || known.value !== kv.value)
      updates.push({ type: 'modified', kv, prev: known });
    view.set(kv.key, kv);
  }
  const gone = [...view.keys()].filter((key) => !present.has(key)).sort(compareKeys);
  for (const key of gone) {
    const prev = view.get(key) as KVPair;
    view.delete(key);
    // The delete's own revision is unknown after a re-list; the listing's revision bounds it.
    updates.push({ type: 'deleted', key, revision: prev.revision, prev });
  }
  return updates;
}

export async function* syncPrefix(
  datastore: Datastore,
  prefix: string,
  options: SyncerOptions = {},
): AsyncGenerator<SyncerUpdate, void, undefined> {
  const view: View = new Map();
  const initialDelay = options.retryDelayMs ?? 100;
  const maxDelay = options.maxRetryDelayMs ?? 5_000;
  let delay = initialDelay;
  while (!options.signal?.aborted) {
    let listed;
    try {
      listed = await datastore.list(prefix);
    } catch (error) {
      if (!(error instanceof DatastoreUnavailableError) || options.signal?.aborted) throw error;
      await pause(delay, options.signal);
      delay = Math.min(delay * 2, maxDelay);
      continue;
    }
    for (const update of reconcile(view, listed.items)) {
      // Deletions found by a re-list carry the listing's revision: the delete happened by then.
      yield update.type === 'deleted' ? { ...update, revision: listed.revision } : update;
    }
    yield { type: 'in-sync', revision: listed.revision };
    let reason: string | undefined;
    try {
      reason = yield* follow(datastore, prefix, listed.revision, view, options.signal);
      // A watch that ends without asking for a resync was stopped (abort, or the store closed).
      if (reason === undefined) return;
      delay = initialDelay;
    } catch (error) {
      if (!(error instanceof DatastoreUnavailableError) || options.signal?.aborted) throw error;
      reason = error.message;
      await pause(delay, options.signal);
      delay = Math.min(delay * 2, maxDelay);
    }
    if (options.signal?.aborted) return;
    yield { type: 'resyncing', reason };
  }
}

/** Applies watch events to the view and yields them; returns why a resync is needed, if it is. */
async function* follow(
  datastore: Datastore,
  prefix: string,
  fromRevision: number,
  view: View,
  signal: AbortSignal | undefined,
): AsyncGenerator<SyncerUpdate, string | undefined, undefined> {
  const watch = datastore.watch(prefix, { fromRevision, ...(signal ? { signal } : {}) });
  for await (const event of watch) {
    switch (event.type) {
      case 'added':
      case 'modified': {
        const known = view.get(event.kv.key);
        view.set(event.kv.key, event.kv);
        yield known === undefined
          ? { type: 'added', kv: event.kv }
          : { type: 'modified', kv: event.kv, prev: known };
        break;
      }
      case 'deleted': {
        const known = view.get(event.key);
        if (known === undefined) break;
        view.delete(event.key);
        yield { type: 'deleted', key: event.key, revision: event.revision, prev: known };
        break;
      }
      case 'resync-required':
        return event.reason;
      default: {
        const never: never = event;
        throw new Error(`unknown watch event ${JSON.stringify(never)}`);
      }
    }
  }
  return undefined;
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch {
    // Aborted: the caller checks the signal.
  }
}

/** The updates that change a consumer's copy (not the syncer's own in-sync and resyncing notes). */
export type SyncerChange = Extract<SyncerUpdate, { readonly type: 'added' | 'modified' | 'deleted' }>;

/**
 * A long-running consumer of one prefix (Felix, the BGP speaker): it applies changes to its copy
 * and recomputes from the copy when something mattered. Both kept the same loop around
 * `syncPrefix`; `followPrefix` is that loop, so they cannot drift apart on what a resync or a
 * failed syncer means.
 */
export interface PrefixFollower {
  /** Applies one change; returns false when it changed nothing the consumer acts on. */
  change(update: SyncerChange): boolean | void;
  /** Everything up to `revision` has been delivered (after the first listing and each re-list). */
  inSync(revision: number): void;
  resyncing(reason: string): void;
  /** After a change that mattered, and after each in-sync: recompute (coalescing is the consumer's). */
  settle(): void;
  /** The syncer stopped with an error; not called when `signal` ended it. */
  failed(error: unknown): void;
}

/** Runs `syncPrefix` for `prefix` into `follower` until `options.signal` aborts or the syncer fails. */
export async function followPrefix(
  datastore: Datastore,
  prefix: string,
  follower: PrefixFollower,
  options: SyncerOptions = {},
): Promise<void> {
  try {
    for await (const update of syncPrefix(datastore, prefix, options)) {
      switch (update.type) {
        case 'in-sync':
          follower.inSync(update.revision);
          follower.settle();
          break;
        case 'resyncing':
          follower.resyncing(update.reason);
          break;
        case 'added':
        case 'modified':
        case 'deleted':
          if (follower.change(update) !== false) follower.settle();
          break;
        default: {
          const never: never = update;
          throw new Error(`unknown syncer update ${JSON.stringify(never)}`);
        }
      }
    }
  } catch (error) {
    if (!options.signal?.aborted) follower.failed(error);
  }
}
