/**
 * The Loc-RIB: per prefix, every usable candidate path and the selection last published. Changes
 * are not decided one by one: writers mark prefixes dirty (remembering what was published before)
 * and `settle` runs the decision process once per dirty prefix, so a withdraw followed by a
 * re-announcement in the same batch (a flapping session, a route refresh) costs one decision and
 * produces no change at all when the outcome is the same. That is what the FIB and the peers see.
 *
 * Memory is the point of the layout. A full table is half a million prefixes, and nearly all of
 * them have one candidate, which is then also the published selection. Such a prefix is stored as
 * its map entry alone, pointing at the shared StoredPath record of its UPDATE: no object of its
 * own. Only a prefix with several candidates gets a Destination (its candidates and its published
 * selection). What was published before a change lives in the dirty map until the next settle.
 */
import type { Prefix } from '../types.js';
import { selectBestPath, type DecisionOptions, type DecisionStep, type Selection } from './decision.js';
import { RibPath, samePathContent, sourceIdOf, type Path, type PeerId, type StoredPath } from './path.js';
import { prefixFromKey, type PrefixKey } from './prefix-key.js';

/** A published selection: the best path alone, or the ECMP set with the best first. */
export type Published = StoredPath | readonly StoredPath[] | undefined;

const NO_PATHS: readonly StoredPath[] = Object.freeze([]);

/**
 * A prefix with more than one candidate, and its selection as last published. Two candidates (two
 * route reflectors, two upstreams) is the usual case beyond one, so the first two are fields of
 * the object and only a third and later go to an array: 56 bytes a prefix instead of an object
 * and an array (about 100).
 */
class Destination {
  #first: StoredPath;
  #second: StoredPath | undefined;
  #more: StoredPath[] | undefined;

  constructor(
    candidates: readonly StoredPath[],
    public published: Published,
  ) {
    this.#first = candidates[0]!;
    this.#second = candidates[1];
    this.#more = candidates.length > 2 ? candidates.slice(2) : undefined;
  }

