/**
 * Shares one PathAttributes object among all paths that carry identical attributes. A table of
 * 500k prefixes typically has a few thousand distinct attribute sets (and a Calico cluster a handful),
 * so storing a reference instead of a copy is most of the memory budget; identity also makes
 * "did this path change?" a pointer comparison.
 *
 * Lookups go by identity first (the codec hands the same object for every prefix of one UPDATE, and
 * export rewriting is cached per input object), and only a new object pays for building its
 * canonical key. Entries are held weakly: when the last path using an attribute set goes, the set is
 * collected and its key removed, so churn does not grow the table.
 */
import type { AsPathSegment, PathAttributes, RawAttribute } from '../types.js';

export class AttributeInterner {
  private readonly byKey = new Map<string, WeakRef<PathAttributes>>();
  /** Any object seen before → its canonical twin (canonical objects map to themselves). */
  private readonly seen = new WeakMap<PathAttributes, PathAttributes>();
  private readonly cleanup = new FinalizationRegistry<string>((key) => {
    if (this.byKey.get(key)?.deref() === undefined) this.byKey.delete(key);
  });

  intern(attrs: PathAttributes): PathAttributes {
    const known = this.seen.get(attrs);
    if (known !== undefined) return known;
    const key = attributesKey(attrs);
    const existing = this.byKey.get(key)?.deref();
    if (existing !== undefined) {
      this.seen.set(attrs, existing);
      return existing;
    }
    this.byKey.set(key, new WeakRef(attrs));
    this.seen.set(attrs, attrs);
    this.cleanup.register(attrs, key);
    return attrs;
  }

  /** Distinct attribute sets currently known (including ones awaiting garbage collection). */
  get size(): number {
    return this.byKey.size;
  }
}

/**
 * A string that is equal for two attribute sets exactly when they carry the same information.
 * Absent and present-but-empty differ where the wire does (an empty COMMUNITIES attribute is still
 * an attribute), so interning never merges what an export would encode differently.
 */
export function attributesKey(a: PathAttributes): string {
  return [
    a.origin,
    asPathKey(a.asPath),
    a.nextHop ?? '',
    a.nextHopLinkLocal ?? '',
    a.med ?? '',
    a.localPref ?? '',
    a.atomicAggregate ? 'A' : '',
    a.aggregator ? `${a.aggregator.asn}@${a.aggregator.address}` : '',
    a.communities ? `[${a.communities.join(',')}]` : '',
    a.originatorId ?? '',
    a.clusterList ? `[${a.clusterList.join(',')}]` : '',
    a.unknown ? a.unknown.map(rawAttributeKey).join(',') : '',
  ].join('|');
}

function asPathKey(segments: readonly AsPathSegment[]): string {
  return segments.map((s) => `${s.type}:${s.asns.join(' ')}`).join(';');
}

function rawAttributeKey(r: RawAttribute): string {
  return `${r.typeCode}/${r.flags}/${r.value.toString('hex')}`;
}
