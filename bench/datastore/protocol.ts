/**
 * Jobs the benchmark sends to its worker processes. Each job is set up first (`ready`), then all
 * workers are released together (`go`), so multi-process numbers measure the same time window.
 */
export type BenchJob =
  /** CAS-update own keys in a loop for `durationMs`; reports the number of successful writes. */
  | {
      readonly kind: 'cas-loop';
      readonly keyPrefix: string;
      readonly keys: number;
      readonly durationMs: number;
    }
  /** Watch `prefix` until `count` events arrive; reports each one's delivery latency. */
  | { readonly kind: 'watch'; readonly prefix: string; readonly count: number }
  /** Create `count` keys under `prefix`, one every `intervalMs`, each stamped with the write time. */
  | {
      readonly kind: 'stamped-writes';
      readonly prefix: string;
      readonly count: number;
      readonly intervalMs: number;
    };

export type BenchResult =
  | { readonly kind: 'cas-loop'; readonly writes: number; readonly elapsedMs: number }
  | { readonly kind: 'watch'; readonly latenciesMs: number[] }
  | { readonly kind: 'stamped-writes'; readonly writes: number };

export type ToWorker =
  | { readonly type: 'open'; readonly backend: string; readonly argument: unknown }
  | { readonly type: 'setup'; readonly job: BenchJob }
  | { readonly type: 'go' }
  | { readonly type: 'close' };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly result: BenchResult }
  | { readonly type: 'failed'; readonly message: string };

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one host. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A value about the size of a stored resource, so writes move realistic amounts of data. */
export function resourceSizedValue(fields: Record<string, unknown>): string {
  return JSON.stringify({ ...fields, padding: 'x'.repeat(200) });
}
