/**
 * The label index: which labelled items (endpoints) match which selectors, kept up to date one
 * change at a time, announcing each change as a match-started / match-stopped event.
 *
 * Why incremental: Felix holds thousands of endpoints and selectors (policy selectors, rule
 * selectors turned into ipsets). Re-evaluating every pair on every change is O(items × selectors);
 * a single pod relabel must instead cost about the number of selectors that could notice it.
 *
 * How it finds those selectors:
 *  - Each selector is filed by the labels it reads. If it cannot match without some label having
 *    one of a few values (`app == "db" && ...` needs app = db), it is filed under that (key, value)
 *    pair only — its "anchor". Items are filed the same way by their own (key, value) pairs, so a
 *    new selector meets only the items that carry its anchor, and a new item only the selectors
 *    anchored on its labels. Selectors without an anchor (`!has(x)`, `a != "b"`, `all()`) are
 *    evaluated against everything when they arrive. Items are filed only under the label keys some
 *    selector has needed as an anchor so far (a key is filed for every item when first needed):
 *    keys every endpoint carries and no selector names (`projectcalico.org/orchestrator`) cost
 *    nothing.
 *  - When an item's labels change, only the keys whose value changed matter: a selector that reads
 *    none of them cannot change its answer. For a changed key we re-check the selectors anchored on
 *    the old or the new value, plus the selectors that read the key without being anchored on it.
 *
 * Items may inherit labels from parents (a workload endpoint from its profiles' `labelsToApply`):
 * the item's own labels win, then the parents in the order given (the first parent that has a key
 * wins), as Calico's label inheritance index does. A parent may be referenced before it is known.
 */
import type { Selector } from './selector.js';

export type MatchEvent =
  | { readonly kind: 'matchStarted'; readonly selectorId: string; readonly itemId: string }
  | { readonly kind: 'matchStopped'; readonly selectorId: string; readonly itemId: string };

export type MatchListener = (event: MatchEvent) => void;

type Labels = Readonly<Record<string, string>>;

/**
 * An item's labels are kept as the plain record they arrive in: without parents, `effective` is
 * the caller's own record (no copy), so an index of many endpoints holds no second label map per
 * endpoint. Nor does an item list the selectors it matches: those are found when asked, among the
 * few selectors filed under its labels (see `selectorsMatching`).
 */
interface ItemState {
  own: Labels;
  parents: readonly string[];
  effective: Labels;
}

