import type { KVPair, WatchEvent } from './types.js';
import { WatchStream } from './watch-stream.js';

/**
 * The watchers of one open datastore, and the one place that turns a stored change into the events
 * they see.
 *
 * Every backend records each write as a `Change` (new value and previous value, at one store-wide
 * revision) and hands it here in revision order; the hub delivers it to every watcher whose prefix
 * matches and whose start revision it is past. Keeping the fan-out in one place means memory and
 * SQLite (and later etcd) cannot disagree about event types, prefix matching or resync behaviour.
 */

/** One write as the change log stores it. */
export interface Change {
  readonly revision: number;
  readonly key: string;
  /** The value written; undefined for a delete. */
  readonly value: string | undefined;
  /** What the key held before this write; undefined when the write created it. */
  readonly prev: KVPair | undefined;
}

export function changeToWatchEvent(change: Change): WatchEvent {
  const { key, value, revision, prev } = change;
  if (value === undefined) {
    return prev === undefined ? { type: 'deleted', key, revision } : { type: 'deleted', key, revision, prev };
  }
  const kv: KVPair = { key, value, revision };
  return prev === undefined ? { type: 'added', kv } : { type: 'modified', kv, prev };
}

export interface WatchHubOptions {
  /** Per-watcher bound on undelivered events (see WatchStream). */
  readonly bufferLimit: number;
  /** Called when the last watcher goes away, e.g. to stop a poller. */
  readonly onIdle?: () => void;
}

export interface OpenWatchOptions {
  /** Changes at or below this revision are never delivered to this watcher. */
  readonly after: number;
  readonly signal?: AbortSignal | undefined;
  /**
   * Changes that happened before the watch opened, in revision order, delivered first. The backend
   * must not later dispatch any change the backlog covered.
   */
  readonly backlog?: Iterable<Change>;
}

interface Registration {
  readonly prefix: string;
  readonly after: number;
  readonly stream: WatchStream;
}

export class WatchHub {
  private readonly watchers = new Set<Registration>();

  constructor(private readonly options: WatchHubOptions) {
    if (!Number.isInteger(options.bufferLimit) || options.bufferLimit < 1) {
      throw new RangeError(`watch buffer limit must be a positive integer, got ${options.bufferLimit}`);
    }
  }

  get size(): number {
    return this.watchers.size;
  }

  open(prefix: string, options: OpenWatchOptions): WatchStream {
    let registration: Registration | undefined;
    const stream = new WatchStream({
      bufferLimit: this.options.bufferLimit,
      signal: options.signal,
      onEnd: () => {
        if (registration !== undefined && this.watchers.delete(registration) && this.watchers.size === 0) {
          this.options.onIdle?.();
        }
      },
    });
    for (const change of options.backlog ?? []) {
      if (change.revision <= options.after || !change.key.startsWith(prefix)) continue;
      stream.push(changeToWatchEvent(change));
    }
    if (stream.isOpen) {
      registration = { prefix, after: options.after, stream };
      this.watchers.add(registration);
    }
    return stream;
  }

  /** Delivers one change; callers hand changes over in increasing revision order. */
  dispatch(change: Change): void {
    let event: WatchEvent | undefined;
    for (const watcher of this.watchers) {
      if (change.revision <= watcher.after || !change.key.startsWith(watcher.prefix)) continue;
      event ??= changeToWatchEvent(change);
      watcher.stream.push(event);
    }
  }

  /** Every watcher gets `resync-required` and ends: history they need is gone. */
  requireResyncAll(reason: string): void {
    for (const watcher of [...this.watchers]) watcher.stream.requireResync(reason);
  }

  /** Every watcher's next read rejects with `error`, then it ends. */
  failAll(error: unknown): void {
    for (const watcher of [...this.watchers]) watcher.stream.fail(error);
  }

  stopAll(): void {
    for (const watcher of [...this.watchers]) watcher.stream.stop();
  }
}