  /** The candidates, newest first, as a fresh array. */
  get candidates(): StoredPath[] {
    const out = [this.#first];
    if (this.#second !== undefined) out.push(this.#second);
    if (this.#more !== undefined) out.push(...this.#more);
    return out;
  }

  /** Replaces the candidates (at least one). */
  set candidates(list: readonly StoredPath[]) {
    this.#first = list[0]!;
    this.#second = list[1];
    this.#more = list.length > 2 ? list.slice(2) : undefined;
  }

  get count(): number {
    return (this.#second === undefined ? 1 : 2) + (this.#more?.length ?? 0);
  }

  find(sourceId: PeerId | 'local'): StoredPath | undefined {
    if (sourceIdOf(this.#first.source) === sourceId) return this.#first;
    if (this.#second !== undefined && sourceIdOf(this.#second.source) === sourceId) return this.#second;
    return this.#more?.find((p) => sourceIdOf(p.source) === sourceId);
  }
}

/** One prefix's entry: its only candidate (published as it is), or a Destination. */
type Slot = StoredPath | Destination;

export function bestOf(published: Published): StoredPath | undefined {
  return Array.isArray(published)
    ? (published as readonly StoredPath[])[0]
    : (published as StoredPath | undefined);
}

export function multipathOf(published: Published): readonly StoredPath[] {
  if (published === undefined) return NO_PATHS;
  return Array.isArray(published) ? (published as readonly StoredPath[]) : [published as StoredPath];
}

function candidatesOf(slot: Slot | undefined): readonly StoredPath[] {
  if (slot === undefined) return NO_PATHS;
  return slot instanceof Destination ? slot.candidates : [slot];
}

function publishedOf(slot: Slot | undefined): Published {
  return slot instanceof Destination ? slot.published : slot;
}

/**
 * A prefix whose best path changed in a settle: for the FIB (`prefix`, `multipath`) and for export
 * (`key`, `previousBest`, `currentBest`). One small object per change; the prefix record and the
 * path views are made when read, so a full table's changes cost little more than a list of keys.
 */
abstract class SettledPrefix {
  constructor(
    readonly key: PrefixKey,
    /** The best path published before (undefined: there was no route). */
    readonly previousBest: StoredPath | undefined,
  ) {}

  /**
   * Made on each read, not kept: a flush of a full table holds every change at once, and a record
   * cached here would live (and be promoted out of V8's young generation) with it.
   */
  get prefix(): Prefix {
    return prefixFromKey(this.key);
  }

  abstract get currentBest(): StoredPath | undefined;
}

class BestChange extends SettledPrefix {
  // On the prototype: one word less in each of a full table's change objects.
  get kind(): 'best' {
    return 'best';
  }

  constructor(
    key: PrefixKey,
    previousBest: StoredPath | undefined,
    private readonly selected: StoredPath | readonly StoredPath[],
    readonly reason: DecisionStep,
  ) {
    super(key, previousBest);
  }

  get currentBest(): StoredPath {
    return bestOf(this.selected) as StoredPath;
  }

  get best(): Path {
    return new RibPath(this, this.currentBest);
  }

  /** ECMP set, best first; install all their next hops. */
  get multipath(): readonly Path[] {
    const selected = this.selected;
    if (!Array.isArray(selected)) return [new RibPath(this, selected as StoredPath)];
    return (selected as readonly StoredPath[]).map((p) => new RibPath(this, p));
  }

  toJSON(): object {
    return {
      kind: this.kind,
      prefix: this.prefix,
      best: this.best,
      multipath: this.multipath,
      reason: this.reason,
    };
  }
}

class WithdrawnChange extends SettledPrefix {
  get kind(): 'withdrawn' {
    return 'withdrawn';
  }

  get currentBest(): undefined {
    return undefined;
  }

  get previous(): Path {
    return new RibPath(this, this.previousBest as StoredPath);
  }

  toJSON(): object {
    return { kind: this.kind, prefix: this.prefix, previous: this.previous };
  }
}

/** A change in the Loc-RIB for one prefix: what the FIB installs and what export starts from. */
export type RouteChange = BestChange | WithdrawnChange;

export class LocRib {
  private readonly slots = new Map<PrefixKey, Slot>();
  /** Prefixes changed since the last settle → what was published for them before the first change. */
  private dirty = new Map<PrefixKey, Published>();

  /** The candidates of a prefix, newest first (a fresh array only for a multi-candidate prefix). */
  candidates(key: PrefixKey): readonly StoredPath[] {
    return candidatesOf(this.slots.get(key));
  }

  /** The selection as last settled (what the FIB and the peers have been told). */
  published(key: PrefixKey): Published {
    return this.dirty.has(key) ? this.dirty.get(key) : publishedOf(this.slots.get(key));
  }

  candidateFrom(key: PrefixKey, sourceId: PeerId | 'local'): StoredPath | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    if (!(slot instanceof Destination)) return sourceIdOf(slot.source) === sourceId ? slot : undefined;
    return slot.find(sourceId);
  }

  /**
   * Puts `path` in place of any candidate from the same source, and returns that candidate
   * (undefined when the source had none). A path that only repeats what we have (same source
   * session, same interned attributes) replaces the old one without a new decision (clearing a
   * stale mark). One map lookup per call: this runs once per received prefix.
   */
  setCandidate(key: PrefixKey, path: StoredPath): StoredPath | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) {
      this.markDirty(key, undefined);
      this.slots.set(key, path);
      return undefined;
    }
    const sourceId = sourceIdOf(path.source);
    if (!(slot instanceof Destination)) {
      const same = sourceIdOf(slot.source) === sourceId;
      if (same && slot.source === path.source && samePathContent(slot, path)) {
        this.slots.set(key, path);
        return slot;
      }
      this.markDirty(key, slot);
      this.slots.set(key, same ? path : new Destination([path, slot], slot));
      return same ? slot : undefined;
    }
    const list = slot.candidates;
    const at = list.findIndex((p) => sourceIdOf(p.source) === sourceId);
    const existing = at >= 0 ? list[at] : undefined;
    if (existing !== undefined && existing.source === path.source && samePathContent(existing, path)) {
      this.replaceQuietly(key, existing, path);
      return existing;
    }
    this.markDirty(key, slot);
    if (existing !== undefined) list[at] = path;
    else list.unshift(path);
    slot.candidates = list;
    return existing;
  }

  /** Removes the candidate from `sourceId` (only if stale, when asked); returns whether one went. */
  removeCandidate(key: PrefixKey, sourceId: PeerId | 'local', onlyIfStale = false): boolean {
    const existing = this.candidateFrom(key, sourceId);
    if (existing === undefined || (onlyIfStale && !existing.stale)) return false;
    const slot = this.slots.get(key) as Slot;
    this.markDirty(key, slot);
    if (slot instanceof Destination && slot.count > 1) {
      const list = slot.candidates;
      list.splice(list.indexOf(existing), 1);
      slot.candidates = list;
    } else {
      this.slots.delete(key);
    }
    return true;
  }

  /**
   * Puts `replacement` where `path` is, without a decision: for a path whose content (what routing
   * and export depend on) is unchanged, such as its stale twin.
   */
  replaceQuietly(key: PrefixKey, path: StoredPath, replacement: StoredPath): void {
    const slot = this.slots.get(key);
    if (slot === path) {
      this.slots.set(key, replacement);
      return;
    }
    if (!(slot instanceof Destination)) return;
    const list = slot.candidates;
    const at = list.indexOf(path);
    if (at >= 0) {
      list[at] = replacement;
      slot.candidates = list;
    }
    const published = slot.published;
    if (published === path) slot.published = replacement;
    else if (Array.isArray(published) && published.includes(path)) {
      slot.published = (published as readonly StoredPath[]).map((p) => (p === path ? replacement : p));
    }
  }

  get hasPendingChanges(): boolean {
    return this.dirty.size > 0;
  }

  /**
   * Runs the decision process on every dirty prefix and returns the prefixes whose published
   * selection changed.
   */
  settle(options: DecisionOptions): RouteChange[] {
    const changes: RouteChange[] = [];
    const dirty = this.dirty;
    this.dirty = new Map();
    for (const [key, before] of dirty) {
      const slot = this.slots.get(key);
      const previous = bestOf(before);
      if (slot === undefined) {
        if (previous !== undefined) changes.push(new WithdrawnChange(key, previous));
        continue;
      }
      if (!(slot instanceof Destination)) {
        // The common case, decided without the decision process: one candidate is the selection.
        if (previous === undefined || !sameSelection(before, slot)) {
          changes.push(new BestChange(key, previous, slot, 'only-path'));
        }
        continue;
      }
      const candidates = slot.candidates;
      const selection = selectBestPath(candidates, options) as Selection<StoredPath>;
      const { best, multipath } = selection;
      const published = multipath.length > 1 ? multipath : best;
      if (candidates.length === 1) this.slots.set(key, best);
      else slot.published = published;
      if (previous !== undefined && sameSelection(before, published)) continue;
      changes.push(new BestChange(key, previous, published, selection.reason));
    }
    return changes;
  }

  /** Every prefix with a best path (as last settled), for an initial export or a resync. */
  *bests(): IterableIterator<readonly [PrefixKey, StoredPath]> {
    for (const [key, slot] of this.slots) {
      const best = bestOf(
        this.dirty.size > 0 && this.dirty.has(key) ? this.dirty.get(key) : publishedOf(slot),
      );
      if (best !== undefined) yield [key, best];
    }
    for (const [key, before] of this.dirty) {
      const best = bestOf(before);
      if (best !== undefined && !this.slots.has(key)) yield [key, best];
    }
  }

  /** Every prefix with candidates, and its candidates (visiting may remove or replace the visited one). */
  *entries(): IterableIterator<readonly [PrefixKey, readonly StoredPath[]]> {
    for (const [key, slot] of this.slots) yield [key, candidatesOf(slot)];
  }

  /** Visits every candidate from one source (removing or replacing the visited one is allowed). */
  forEachFrom(sourceId: PeerId | 'local', visit: (key: PrefixKey, path: StoredPath) => void): void {
    for (const [key, slot] of this.slots) {
      if (!(slot instanceof Destination)) {
        if (sourceIdOf(slot.source) === sourceId) visit(key, slot);
        continue;
      }
      const p = slot.find(sourceId);
      if (p !== undefined) visit(key, p);
    }
  }

  get size(): number {
    return this.slots.size;
  }

  private markDirty(key: PrefixKey, slot: Slot | undefined): void {
    if (!this.dirty.has(key)) this.dirty.set(key, publishedOf(slot));
  }
}

/** Same paths in the same order (the first is the best path). */
function sameSelection(a: Published, b: Published): boolean {
  const aList = Array.isArray(a);
  const bList = Array.isArray(b);
  if (!aList && !bList) {
    return (
      a === b || (a !== undefined && b !== undefined && samePathContent(a as StoredPath, b as StoredPath))
    );
  }
  const x = multipathOf(a);
  const y = multipathOf(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (!samePathContent(x[i]!, y[i]!)) return false;
  return true;
}