/** The value of a label, if the record has it as its own property (never an inherited one). */
function labelOf(labels: Labels, key: string): string | undefined {
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

interface SelectorState {
  selector: Selector;
  canonical: string;
  /** The (key, allowed values) the selector is filed under, if it has one. */
  anchor: { key: string; values: ReadonlySet<string> } | undefined;
  /** Label keys the selector reads other than its anchor key. */
  otherKeys: readonly string[];
  /** An anchor with no allowed value: the selector can never match. */
  impossible: boolean;
  /**
   * The selector is its anchor (`app == "db"`, `app in {...}`): every item filed under an allowed
   * value matches, so a new selector takes them without evaluating each.
   */
  exact: boolean;
  matches: Set<string>;
}

interface ParentState {
  labels: Labels;
  children: Set<string>;
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

/**
 * Sets filed by (label key, value). Two levels of maps rather than one keyed on a joined string:
 * the label strings already exist (and hash once), a joined string would be built and hashed on
 * every lookup, which dominates loading thousands of endpoints.
 */
class PairIndex {
  private readonly byKey = new Map<string, Map<string, Set<string>>>();

  get(key: string, value: string): Set<string> | undefined {
    return this.byKey.get(key)?.get(value);
  }

  add(key: string, value: string, id: string): void {
    let values = this.byKey.get(key);
    if (values === undefined) this.byKey.set(key, (values = new Map()));
    addTo(values, value, id);
  }

  /** The sets of one key, by value (made if missing), for filing many items under that key. */
  valuesOf(key: string): Map<string, Set<string>> {
    let values = this.byKey.get(key);
    if (values === undefined) this.byKey.set(key, (values = new Map()));
    return values;
  }

  remove(key: string, value: string, id: string): void {
    const values = this.byKey.get(key);
    if (values === undefined) return;
    removeFrom(values, value, id);
    if (values.size === 0) this.byKey.delete(key);
  }
}

export class LabelIndex {
  private readonly items = new Map<string, ItemState>();
  private readonly selectors = new Map<string, SelectorState>();
  private readonly parents = new Map<string, ParentState>();
  /** Items by each (key, value) of their effective labels, for the keys in `filedKeys`. */
  private readonly itemsByPair = new PairIndex();
  /** Label keys some selector has needed as a possible anchor; only these are in `itemsByPair`. */
  private readonly filedKeys = new Set<string>();
  /** Anchored selectors by each (anchor key, allowed value). */
  private readonly anchoredByPair = new PairIndex();
  /** Selectors by each label key they read other than their anchor key. */
  private readonly readersByKey = new Map<string, Set<string>>();
  /** Selectors with no anchor: they must meet every new item. */
  private readonly unanchored = new Set<string>();

  constructor(private readonly listener: MatchListener) {}

  // ---- selectors -------------------------------------------------------------------------------

  /** Adds a selector or replaces the one with this id, emitting only the differences. */
  updateSelector(id: string, selector: Selector): void {
    const prior = this.selectors.get(id);
    const canonical = selector.toString();
    if (prior !== undefined && prior.canonical === canonical) return;
    const priorMatches = prior?.matches ?? new Set<string>();
    if (prior !== undefined) this.unfileSelector(id, prior);

    const state = this.describeSelector(selector, canonical);
    this.selectors.set(id, state);
    this.fileSelector(id, state);

    if (!state.impossible) {
      if (state.anchor === undefined) {
        for (const [itemId, item] of this.items) if (this.evaluate(state, item)) state.matches.add(itemId);
      } else if (state.exact && state.anchor.values.size === 1) {
        // An exact selector on one value matches exactly the items filed under it: copied whole.
        const [value] = state.anchor.values;
        state.matches = new Set(this.itemsByPair.get(state.anchor.key, value as string));
      } else {
        for (const v of state.anchor.values) {
          const ids = this.itemsByPair.get(state.anchor.key, v);
          if (ids === undefined) continue;
          if (state.exact) for (const itemId of ids) state.matches.add(itemId);
          else
            for (const itemId of ids)
              if (this.evaluate(state, this.items.get(itemId) as ItemState)) state.matches.add(itemId);
        }
      }
    }
    for (const itemId of priorMatches)
      if (!state.matches.has(itemId)) this.listener({ kind: 'matchStopped', selectorId: id, itemId });
    for (const itemId of state.matches)
      if (!priorMatches.has(itemId)) this.listener({ kind: 'matchStarted', selectorId: id, itemId });
  }

  deleteSelector(id: string): void {
    const state = this.selectors.get(id);
    if (state === undefined) return;
    this.unfileSelector(id, state);
    this.selectors.delete(id);
    for (const itemId of state.matches) this.listener({ kind: 'matchStopped', selectorId: id, itemId });
  }

  // ---- items -----------------------------------------------------------------------------------

  /** Adds an item or replaces its labels and parents, emitting only the differences. */
  updateItem(id: string, labels: Labels, parentIds: readonly string[] = []): void {
    const prior = this.items.get(id);
    if (prior !== undefined) {
      for (const p of prior.parents) this.parents.get(p)?.children.delete(id);
    }
    for (const p of parentIds) {
      let parent = this.parents.get(p);
      if (parent === undefined) this.parents.set(p, (parent = { labels: {}, children: new Set() }));
      parent.children.add(id);
    }
    const effective = this.effectiveLabels(labels, parentIds);
    if (prior === undefined) {
      const item: ItemState = { own: labels, parents: parentIds, effective };
      this.items.set(id, item);
      for (const k of Object.keys(effective))
        if (this.filedKeys.has(k)) this.itemsByPair.add(k, effective[k] as string, id);
      this.checkNewItem(id, item);
    } else {
      prior.own = labels;
      prior.parents = parentIds;
      this.applyEffectiveLabels(id, prior, effective);
    }
  }

  deleteItem(id: string): void {
    const item = this.items.get(id);
    if (item === undefined) return;
    for (const p of item.parents) {
      const parent = this.parents.get(p);
      parent?.children.delete(id);
      if (parent !== undefined && parent.children.size === 0 && Object.keys(parent.labels).length === 0) {
        this.parents.delete(p);
      }
    }
    const matches = this.selectorsMatching(id, item);
    for (const k of Object.keys(item.effective))
      if (this.filedKeys.has(k)) this.itemsByPair.remove(k, item.effective[k] as string, id);
    this.items.delete(id);
    for (const selectorId of matches) {
      this.selectors.get(selectorId)?.matches.delete(id);
      this.listener({ kind: 'matchStopped', selectorId, itemId: id });
    }
  }

  // ---- parents ---------------------------------------------------------------------------------

  /** Sets the labels a parent (a profile) hands down; its children are re-checked. */
  updateParent(id: string, labels: Labels): void {
    let parent = this.parents.get(id);
    if (parent === undefined) this.parents.set(id, (parent = { labels, children: new Set() }));
    parent.labels = labels;
    for (const childId of parent.children) {
      const child = this.items.get(childId) as ItemState;
      this.applyEffectiveLabels(childId, child, this.effectiveLabels(child.own, child.parents));
    }
  }

  /** Forgets a parent's labels; children keep referring to it (as an unknown, label-less parent). */
  deleteParent(id: string): void {
    const parent = this.parents.get(id);
    if (parent === undefined) return;
    if (parent.children.size === 0) {
      this.parents.delete(id);
      return;
    }
    this.updateParent(id, {});
  }

  // ---- queries ---------------------------------------------------------------------------------

  matchingItems(selectorId: string): ReadonlySet<string> {
    return this.selectors.get(selectorId)?.matches ?? new Set();
  }

  matchingSelectors(itemId: string): ReadonlySet<string> {
    const item = this.items.get(itemId);
    return new Set(item === undefined ? [] : this.selectorsMatching(itemId, item));
  }

  /** The item's labels after inheritance, or undefined for an unknown item. */
  effectiveLabelsOf(itemId: string): ReadonlyMap<string, string> | undefined {
    const item = this.items.get(itemId);
    return item === undefined ? undefined : new Map(Object.entries(item.effective));
  }

  // ---- internals -------------------------------------------------------------------------------

  private describeSelector(selector: Selector, canonical: string): SelectorState {
    // Anchor on the required label that the fewest current items carry (`tier == "web" && role in
    // {"a", "b"}` on role, not on tier, when most items are web): that is how many items a new
    // selector is evaluated against. Any required label is a correct anchor; this one is cheapest.
    let anchor: SelectorState['anchor'];
    let anchorItems = Infinity;
    for (const [key, values] of selector.requiredLabelValues()) {
      this.fileKey(key);
      let items = 0;
      for (const v of values) items += this.itemsByPair.get(key, v)?.size ?? 0;
      if (
        anchor === undefined ||
        items < anchorItems ||
        (items === anchorItems && values.size < anchor.values.size)
      ) {
        anchor = { key, values };
        anchorItems = items;
      }
    }
    const otherKeys = [...selector.labelKeys()].filter((k) => k !== anchor?.key);
    const ast = selector.ast;
    return {
      selector,
      canonical,
      anchor,
      otherKeys,
      impossible: anchor?.values.size === 0,
      exact: (ast.kind === 'eq' || ast.kind === 'in') && ast.label === anchor?.key,
      matches: new Set(),
    };
  }

  /** Files every item under `key` the first time a selector needs it. */
  private fileKey(key: string): void {
    if (this.filedKeys.has(key)) return;
    this.filedKeys.add(key);
    const values = this.itemsByPair.valuesOf(key);
    for (const [id, item] of this.items) {
      const v = labelOf(item.effective, key);
      if (v !== undefined) addTo(values, v, id);
    }
  }

  private fileSelector(id: string, s: SelectorState): void {
    if (s.impossible) return;
    if (s.anchor === undefined) this.unanchored.add(id);
    else for (const v of s.anchor.values) this.anchoredByPair.add(s.anchor.key, v, id);
    for (const k of s.otherKeys) addTo(this.readersByKey, k, id);
  }

  private unfileSelector(id: string, s: SelectorState): void {
    if (s.impossible) return;
    if (s.anchor === undefined) this.unanchored.delete(id);
    else for (const v of s.anchor.values) this.anchoredByPair.remove(s.anchor.key, v, id);
    for (const k of s.otherKeys) removeFrom(this.readersByKey, k, id);
  }

  /** The item's own labels when no parent hands any down (the usual case: no copy), else a merge. */
  private effectiveLabels(own: Labels, parentIds: readonly string[]): Labels {
    let out: Record<string, string> | undefined;
    for (let i = parentIds.length - 1; i >= 0; i--) {
      const parent = this.parents.get(parentIds[i] as string);
      if (parent === undefined) continue;
      for (const k of Object.keys(parent.labels)) (out ??= {})[k] = parent.labels[k] as string;
    }
    if (out === undefined) return own;
    for (const k of Object.keys(own)) out[k] = own[k] as string;
    return out;
  }

  private evaluate(s: SelectorState, item: ItemState): boolean {
    return s.selector.evaluate(item.effective);
  }

  /**
   * The selectors an item matches. A selector that matches it is unanchored or filed under one of
   * the item's (key, value) pairs (its anchor key has one value on the item, so under exactly one),
   * so looking there finds each match once, without a per-item list to keep up to date.
   */
  private selectorsMatching(itemId: string, item: ItemState): string[] {
    const out: string[] = [];
    for (const selectorId of this.unanchored)
      if (this.selectors.get(selectorId)?.matches.has(itemId)) out.push(selectorId);
    for (const k of Object.keys(item.effective)) {
      const ids = this.anchoredByPair.get(k, item.effective[k] as string);
      if (ids === undefined) continue;
      for (const selectorId of ids)
        if (this.selectors.get(selectorId)?.matches.has(itemId)) out.push(selectorId);
    }
    return out;
  }

  /** A new item meets each selector that could match it once (see `selectorsMatching` for why). */
  private checkNewItem(id: string, item: ItemState): void {
    for (const selectorId of this.unanchored) this.recheck(selectorId, id, item);
    for (const k of Object.keys(item.effective)) {
      const ids = this.anchoredByPair.get(k, item.effective[k] as string);
      if (ids !== undefined) for (const selectorId of ids) this.recheck(selectorId, id, item);
    }
  }

  private applyEffectiveLabels(id: string, item: ItemState, next: Labels): void {
    const previous = item.effective;
    const changed: Array<[key: string, before: string | undefined, after: string | undefined]> = [];
    for (const k of Object.keys(previous)) {
      const v = previous[k] as string;
      const now = labelOf(next, k);
      if (now !== v) changed.push([k, v, now]);
    }
    for (const k of Object.keys(next)) if (!Object.hasOwn(previous, k)) changed.push([k, undefined, next[k]]);
    if (changed.length === 0) {
      item.effective = next;
      return;
    }
    for (const [k, before, after] of changed) {
      if (!this.filedKeys.has(k)) continue;
      if (before !== undefined) this.itemsByPair.remove(k, before, id);
      if (after !== undefined) this.itemsByPair.add(k, after, id);
    }
    item.effective = next;
    const candidates = new Set<string>();
    for (const [k, before, after] of changed) {
      for (const v of [before, after]) {
        if (v === undefined) continue;
        for (const selectorId of this.anchoredByPair.get(k, v) ?? []) candidates.add(selectorId);
      }
      for (const selectorId of this.readersByKey.get(k) ?? []) candidates.add(selectorId);
    }
    for (const selectorId of candidates) this.recheck(selectorId, id, item);
  }

  private recheck(selectorId: string, itemId: string, item: ItemState): void {
    const s = this.selectors.get(selectorId) as SelectorState;
    const now = this.evaluate(s, item);
    const before = s.matches.has(itemId);
    if (now === before) return;
    if (now) {
      s.matches.add(itemId);
      this.listener({ kind: 'matchStarted', selectorId, itemId });
    } else {
      s.matches.delete(itemId);
      this.listener({ kind: 'matchStopped', selectorId, itemId });
    }
  }
}
