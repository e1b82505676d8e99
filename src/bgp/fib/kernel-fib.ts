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
 * Memory: a full table is 500k prefixes, so nothing here is an object or a string per prefix.
 * A prefix is a key (the RIB's packed number for IPv4, text for IPv6), next-hop lists are shared
 * (normalizeNextHops interns them), and a family keeps three structures: the wanted list per
 * key, the keys whose kernel state differs from what is wanted (with what the kernel has: the
 * exceptions, empty once everything is written), and the queue of keys changed since the last
 * send. A key absent from `differs` has in the kernel exactly what it wants, so a settled table
 * costs one map slot per prefix.
 *
 * Our routes carry protocol number 81 (`ip route ... proto 81`), ours alone: Felix's workload and
 * blackhole routes are proto 80, BIRD's are proto bird (12), so we list and delete exactly ours.
 * An ECMP route is one route with several next hops; the kernel picks a next hop per flow.
 */
import type { CommandRunner } from '../../kernel/runner.js';
import {
  familyOfKey,
  fibPrefixKey,
  fibPrefixText,
  normalizeNextHops,
  type FibFamily,
  type FibPrefixKey,
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
export function planRouteOp(
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

/** What `differs` records for a prefix of which the kernel has no route of ours. */
const ABSENT = null;
type KernelHops = readonly string[] | typeof ABSENT;

/**
 * A prefix new to us (nothing in the kernel as far as we know) and not yet sent is filed with the
 * "fresh" twin of its next-hop list instead of an entry in `differs`: a table streaming in is
 * almost all new prefixes, and a map entry for each between two sends (thousands, made and
 * dropped every 20 ms) was a large share of what V8 had to promote and later collect. The twin
 * has the same next hops and points to the shared list in a hidden property.
 */
const SENT_FORM = Symbol('the shared list this fresh twin stands for');
type WantedHops = readonly string[] & { readonly [SENT_FORM]?: readonly string[] };
const freshTwins = new Map<readonly string[], WantedHops>();
const FRESH_TWIN_LIMIT = 4096;

function freshTwin(hops: readonly string[]): WantedHops {
  let twin = freshTwins.get(hops);
  if (twin === undefined) {
    const copy = [...hops];
    Object.defineProperty(copy, SENT_FORM, { value: hops });
    twin = Object.freeze(copy) as WantedHops;
    if (freshTwins.size >= FRESH_TWIN_LIMIT) freshTwins.clear();
    freshTwins.set(hops, twin);
  }
  return twin;
}

/** The shared list of a wanted entry (a fresh twin's, or the entry itself). */
function sentForm(hops: WantedHops): readonly string[] {
  return hops[SENT_FORM] ?? hops;
}

/** The prefixes of one family. `known` is false until the kernel was read (and after it was lost). */
interface FamilyTable {
  /** Prefix → the next hops we want (shared lists, or their fresh twins). */
  readonly wants: Map<FibPrefixKey, WantedHops>;
  /** Prefix → what we believe the kernel has, for the prefixes where it is not what we want. */
  readonly differs: Map<FibPrefixKey, KernelHops>;
  /** Prefixes changed since the last send (a prefix may repeat; planning it twice is harmless). */
  queue: FibPrefixKey[];
  /** How much of `queue` was already planned (a push with a limit plans part of it). */
  queueAt: number;
  known: boolean;
  /** Whether the last plan had operations of this family (which a lost write leaves unknown). */
  sentLast: boolean;
}

export class KernelFib {
  private readonly tables = new Map<FibFamily, FamilyTable>([
    [4, { wants: new Map(), differs: new Map(), queue: [], queueAt: 0, known: false, sentLast: false }],
    [6, { wants: new Map(), differs: new Map(), queue: [], queueAt: 0, known: false, sentLast: false }],
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
    this.setKey(fibPrefixKey(prefix), nextHops);
  }

  delete(prefix: string): void {
    this.deleteKey(fibPrefixKey(prefix));
  }

  /**
   * `set` by key: the RIB's key of a prefix is the FIB's (fibPrefixKey), so the speaker hands over
   * a whole table without making and parsing back a text per prefix.
   */
  setKey(key: FibPrefixKey, nextHops: Iterable<string>): void {
    const hops = normalizeNextHops(nextHops);
    this.want(key, hops.length > 0 ? hops : undefined);
  }

  deleteKey(key: FibPrefixKey): void {
    this.want(key, undefined);
  }

  /** The routes we want, for status and tests. */
  routes(): FibRoute[] {
    const out: FibRoute[] = [];
    for (const table of this.tables.values()) {
      for (const [key, hops] of table.wants) {
        out.push({ prefix: fibPrefixText(key), nextHops: sentForm(hops) });
      }
    }
    return out;
  }

  get size(): number {
    let n = 0;
    for (const table of this.tables.values()) n += table.wants.size;
    return n;
  }

  /** True when the kernel's state of every family is cached (read, and not lost since). */
  get knowsKernel(): boolean {
    return this.families.every((f) => this.table(f).known);
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
        const routes = await this.writer.readRoutes(family);
        const table = this.table(family);
        this.learnKernel(family, routes);
        for (const [prefix, hops] of routes) {
          all.set(prefix, hops);
          table.queue.push(fibPrefixKey(prefix));
        }
      }
    } finally {
      this.reading = false;
    }
    return all;
  }

  /**
   * Sends the prefixes changed since the last send now (at most `limit` of them, oldest first),
   * without waiting for answers; returns how many operations went out. Does nothing (0) unless the writer keeps order and the cache of
   * every family is trusted: then the next `sync()` does the work.
   */
  push(limit = Infinity): number {
    if (!this.writer.ordered || this.reading || !this.knowsKernel) return 0;
    return this.send(this.planQueued(new Set(), limit));
  }

  /**
   * Prefixes changed and not yet sent (an upper bound: a prefix changed twice counts twice). A
   * speaker that paces its writes with `push(limit)` gives the FIB every change at once (`set` keeps
   * a number and a shared list, nothing per change) and pushes while this is above zero.
   */
  get unsent(): number {
    let n = 0;
    for (const family of this.families) {
      const table = this.table(family);
      n += table.queue.length - table.queueAt;
    }
    return n;
  }

  /** Writes sent and not yet answered: a speaker pacing its pushes keeps this small. */
  get writesInFlight(): number {
    return this.inFlight.size;
  }

  /** Resolves once some write in flight is answered (at once when none is). */
  writeAnswered(): Promise<void> {
    return this.inFlight.size === 0 ? Promise.resolve() : Promise.race(this.inFlight);
  }

  /**
   * Writes the difference and reports on every write answered since the last report. `full`
   * reads the kernel first and repairs every prefix; otherwise only prefixes changed since the last
   * send are compared, against the cached kernel state (a family without one is read).
   */
  async sync(full = false): Promise<FibSyncReport> {
    const reread = new Set(this.families.filter((f) => full || !this.table(f).known));
    if (reread.size > 0) {
      this.reading = true;
      try {
        // The listing must show the outcome of everything sent before it.
        await this.settle();
        for (const family of reread) {
          try {
            this.learnKernel(family, await this.writer.readRoutes(family));
          } catch (e) {
            this.table(family).known = false;
            this.outcome.errors.push(`reading IPv${family} routes: ${(e as Error).message}`);
            this.outcome.resyncNeeded = true;
          }
        }
      } finally {
        this.reading = false;
      }
    }
    this.send(this.planQueued(reread));
    await this.settle();
    return this.takeReport();
  }

  /** Removes every route of ours from the kernel (a clean stop without graceful restart). */
  async removeAll(): Promise<FibSyncReport> {
    for (const table of this.tables.values()) {
      table.wants.clear();
      table.known = false;
    }
    return this.sync(true);
  }

  /** Stops the writer (a coprocess) once its writes are answered; our routes stay in the kernel. */
  async close(): Promise<void> {
    await this.settle();
    await this.writer.close();
  }

  /** What we believe the kernel has for a prefix. */
  private have(table: FamilyTable, key: FibPrefixKey): KernelHops {
    const differing = table.differs.get(key);
    if (differing !== undefined) return differing;
    const wanted = table.wants.get(key);
    return wanted === undefined || wanted[SENT_FORM] !== undefined ? ABSENT : wanted;
  }

  private want(key: FibPrefixKey, hops: readonly string[] | undefined): void {
    const family = familyOfKey(key);
    const table = this.table(family);
    const have = this.have(table, key);
    if (hops === undefined) table.wants.delete(key);
    if (have === ABSENT ? hops === undefined : hops !== undefined && sameHops(have, hops)) {
      table.differs.delete(key);
      if (hops !== undefined) table.wants.set(key, hops);
    } else if (have === ABSENT && !table.differs.has(key)) {
      table.wants.set(key, freshTwin(hops as readonly string[])); // new, or still unsent
    } else {
      if (hops !== undefined) table.wants.set(key, hops);
      table.differs.set(key, have);
    }
    if (this.programs(family)) table.queue.push(key);
  }

  /** The kernel's listing becomes what we believe it has, for every prefix of the family. */
  private learnKernel(family: FibFamily, routes: ReadonlyMap<string, readonly string[]>): void {
    const table = this.table(family);
    table.differs.clear();
    // Looked up by text, not copied into a map of keys: a listing can be a whole table.
    for (const [key, wanted] of table.wants) {
      const hops = sentForm(wanted);
      if (hops !== wanted) table.wants.set(key, hops);
      const there = routes.get(fibPrefixText(key));
      if (there === undefined) table.differs.set(key, ABSENT);
      else if (!sameHops(there, hops)) table.differs.set(key, there);
    }
    for (const [prefix, hops] of routes) {
      const key = fibPrefixKey(prefix);
      if (!table.wants.has(key)) table.differs.set(key, hops);
    }
    table.known = true;
  }

  /**
   * Operations for the queued prefixes (every prefix of the families in `whole`), with the cache
   * updated as if they land; refusals are folded in when the answers come.
   */
  private planQueued(whole: ReadonlySet<FibFamily>, limit = Infinity): RouteOp[] {
    const ops: RouteOp[] = [];
    let budget = limit;
    for (const family of this.families) {
      const table = this.table(family);
      const queue = table.queue;
      const from = table.queueAt;
      const to = whole.has(family) || !table.known ? queue.length : Math.min(queue.length, from + budget);
      budget -= to - from;
      if (to === queue.length) {
        table.queue = [];
        table.queueAt = 0;
      } else {
        table.queueAt = to;
      }
      const before = ops.length;
      table.sentLast = false;
      if (!table.known) continue; // unreadable: the next sync reads it again, whole
      // Every prefix that is not as wanted sits in `differs`: a whole pass need look nowhere else.
      const keys = whole.has(family)
        ? [...table.differs.keys()]
        : from === 0 && to === queue.length
          ? queue
          : queue.slice(from, to);
      for (const key of keys) {
        const have = table.differs.get(key);
        const wanted = table.wants.get(key);
        const hops = wanted && sentForm(wanted);
        if (have === undefined) {
          // As wanted already, or fresh: then the kernel has nothing and the route goes out now.
          if (wanted === undefined || hops === wanted) continue;
          ops.push({ kind: 'replace', prefix: fibPrefixText(key), nextHops: hops as readonly string[] });
          table.wants.set(key, hops as readonly string[]);
          continue;
        }
        const prefix = fibPrefixText(key);
        if (hops !== wanted) table.wants.set(key, hops as readonly string[]);
        const op = planRouteOp(prefix, hops, have ?? undefined);
        if (op !== undefined) ops.push(op);
        // Now as wanted, or neither wanted nor in the kernel: forgotten (a refusal brings it back).
        table.differs.delete(key);
      }
      table.sentLast = ops.length > before;
    }
    return ops;
  }

  /**
   * Hands the operations to the writer and keeps only their count and families until the answer
   * (not the operations: see PendingWrite in netlink-route-writer.ts).
   */
  private send(ops: RouteOp[]): number {
    const count = ops.length;
    if (count === 0) return 0;
    const families = new Set<FibFamily>();
    for (const family of this.families) if (this.table(family).sentLast) families.add(family);
    const done: Promise<void> = this.writer
      .write(ops)
      .catch((e: unknown): RouteWriteResult => ({ failed: [], unknown: (e as Error).message }))
      .then((result) => {
        this.inFlight.delete(done);
        this.fold(count, families, result);
      });
    this.inFlight.add(done);
    return count;
  }

  private fold(count: number, families: ReadonlySet<FibFamily>, result: RouteWriteResult): void {
    const o = this.outcome;
    o.changed += count - result.failed.length;
    for (const f of result.failed) {
      if (f.op.kind === 'delete' && f.errno === ESRCH) continue;
      if (++o.refused <= MAX_ERRORS_LISTED) o.errors.push(`${describeOp(f.op)}: ${f.error}`);
      const key = fibPrefixKey(f.op.prefix);
      // Differs from any real set, so the next change rewrites it; not queued: the periodic full
      // sync retries it.
      this.table(familyOfKey(key)).differs.set(key, UNKNOWN_NEXT_HOPS);
    }
    if (result.unknown !== undefined) {
      if (!o.errors.includes(result.unknown)) o.errors.push(result.unknown);
      for (const family of families) this.table(family).known = false;
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

  private programs(family: FibFamily): boolean {
    return family === 4 || this.families.length === 2;
  }

  private table(family: FibFamily): FamilyTable {
    return this.tables.get(family) as FamilyTable;
  }
}
