/**
 * The next-hop addresses the FIB installs for a route's ECMP set. Nearly every route of a table
 * is one path from a peer, and the routes of a table share a handful of interned attribute sets:
 * for those the list is made once per attribute set and shared, instead of three small arrays and
 * an object per prefix (a 10k table reached the FIB in a cold calico-node with a fifth of the
 * flush spent on such per-prefix conversions).
 */
import { multipathNextHops } from '../rib/index.js';
import type { PathAttributes } from '../types.js';

/** What the next hops of a path depend on (a Loc-RIB change's `currentBest`, or a `Path`). */
type RoutePath = Parameters<typeof multipathNextHops>[0][number];

export class FibNextHops {
  /** Keyed by the interned attributes of a single peer path; its next hop is all that matters. */
  private readonly onePeerPath = new WeakMap<PathAttributes, readonly string[]>();

  /** The ECMP set of a route, best first. */
  of(paths: readonly RoutePath[]): readonly string[] {
    return paths.length === 1 ? this.ofOnly(paths[0] as RoutePath) : addresses(paths);
  }

  /** A route with one path (no ECMP set to build: a change the RIB decided as `only-path`). */
  ofOnly(path: RoutePath): readonly string[] {
    if (path.source.kind !== 'peer') return addresses([path]);
    let hops = this.onePeerPath.get(path.attrs);
    if (hops === undefined) {
      hops = Object.freeze(addresses([path]));
      this.onePeerPath.set(path.attrs, hops);
    }
    return hops;
  }
}

function addresses(paths: readonly RoutePath[]): string[] {
  return multipathNextHops(paths).map((h) => h.address);
}
