/**
 * The FIB driver: BGP-learned best paths into the kernel's main table, with ECMP.
 *
 * Same shape as Felix's route driver (desired state in, diff against actual, minimal apply): the
 * speaker sets the desired next hops per prefix from each RIB flush, and `sync()` writes only the
 * prefixes that differ from what it believes the kernel has, in one call to its route writer
 * (route-writer.ts: the calico-fib-writer coprocess over rtnetlink, or `ip -batch`). A full sync
 * (at start, periodically, and after the writer lost track) reads our routes back from the kernel
 * instead of trusting the cache, so a route someone deleted or changed is put back, and a route of
 * ours nobody wants any more (left by a previous run) is removed.
 *
 * Failures are per route: a route the kernel refused (say, a next hop on no connected network) is
 * reported, and remembered as "unknown" so the next change to that prefix rewrites it whatever it
 * is; the other routes of the batch stand. When the outcome of a write is not known at all (answers
 * lost, the writer died), the family's cache is dropped and the report asks for a full sync.
 *
 * Our routes carry protocol number 81 (`ip route ... proto 81`), ours alone: Felix's workload and
 * blackhole routes are proto 80, BIRD's are proto bird (12), so we list and delete exactly ours.
 * An ECMP route is one route with several next hops; the kernel picks a next hop per flow.
 */
import type { CommandRunner } from '../../kernel/runner.js';
import {
  canonicalPrefix,
  familyOfPrefix,
  normalizeNextHops,
  type FibFamily,
} from './canonical-route-text.js';
import { BGP_ROUTE_PROTO, IpBatchRouteWriter, type FibRoute } from './ip-batch-route-writer.js';
import type { RouteOp, RouteWriter, RouteWriterKind } from './route-writer.js';

export interface FibSyncReport {
  /** Routes added, replaced or deleted. */
  readonly changed: number;
  readonly errors: readonly string[];
  /** The kernel's state is not known any more: run a full sync (after a pause, if it keeps failing). */
  readonly resyncNeeded: boolean;
}

/** A report lists this many refused routes by name, then counts the rest (a log line, not a dump). */
const MAX_ERRORS_LISTED = 20;

/** Errno of a delete whose route is already gone: the goal is met. */
const ESRCH = 3;

/** Cached next hops of a prefix whose last write the kernel refused: differs from any real set. */
const UNKNOWN_NEXT_HOPS: readonly string[] = Object.freeze(['(unknown)']);

function sameHops(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((h, i) => h === b[i]);
}

/** Operations that turn `actual` into `desired` for the prefixes in `only` (all prefixes when omitted). */
export function planFib(
  desired: ReadonlyMap<string, readonly string[]>,
  actual: ReadonlyMap<string, readonly string[]>,
  only?: Iterable<string>,
): RouteOp[] {
  const ops: RouteOp[] = [];
  const consider = (prefix: string) => {
    const want = desired.get(prefix);
    const have = actual.get(prefix);
    if (want === undefined || want.length === 0) {
      if (have !== undefined) ops.push({ kind: 'delete', prefix });
    } else if (have === undefined || !sameHops(want, have)) {
      ops.push({ kind: 'replace', prefix, nextHops: want });
    }
  };
  if (only !== undefined) {
    for (const prefix of new Set(only)) consider(prefix);
  } else {
    for (const prefix of desired.keys()) consider(prefix);
    for (const prefix of actual.keys()) if (!desired.has(prefix)) consider(prefix);
  }
  return ops;
}

function describeOp(op: RouteOp): string {
  return op.kind === 'replace'
    ? `route ${op.prefix} via ${op.nextHops.join(',')}`
    : `delete of route ${op.prefix}`;
}

export interface KernelFibOptions {
  readonly proto?: number;
  /** Program IPv6 routes too (default true). */
  readonly ipv6?: boolean;
  /** How routes reach the kernel (default: `ip -batch` through the runner). */
  readonly writer?: RouteWriter;
}

export class KernelFib {
  /** Per family, so a sync never scans the other family's routes. */
  private readonly desired = new Map<FibFamily, Map<string, readonly string[]>>([
    [4, new Map()],
    [6, new Map()],
  ]);
  /** What we believe the kernel holds; undefined per family until read (or after a failure). */
  private readonly actual = new Map<FibFamily, Map<string, readonly string[]>>();
  private dirty = new Set<string>();
  private readonly families: readonly FibFamily[];
  private readonly writer: RouteWriter;

