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
 * With a writer that keeps order (the coprocess), `push()` sends the prefixes changed so far at once,
 * without waiting for the answers to earlier writes: the speaker calls it while a table streams
 * in, so the kernel fills beside the RIB instead of after it. Their outcome lands in the next
 * `sync()` report, which waits for every write in flight.
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
import type { RouteOp, RouteWriteResult, RouteWriter, RouteWriterKind } from './route-writer.js';

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
  return a === b || (a.length === b.length && a.every((h, i) => h === b[i]));
}

/** The operation (if any) that makes the kernel's route for `prefix` the wanted one. */
function planPrefix(
  prefix: string,
  want: readonly string[] | undefined,
  have: readonly string[] | undefined,
): RouteOp | undefined {
  if (want === undefined || want.length === 0)
    return have !== undefined ? { kind: 'delete', prefix } : undefined;
  return have === undefined || !sameHops(want, have)
    ? { kind: 'replace', prefix, nextHops: want }
    : undefined;
}

/** Operations that turn `actual` into `desired` for the prefixes in `only` (all prefixes when omitted). */
export function planFib(
  desired: ReadonlyMap<string, readonly string[]>,
  actual: ReadonlyMap<string, readonly string[]>,
  only?: Iterable<string>,
): RouteOp[] {
  const ops: RouteOp[] = [];
  const consider = (prefix: string) => {
    const op = planPrefix(prefix, desired.get(prefix), actual.get(prefix));
    if (op !== undefined) ops.push(op);
  };
  if (only !== undefined) {
    for (const prefix of only instanceof Set ? only : new Set(only)) consider(prefix);
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
  /** Prefixes changed since the last send, per family. */
  private dirty = new Map<FibFamily, string[]>([
    [4, []],
    [6, []],
  ]);
  private readonly families: readonly FibFamily[];
  private readonly writer: RouteWriter;
  /** Writes sent and not yet answered. */
  private readonly inFlight = new Set<Promise<void>>();
  /** While a sync reads the kernel back, pushes wait (the listing must not race them). */
  private reading = false;
  /** Outcome of answered writes, until a sync reports it. */
  private outcome = { changed: 0, refused: 0, errors: [] as string[], resyncNeeded: false };

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
    const family = familyOfPrefix(key);
    if (hops.length === 0) this.desiredFor(family).delete(key);
    else this.desiredFor(family).set(key, hops);
    if (this.programs(family)) this.dirtyFor(family).push(key);
  }

  delete(prefix: string): void {
    const key = canonicalPrefix(prefix);
    const family = familyOfPrefix(key);
    this.desiredFor(family).delete(key);
    if (this.programs(family)) this.dirtyFor(family).push(key);
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

  /**
   * Our routes as the kernel has them now (a fresh read). The read also becomes the cache, with
   * every prefix in it due for comparison, so the next sync needs no read of its own and still
   * removes what nobody wants: as good as a full sync, and it can start within a burst of updates.
   */
  async readKernel(): Promise<Map<string, readonly string[]>> {
    const all = new Map<string, readonly string[]>();
    this.reading = true;
    try {
      await this.settle();
      for (const family of this.families) {
        const routes = new Map(await this.writer.readRoutes(family));
        for (const [k, v] of routes) {
          all.set(k, v);
          this.dirtyFor(family).push(k);
        }
        this.actual.set(family, routes);
      }
    } finally {
      this.reading = false;
    }
    return all;
  }

  /** True when the kernel's state of every family is cached (read, and not lost since). */
  get knowsKernel(): boolean {
    return this.families.every((f) => this.actual.has(f));
  }

  /**
   * Sends the prefixes changed since the last send now, without waiting for answers; returns how
   * many operations went out. Does nothing (0) unless the writer keeps order and the cache of
   * every family is trusted: then the next `sync()` does the work.
   */
  push(): number {
    if (!this.writer.ordered || this.reading || this.families.every((f) => this.dirtyFor(f).length === 0))
      return 0;
    if (this.families.some((f) => !this.actual.has(f))) return 0;
    return this.send(this.planDirty(new Set()));
  }

  /**
   * Writes the difference and reports on every write answered since the last report. `full`
   * reads the kernel first and repairs every prefix; otherwise only prefixes changed since the last
   * send are compared, against the cached kernel state (a family without one is read).
   */
  async sync(full = false): Promise<FibSyncReport> {
    const reread = new Set(this.families.filter((f) => full || !this.actual.has(f)));
    if (reread.size > 0) {
      this.reading = true;
      try {
        // The listing must show the outcome of everything sent before it.
        await this.settle();
        for (const family of reread) {
          try {
            this.actual.set(family, new Map(await this.writer.readRoutes(family)));
          } catch (e) {
            this.actual.delete(family);
            this.outcome.errors.push(`reading IPv${family} routes: ${(e as Error).message}`);
            this.outcome.resyncNeeded = true;
          }
        }
      } finally {
        this.reading = false;
      }
    }
    this.send(this.planDirty(reread));
    await this.settle();
    return this.takeReport();
  }

  /** Removes every route of ours from the kernel (a clean stop without graceful restart). */
  async removeAll(): Promise<FibSyncReport> {
    for (const family of this.desired.values()) family.clear();
    for (const family of this.families) this.dirty.set(family, []);
    this.actual.clear();
    return this.sync(true);
  }

  /** Stops the writer (a coprocess) once its writes are answered; our routes stay in the kernel. */
  async close(): Promise<void> {
    await this.settle();
    await this.writer.close();
  }

  /**
   * Operations for the dirty prefixes (all prefixes of the families in `whole`), with the cache
   * updated as if they land; refusals are folded in when the answers come.
   */
  private planDirty(whole: ReadonlySet<FibFamily>): RouteOp[] {
    const ops: RouteOp[] = [];
    for (const family of this.families) {
      const dirty = this.dirtyFor(family);
      this.dirty.set(family, []);
      const actual = this.actual.get(family);
      if (actual === undefined) continue; // unreadable: the next sync reads it again, whole
      const desired = this.desiredFor(family);
      const apply = (op: RouteOp) => {
        if (op.kind === 'replace') actual.set(op.prefix, op.nextHops);
        else actual.delete(op.prefix);
        ops.push(op);
      };
      if (whole.has(family)) {
        for (const op of planFib(desired, actual)) apply(op);
        continue;
      }
      // A prefix may be dirty twice; the cache, updated as each op is planned, skips the repeat.
      for (const prefix of dirty) {
        const op = planPrefix(prefix, desired.get(prefix), actual.get(prefix));
        if (op !== undefined) apply(op);
      }
    }
    return ops;
  }

  private send(ops: RouteOp[]): number {
    if (ops.length === 0) return 0;
    const done: Promise<void> = this.writer
      .write(ops)
      .catch((e: unknown): RouteWriteResult => ({ failed: [], unknown: (e as Error).message }))
      .then((result) => {
        this.inFlight.delete(done);
        this.fold(ops, result);
      });
    this.inFlight.add(done);
    return ops.length;
  }

  private fold(ops: readonly RouteOp[], result: RouteWriteResult): void {
    const o = this.outcome;
    o.changed += ops.length - result.failed.length;
    for (const f of result.failed) {
      if (f.op.kind === 'delete' && f.errno === ESRCH) continue;
      if (++o.refused <= MAX_ERRORS_LISTED) o.errors.push(`${describeOp(f.op)}: ${f.error}`);
      this.actual.get(familyOfPrefix(f.op.prefix))?.set(f.op.prefix, UNKNOWN_NEXT_HOPS);
    }
    if (result.unknown !== undefined) {
      if (!o.errors.includes(result.unknown)) o.errors.push(result.unknown);
      for (const op of ops) this.actual.delete(familyOfPrefix(op.prefix));
      o.resyncNeeded = true;
    }
  }

  private async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private takeReport(): FibSyncReport {
    const o = this.outcome;
    this.outcome = { changed: 0, refused: 0, errors: [], resyncNeeded: false };
    const errors =
      o.refused > MAX_ERRORS_LISTED
        ? [...o.errors, `and ${o.refused - MAX_ERRORS_LISTED} more routes refused`]
        : o.errors;
    return { changed: o.changed, errors, resyncNeeded: o.resyncNeeded };
  }

  private desiredFor(family: FibFamily): Map<string, readonly string[]> {
    return this.desired.get(family) as Map<string, readonly string[]>;
  }

  private programs(family: FibFamily): boolean {
    return family === 4 || this.families.length === 2;
  }

  private dirtyFor(family: FibFamily): string[] {
    return this.dirty.get(family) as string[];
  }
}
