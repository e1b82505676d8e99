/**
 * The next-hop addresses the FIB installs for a route's ECMP set. Nearly every route of a table
 * is one path from a peer, and the routes of a table share a handful of interned attribute sets:
 * for those the list is made once per attribute set and shared, instead of three small arrays and
 * an object per prefix (a 10k table reached the FIB in a cold calico-node with a fifth of the
 * flush spent on such per-prefix conversions).
 */
import { multipathNextHops, type Path } from '../rib/index.js';
import type { PathAttributes } from '../types.js';

export class FibNextHops {
  /** Keyed by the interned attributes of a single peer path; its next hop is all that matters. */
  private readonly onePeerPath = new WeakMap<PathAttributes, readonly string[]>();

  of(paths: readonly Path[]): readonly string[] {
    const only = paths.length === 1 ? paths[0] : undefined;
    if (only === undefined || only.source.kind !== 'peer') return addresses(paths);
    let hops = this.onePeerPath.get(only.attrs);
    if (hops === undefined) {
      hops = Object.freeze(addresses(paths));
      this.onePeerPath.set(only.attrs, hops);
    }
    return hops;
  }
}

function addresses(paths: readonly Path[]): string[] {
  return multipathNextHops(paths).map((h) => h.address);
}
