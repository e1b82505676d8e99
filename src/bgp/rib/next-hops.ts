/**
 * The kernel wants next hops, not paths: the distinct gateways of an ECMP set, in decision order.
 * Two paths through the same gateway (the same route reflected by two reflectors) are one next hop.
 * Locally originated paths carry no gateway and contribute none.
 */
import type { PathFacts } from './path.js';

export interface NextHop {
  readonly address: string;
  /** IPv6 link-local next hop the peer sent, for `via fe80::... dev ...` routes. */
  readonly linkLocal?: string;
  /** The peer the path came from, so the FIB can find the interface for a link-local next hop. */
  readonly peerId: string;
}

export function multipathNextHops(paths: readonly PathFacts[]): NextHop[] {
  // One path is nearly every route of a full table: no de-duplication needed.
  if (paths.length === 1) {
    const only = paths[0]!;
    const address = only.attrs.nextHop;
    if (address === undefined || only.source.kind !== 'peer') return [];
    const linkLocal = only.attrs.nextHopLinkLocal;
    return [
      linkLocal === undefined
        ? { address, peerId: only.source.peerId }
        : { address, linkLocal, peerId: only.source.peerId },
    ];
  }
  const seen = new Set<string>();
  const out: NextHop[] = [];
  for (const path of paths) {
    const address = path.attrs.nextHop;
    if (address === undefined || path.source.kind !== 'peer' || seen.has(address)) continue;
    seen.add(address);
    const linkLocal = path.attrs.nextHopLinkLocal;
    out.push(
      linkLocal === undefined
        ? { address, peerId: path.source.peerId }
        : { address, linkLocal, peerId: path.source.peerId },
    );
  }
  return out;
}
