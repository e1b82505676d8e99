import type { WatchEvent } from './types.js';

/**
 * One watcher's queue between the backend that produces its events and the caller that iterates.
 *
 * Why our own queue rather than an async generator: backends produce events synchronously (inside a
 * write, or in a poll tick), before anyone awaits; the stream must hold them until pulled, end at once
 * on abort or close even while a `next()` is pending, and bound its memory when the consumer stops
 * reading. A consumer that falls more than `bufferLimit` events behind gets `resync-required` (as
 * etcd cancels a watcher that falls too far behind) instead of an ever-growing buffer.
 */
export interface WatchStreamOptions {
  /** Most undelivered events held before the stream gives up with `resync-required`. */
  readonly bufferLimit: number;
  readonly signal?: AbortSignal | undefined;
  /** Called once when the stream stops accepting events for any reason, so the backend can forget it. */
  readonly onEnd: () => void;
}

type Pending = {
  resolve: (result: IteratorResult<WatchEvent>) => void;
  reject: (error: unknown) => void;
};

export class WatchStream implements AsyncIterableIterator<WatchEvent> {
  private buffer: WatchEvent[] = [];
  private head = 0;
  /** Reads waiting for an event, oldest first (the async iterator protocol lets callers queue them). */
  private readonly pending: Pending[] = [];
  /** No more events will be accepted; buffered ones may still be read. */
  private finished = false;
  private failure: { error: unknown } | undefined;
  private readonly abortListener = (): void => this.stop();

  constructor(private readonly options: WatchStreamOptions) {
    if (options.signal?.aborted) {
      this.stop();
    } else {
      options.signal?.addEventListener('abort', this.abortListener, { once: true });
    }
  }

  get isOpen(): boolean {
    return !this.finished;
  }

  push(event: WatchEvent): void {
    if (this.finished) return;
    const reader = this.buffered() === 0 ? this.pending.shift() : undefined;
    if (reader !== undefined) {
      reader.resolve({ value: event, done: false });
      return;
    }
    if (this.buffered() >= this.options.bufferLimit) {
      this.requireResync(
        `the watcher fell more than ${this.options.bufferLimit} events behind; list again and watch from the list's revision`,
      );
      return;
    }
    this.buffer.push(event);
  }

  /** Drops whatever is buffered, delivers one `resync-required` event, then ends. */
  requireResync(reason: string): void {
    if (this.finished) return;
    this.clearBuffer();
    this.push({ type: 'resync-required', reason });
    this.finish();
  }

  /** Ends the stream now, dropping buffered events: abort, close, or the consumer's `return()`. */
  stop(): void {
    this.clearBuffer();
    this.finish();
  }

  /** Ends the stream with an error: the next `next()` rejects with it, later ones report done. */
  fail(error: unknown): void {
    if (this.finished) return;
    this.clearBuffer();
    this.failure = { error };
    this.finish();
  }

  next(): Promise<IteratorResult<WatchEvent>> {
    if (this.buffered() > 0) {
      const value = this.shift();
      return Promise.resolve({ value, done: false });
    }
    if (this.failure !== undefined) {
      const { error } = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
    });
  }

  return(): Promise<IteratorResult<WatchEvent>> {
    this.stop();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WatchEvent> {
    return this;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.options.signal?.removeEventListener('abort', this.abortListener);
    for (const { resolve, reject } of this.pending.splice(0)) {
      if (this.failure !== undefined) {
        const { error } = this.failure;
        this.failure = undefined;
        reject(error);
      } else {
        resolve({ value: undefined, done: true });
      }
    }
    this.options.onEnd();
  }

  private buffered(): number {
    return this.buffer.length - this.head;
  }

  private shift(): WatchEvent {
    const event = this.buffer[this.head] as WatchEvent;
    this.head++;
    // Reclaim the consumed front now and then instead of paying Array.shift on every event.
    if (this.head >= 1024 && this.head * 2 >= this.buffer.length) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
    return event;
  }

  private clearBuffer(): void {
    this.buffer = [];
    this.head = 0;
  }
}

/** A watch that delivers nothing and whose first read rejects with `error` (e.g. a closed store). */
export function failedWatch(error: unknown): WatchStream {
  const stream = new WatchStream({ bufferLimit: 1, onEnd: () => {} });
  stream.fail(error);
  return stream;
}

/** A watch that delivers only `resync-required` and ends (e.g. asked for compacted history). */
export function resyncWatch(reason: string): WatchStream {
  const stream = new WatchStream({ bufferLimit: 1, onEnd: () => {} });
  stream.requireResync(reason);
  return stream;
}