  constructor(runner: CommandRunner, options: KernelFibOptions = {}) {
    this.writer = options.writer ?? new IpBatchRouteWriter(runner, options.proto ?? BGP_ROUTE_PROTO);
    this.families = options.ipv6 === false ? [4] : [4, 6];
  }

  /** Which writer carries the routes (`netlink` or `ip-batch`). */
  get writerKind(): RouteWriterKind {
    return this.writer.kind;
  }

  /** Desired next hops for a prefix; none (or an empty list) means no route of ours. */
  set(prefix: string, nextHops: Iterable<string>): void {
    const key = canonicalPrefix(prefix);
    const hops = normalizeNextHops(nextHops);
    const family = this.desiredFor(familyOfPrefix(key));
    if (hops.length === 0) family.delete(key);
    else family.set(key, hops);
    this.dirty.add(key);
  }

  delete(prefix: string): void {
    const key = canonicalPrefix(prefix);
    this.desiredFor(familyOfPrefix(key)).delete(key);
    this.dirty.add(key);
  }

  /** The routes we want, for status and tests. */
  routes(): FibRoute[] {
    const out: FibRoute[] = [];
    for (const family of this.desired.values()) {
      for (const [prefix, nextHops] of family) out.push({ prefix, nextHops });
    }
    return out;
  }

  get size(): number {
    let n = 0;
    for (const family of this.desired.values()) n += family.size;
    return n;
  }

  /** Our routes as the kernel has them now (a fresh read). */
  async readKernel(): Promise<Map<string, readonly string[]>> {
    const all = new Map<string, readonly string[]>();
    for (const family of this.families) {
      for (const [k, v] of await this.writer.readRoutes(family)) all.set(k, v);
    }
    return all;
  }

  /**
   * Writes the difference. `full` reads the kernel first and repairs every prefix; otherwise only
   * prefixes changed since the last sync are compared, against the cached kernel state.
   */
  async sync(full = false): Promise<FibSyncReport> {
    const errors: string[] = [];
    let resyncNeeded = false;
    const dirty = this.dirty;
    this.dirty = new Set();
    const ops: RouteOp[] = [];
    for (const family of this.families) {
      let actual = full ? undefined : this.actual.get(family);
      let only: string[] | undefined;
      if (actual === undefined) {
        try {
          actual = new Map(await this.writer.readRoutes(family));
        } catch (e) {
          errors.push(`reading IPv${family} routes: ${(e as Error).message}`);
          this.actual.delete(family);
          resyncNeeded = true;
          continue;
        }
      } else {
        only = [];
        for (const p of dirty) if (familyOfPrefix(p) === family) only.push(p);
      }
      const planned = planFib(this.desiredFor(family), actual, only);
      // Optimistic: the cache says what the kernel will have; refusals are folded in below.
      for (const op of planned) {
        if (op.kind === 'replace') actual.set(op.prefix, op.nextHops);
        else actual.delete(op.prefix);
        ops.push(op);
      }
      this.actual.set(family, actual);
    }
    if (ops.length === 0) return { changed: 0, errors, resyncNeeded };
    let changed = ops.length;
    const result = await this.writer.write(ops);
    let refused = 0;
    for (const f of result.failed) {
      changed--;
      if (f.op.kind === 'delete' && f.errno === ESRCH) continue;
      if (++refused <= MAX_ERRORS_LISTED) errors.push(`${describeOp(f.op)}: ${f.error}`);
      this.actual.get(familyOfPrefix(f.op.prefix))?.set(f.op.prefix, UNKNOWN_NEXT_HOPS);
    }
    if (refused > MAX_ERRORS_LISTED) errors.push(`and ${refused - MAX_ERRORS_LISTED} more routes refused`);
    if (result.unknown !== undefined) {
      errors.push(result.unknown);
      for (const op of ops) this.actual.delete(familyOfPrefix(op.prefix));
      resyncNeeded = true;
    }
    return { changed, errors, resyncNeeded };
  }

  /** Removes every route of ours from the kernel (a clean stop without graceful restart). */
  async removeAll(): Promise<FibSyncReport> {
    for (const family of this.desired.values()) family.clear();
    this.dirty.clear();
    this.actual.clear();
    return this.sync(true);
  }

  /** Stops the writer (a coprocess); our routes stay in the kernel. */
  close(): Promise<void> {
    return this.writer.close();
  }

  private desiredFor(family: FibFamily): Map<string, readonly string[]> {
    return this.desired.get(family) as Map<string, readonly string[]>;
  }
}
