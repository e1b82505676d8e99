import { setTimeout as sleep } from 'node:timers/promises';
import type { IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import type { EtcdConnection } from './etcd-connection.js';
import {
  EtcdUnavailableError,
  classifyEtcdFailure,
  describeEtcdFailure,
  etcdFailure,
  isPermanent,
} from './etcd-errors.js';
import { prefixRange, toKVPair, type KeyRange } from './etcd-keys.js';
import { compactedReason } from './revision-checks.js';
import type { KVPair, WatchEvent } from './types.js';
import type { WatchStream } from './watch-stream.js';

/**
 * One `Datastore.watch` over etcd: a gRPC watch stream that survives etcd going away.
 *
 * Why our own resume logic rather than the etcd3 client's Watcher: that one restarts a broken stream
 * from the revision in the last response header, which is the store's revision when the response
 * was sent, not the last event delivered, so a stream that breaks while replaying history loses the
 * rest of it. Here the only revision we trust is the one we handed to the caller: `lastDelivered`
 * moves with each event we push, or with a progress notification (etcd sends those only to watchers
 * that have caught up, so every change up to that revision has been delivered). When the stream
 * breaks we wait (backoff, doubling to a cap), check with a unary call that etcd answers (which also
 * renews an expired auth token), and open a new stream from `lastDelivered + 1`. If etcd has
 * compacted that revision away, it cancels the watch with `compact_revision` set and we deliver
 * `resync-required`. A problem only configuration can fix (permission denied, TLS) fails the stream.
 */
export interface EtcdWatchOptions {
  readonly connection: EtcdConnection;
  readonly prefix: string;
  /** Deliver changes after this revision. */
  readonly after: number;
  readonly stream: WatchStream;
  /** Every response header's revision, so the datastore's idea of "now" keeps up. */
  readonly observeRevision: (revision: number) => void;
  /** A cheap unary call that proves etcd answers (and renews auth) before a stream is opened. */
  readonly probe: () => Promise<void>;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
}

export class EtcdWatch {
  private lastDelivered: number;
  private readonly range: KeyRange;
  private grpcStream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  private stopped = false;
  private backoffMs: number;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Aborted by stop(), so a reconnect loop waiting out its backoff ends at once. */
  private readonly stopping = new AbortController();
  /** Times a broken stream was replaced; for tests and diagnostics. */
  reconnects = 0;

  constructor(private readonly options: EtcdWatchOptions) {
    this.lastDelivered = options.after;
    this.range = prefixRange(options.prefix);
    this.backoffMs = options.backoff.initialMs;
  }

  get deliveredThrough(): number {
    return this.lastDelivered;
  }

  start(): void {
    void this.connect();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stopping.abort();
    this.grpcStream?.cancel();
    this.grpcStream = undefined;
  }

  /** Stops the watch and ends its stream, so a consumer waiting for the next event sees the end. */
  close(): void {
    this.stop();
    this.options.stream.stop();
  }

  private operation(): string {
    return `watch ${this.options.prefix} from revision ${this.lastDelivered + 1}`;
  }

  private async connect(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.options.probe();
        const grpcStream = await this.options.connection.watchClient.watch();
        if (this.stopped) {
          grpcStream.cancel();
          return;
        }
        this.attach(grpcStream);
        return;
      } catch (error) {
        if (this.stopped) return;
        const failure = describeEtcdFailure(error, this.options.connection.context(this.operation()));
        if (failure instanceof EtcdUnavailableError && isPermanent(failure.problem)) {
          this.fail(failure);
          return;
        }
        await sleep(this.nextBackoff(), undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
  }

  private attach(grpcStream: IDuplexStream<IWatchRequest, IWatchResponse>): void {
    this.grpcStream = grpcStream;
    let broken = false;
    const replace = (): void => {
      if (broken) return;
      broken = true;
      grpcStream.cancel();
      if (this.grpcStream === grpcStream) this.grpcStream = undefined;
      if (this.stopped) return;
      this.reconnects++;
      this.retryTimer = setTimeout(() => void this.connect(), this.nextBackoff());
    };
    grpcStream.on('data', (response: IWatchResponse) => {
      if (!broken && !this.stopped) this.onResponse(response);
    });
    grpcStream.on('error', (error: Error) => {
      if (broken || this.stopped) return;
      const problem = classifyEtcdFailure(error.message);
      // An expired token is renewed by the probe before the next stream opens.
      if (isPermanent(problem) && !/invalid auth token/i.test(error.message)) {
        broken = true;
        this.fail(etcdFailure(problem, error.message, this.options.connection.context(this.operation())));
        return;
      }
      replace();
    });
    grpcStream.on('end', replace);
    grpcStream.write({
      create_request: {
        key: this.range.key,
        range_end: this.range.range_end,
        start_revision: this.lastDelivered + 1,
        prev_kv: true,
        progress_notify: true,
      },
    });
  }

  private onResponse(response: IWatchResponse): void {
    const headerRevision = Number(response.header?.revision ?? 0);
    if (headerRevision > 0) this.options.observeRevision(headerRevision);
    if (response.canceled) {
      this.onCanceled(response);
      return;
    }
    if (response.created) {
      this.backoffMs = this.options.backoff.initialMs;
      return;
    }
    if (response.events.length === 0) {
      // A progress notification: everything up to the header revision has been delivered.
      if (headerRevision > this.lastDelivered) this.lastDelivered = headerRevision;
      return;
    }
    // Several events may share one revision (a multi-key transaction), so compare with the revision
    // delivered before this response, and move it only after the whole response.
    const before = this.lastDelivered;
    let through = before;
    for (const event of response.events) {
      const revision = Number(event.kv.mod_revision);
      if (revision <= before) continue;
      this.options.stream.push(toWatchEvent(event));
      if (revision > through) through = revision;
    }
    this.lastDelivered = through;
  }

  private onCanceled(response: IWatchResponse): void {
    const compacted = Number(response.compact_revision ?? 0);
    if (compacted > 0) {
      this.options.stream.requireResync(compactedReason(this.lastDelivered, compacted - 1));
      this.stop();
      return;
    }
    const reason = response.cancel_reason || 'etcd cancelled the watch without a reason';
    this.fail(
      etcdFailure(classifyEtcdFailure(reason), reason, this.options.connection.context(this.operation())),
    );
  }

  private fail(error: Error): void {
    this.options.stream.fail(error);
    this.stop();
  }

  private nextBackoff(): number {
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.backoff.maxMs);
    // A little jitter so that many watchers do not all reconnect in the same millisecond.
    return delay * (0.75 + Math.random() * 0.5);
  }
}

export function toWatchEvent(event: IEvent): WatchEvent {
  const prev: KVPair | undefined = event.prev_kv ? toKVPair(event.prev_kv) : undefined;
  if (event.type === 'Delete') {
    const key = event.kv.key.toString('utf8');
    const revision = Number(event.kv.mod_revision);
    return prev === undefined ? { type: 'deleted', key, revision } : { type: 'deleted', key, revision, prev };
  }
  const kv = toKVPair(event.kv);
  // Version 1 is the write that created the key; the previous value may be missing (compacted).
  if (event.kv.version === '1') return { type: 'added', kv };
  return prev === undefined ? { type: 'modified', kv } : { type: 'modified', kv, prev };
}
