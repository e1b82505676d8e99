/**
 * Messages between a conformance test and the child processes it drives, so the multi-process tests
 * (CAS races, cross-process watches) run the real backend in a real second process.
 */

/** How a child opens the same store as the parent: `import(moduleUrl)[exportName](argument)`. */
export interface ChildOpener {
  readonly moduleUrl: string;
  readonly exportName: string;
  /** Passed to the opener; must survive JSON. */
  readonly argument: unknown;
}

export type ChildOperation =
  | { readonly kind: 'create'; readonly key: string; readonly value: string }
  /** Creates `key` with a value holding the child's wall-clock time just before the write. */
  | { readonly kind: 'create-stamped'; readonly key: string }
  | {
      readonly kind: 'update';
      readonly key: string;
      readonly value: string;
      readonly expectedRevision?: number;
    }
  | { readonly kind: 'delete'; readonly key: string; readonly expectedRevision?: number };

export type ChildOutcome =
  | { readonly ok: true; readonly revision: number }
  | { readonly ok: false; readonly errorName: string; readonly message: string };

export type ParentMessage =
  | { readonly type: 'open'; readonly opener: ChildOpener }
  /** Prepare an operation and say so; run it only on `go`. This is the barrier for races. */
  | { readonly type: 'arm'; readonly operation: ChildOperation }
  | { readonly type: 'go' }
  | { readonly type: 'run'; readonly operation: ChildOperation }
  | { readonly type: 'close' };

export type ChildMessage =
  | { readonly type: 'opened' }
  | { readonly type: 'armed' }
  | { readonly type: 'outcome'; readonly outcome: ChildOutcome }
  | { readonly type: 'failed'; readonly message: string };

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one host. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
