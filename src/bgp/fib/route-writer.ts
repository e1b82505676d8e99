/**
 * How the FIB driver gets routes into the kernel: a `RouteWriter` takes route operations and
 * reports, per operation, what the kernel refused, and reads our routes back for a full sync.
 *
 * Two implementations, chosen once per process (see choose-route-writer.ts): the calico-fib-writer
 * coprocess over rtnetlink (native/calico-fib-writer.c: many routes per system call, answers read
 * as they come), and `ip -batch` (slower, always there). KernelFib above them decides what to
 * write and what a failure means; a writer only carries operations and reports faithfully.
 */
import type { FibFamily } from './canonical-route-text.js';

/** Install (or replace whatever the kernel has for) a prefix, or remove our route for it. */
export type RouteOp =
  | { readonly kind: 'replace'; readonly prefix: string; readonly nextHops: readonly string[] }
  | { readonly kind: 'delete'; readonly prefix: string };

export interface RouteOpFailure {
  readonly op: RouteOp;
  /** The kernel's errno (e.g. 3 ESRCH for a delete of a route that is not there), when known. */
  readonly errno?: number;
  readonly error: string;
}

export interface RouteWriteResult {
  /** Operations the kernel refused; every other operation of the call landed. */
  readonly failed: readonly RouteOpFailure[];
  /**
   * Set when the outcome of some operations is not known (answers lost to ENOBUFS, the writer
   * died, a batch failed as a whole): the caller must read the kernel back. Says why.
   */
  readonly unknown?: string;
}

export type RouteWriterKind = 'netlink' | 'ip-batch';

export interface RouteWriter {
  readonly kind: RouteWriterKind;
  /**
   * True when a write made before earlier ones resolved still lands after them (one ordered
   * stream), so the caller may send more without waiting for answers.
   */
  readonly ordered: boolean;
  /** Our routes of one family as the kernel has them now: canonical prefix → sorted next hops. */
  readRoutes(family: FibFamily): Promise<Map<string, readonly string[]>>;
  /** Applies the operations in order; resolves once the kernel has answered for all of them. */
  write(ops: readonly RouteOp[]): Promise<RouteWriteResult>;
  /** Releases the writer (stops a coprocess); the routes stay in the kernel. */
  close(): Promise<void>;
}
