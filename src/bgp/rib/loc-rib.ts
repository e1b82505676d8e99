/**
 * The Loc-RIB: one Destination per prefix holding every usable candidate path, and the selection
 * last published for it. Changes are not decided one by one: writers mark destinations dirty and
 * `settle` runs the decision process once per dirty destination, so a withdraw followed by a
 * re-announcement in the same batch (a flapping session, a route refresh) costs one decision and
 * produces no change at all when the outcome is the same. That is what the FIB and the peers see.
 */
import type { Prefix } from '../types.js';
import { selectBestPath, type DecisionOptions, type DecisionStep } from './decision.js';
import { samePathContent, sourceIdOf, type Path, type PeerId, type RibPath } from './path.js';
import { prefixFromKey, type PrefixKey } from './prefix-key.js';

const NO_PATHS: readonly RibPath[] = Object.freeze([]);

/**
 * One prefix in the Loc-RIB. Candidates form a list linked through the paths themselves (as BIRD
 * chains its `rte`s): a second or third candidate costs one pointer each instead of an array
 * object, which at two full-table peers is a fifth of the table's memory.
 */
export class Destination {
  private head: RibPath | undefined = undefined;
  /** The selection last flushed: the best path alone, or the ECMP set with the best first. */
  published: RibPath | readonly RibPath[] | undefined = undefined;

  constructor(readonly key: PrefixKey) {}

  get best(): RibPath | undefined {
    const published = this.published;
    return Array.isArray(published)
      ? (published as readonly RibPath[])[0]
      : (published as RibPath | undefined);
  }

  /** The ECMP set as last flushed, best first (`[best]` without ECMP, `[]` without a route). */
  get multipath(): readonly RibPath[] {
    const published = this.published;
    if (published === undefined) return NO_PATHS;
    return Array.isArray(published) ? (published as readonly RibPath[]) : [published as RibPath];
  }

  get prefix(): Prefix {
    return prefixFromKey(this.key);
  }

  /** The candidates, newest first, as a fresh array. */
  get candidates(): readonly RibPath[] {
    if (this.head === undefined) return NO_PATHS;
    const out: RibPath[] = [];
    for (let p: RibPath | undefined = this.head; p !== undefined; p = p.nextCandidate) out.push(p);
    return out;
  }

  get isEmpty(): boolean {
    return this.head === undefined;
  }

  candidateFrom(sourceId: PeerId | 'local'): RibPath | undefined {
    for (let p = this.head; p !== undefined; p = p.nextCandidate) {
      if (sourceIdOf(p.source) === sourceId) return p;
    }
    return undefined;
  }

  /** Puts `path` in place of `existing` (a current candidate), or adds it when `existing` is undefined. */
  put(path: RibPath, existing: RibPath | undefined): void {
    if (existing === undefined) {
      path.nextCandidate = this.head;
      this.head = path;
      return;
    }
    path.nextCandidate = existing.nextCandidate;
    this.relink(existing, path);
    existing.nextCandidate = undefined;
  }

  remove(path: RibPath): void {
    this.relink(path, path.nextCandidate);
    path.nextCandidate = undefined;
  }

  /** Makes whatever pointed at `from` point at `to`. */
  private relink(from: RibPath, to: RibPath | undefined): void {
    if (this.head === from) {
      this.head = to;
      return;
    }
    for (let p = this.head; p !== undefined; p = p.nextCandidate) {
      if (p.nextCandidate === from) {
        p.nextCandidate = to;
        return;
      }
    }
  }
}

/** A change in the Loc-RIB for one prefix: what the FIB installs and what export starts from. */
export type RouteChange =
  | {
      readonly kind: 'best';
      readonly prefix: Prefix;
      readonly best: Path;
      /** ECMP set, best first; install all their next hops. */
      readonly multipath: readonly Path[];
      readonly reason: DecisionStep;
    }
  | { readonly kind: 'withdrawn'; readonly prefix: Prefix; readonly previous: Path };

/** A destination whose published best path changed in a flush, with the one before. */
export interface SettledChange {
  readonly dest: Destination;
  readonly previous: RibPath | undefined;
}

export class LocRib {
  private readonly destinations = new Map<PrefixKey, Destination>();
  private dirty = new Set<Destination>();

  get(key: PrefixKey): Destination | undefined {
    return this.destinations.get(key);
  }

  obtain(key: PrefixKey): Destination {
    let dest = this.destinations.get(key);
    if (dest === undefined) {
      dest = new Destination(key);
      this.destinations.set(key, dest);
    }
    return dest;
  }

  /**
   * Puts `path` in place of any candidate from the same source. A path that only repeats what we
   * have (same source session, same interned attributes) refreshes the old one instead, clearing its
   * stale mark without a new decision. Returns whether the source had no candidate before.
   */
  setCandidate(dest: Destination, path: RibPath): boolean {
    const existing = dest.candidateFrom(sourceIdOf(path.source));
    if (existing && existing.source === path.source && samePathContent(existing, path)) {
      existing.stale = false;
      return false;
    }
    dest.put(path, existing);
    this.dirty.add(dest);
    return existing === undefined;
  }

  /** Removes the candidate from `sourceId` (only if stale, when asked); returns whether one went. */
  removeCandidate(dest: Destination, sourceId: PeerId | 'local', onlyIfStale = false): boolean {
    const existing = dest.candidateFrom(sourceId);
    if (existing === undefined || (onlyIfStale && !existing.stale)) return false;
    dest.remove(existing);
    this.dirty.add(dest);
    return true;
  }

  get hasPendingChanges(): boolean {
    return this.dirty.size > 0;
  }

  /**
   * Runs the decision process on every dirty destination and returns the destinations whose
   * published selection changed, with the change for each.
   */
  settle(options: DecisionOptions): { changes: RouteChange[]; changed: SettledChange[] } {
    const changes: RouteChange[] = [];
    const changed: SettledChange[] = [];
    const dirty = this.dirty;
    this.dirty = new Set();
    for (const dest of dirty) {
      const selection = selectBestPath(dest.candidates, options);
      const previous = dest.best;
      if (selection === undefined) {
        dest.published = undefined;
        this.destinations.delete(dest.key);
        if (previous !== undefined) {
          changes.push({ kind: 'withdrawn', prefix: dest.prefix, previous });
          changed.push({ dest, previous });
        }
        continue;
      }
      const unchanged = previous !== undefined && sameMultipath(dest.multipath, selection.multipath);
      dest.published = selection.multipath.length > 1 ? selection.multipath : selection.best;
      if (unchanged) continue;
      changes.push({
        kind: 'best',
        prefix: dest.prefix,
        best: selection.best,
        multipath: selection.multipath,
        reason: selection.reason,
      });
      changed.push({ dest, previous });
    }
    return { changes, changed };
  }

  /** Every prefix with a best path, for an initial export or a resync. */
  *bests(): IterableIterator<readonly [PrefixKey, RibPath]> {
    for (const [key, dest] of this.destinations) if (dest.best) yield [key, dest.best];
  }

  destinationsIterator(): IterableIterator<Destination> {
    return this.destinations.values();
  }

  get size(): number {
    return this.destinations.size;
  }
}

/** Same paths in the same order (the first is the best path). */
function sameMultipath(a: readonly RibPath[], b: readonly RibPath[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((p, i) => samePathContent(p, b[i]!));
}
