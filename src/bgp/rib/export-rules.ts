/**
 * What we may send a peer, and how the attributes change on the way out. Pure functions of the
 * path, the receiving peer and our identity; the Adj-RIB-Out applies them and remembers the result.
 *
 * Next hop ("next-hop-self where Calico uses it"): Calico's BIRD templates removed `next hop self`
 * because on a route reflector it put the reflector into the data path of reflected routes, and
 * rely on BIRD's defaults instead; newer Calico exposes the choice as BGPPeer `nextHopMode`
 * (Auto / Self / Keep). We follow that: `auto` (the default) sets our address for eBGP peers and for
 * routes we originate without a next hop, and keeps the next hop for iBGP peers, so reflected
 * routes point at the node that owns the block, not at the reflector. `self` and `keep` force one
 * or the other. (BIRD's auto also keeps a third-party eBGP next hop on a shared subnet; we do not
 * know interfaces here, so eBGP always gets our address.) A kept IPv6 link-local next hop is
 * dropped: it is only meaningful on the link it was learned on, and the global one stays.
 */
import {
  NO_ADVERTISE,
  NO_EXPORT,
  NO_EXPORT_SUBCONFED,
  type AddressFamily,
  type AsPathSegment,
  type PathAttributes,
  type Prefix,
  type RawAttribute,
} from '../types.js';
import { effectiveLocalPref, type PathFacts, type PeerId } from './path.js';

export type NextHopMode = 'auto' | 'self' | 'keep';

/** Our addresses on a session, used as NEXT_HOP when we put ourselves in the path. */
export interface LocalNextHops {
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly ipv6LinkLocal?: string;
}

/** The receiving side of an export, as the rules see it. */
export interface ExportTarget {
  readonly peerId: PeerId;
  readonly asn: number;
  readonly localAs: number;
  readonly ibgp: boolean;
  readonly routeReflectorClient: boolean;
  readonly nextHopMode: NextHopMode;
  readonly localNextHops: LocalNextHops;
}

export interface ExportContext {
  readonly routerId: string;
  readonly clusterId: string;
}

export type NotAdvertisedReason =
  /** Never back to the peer it came from (as BIRD and GoBGP). */
  | 'learned-from-this-peer'
  /** RFC 1997: NO_ADVERTISE. */
  | 'no-advertise'
  /** RFC 1997: NO_EXPORT / NO_EXPORT_SUBCONFED towards an eBGP peer. */
  | 'no-export'
  /** RFC 4271 9.2 / RFC 4456 8: iBGP-learned to iBGP only when reflecting. */
  | 'ibgp-split-horizon'
  /** We have no address of the prefix's family on this session to use as NEXT_HOP. */
  | 'no-next-hop-for-family'
  | 'family-not-negotiated'
  | 'export-policy';

/** Operator export policy, run after the protocol rewrite: sees the attributes as they would be sent. */
export type ExportPolicy = (route: {
  readonly prefix: Prefix;
  readonly attrs: PathAttributes;
  readonly path: PathFacts;
  readonly peer: ExportTarget;
}) => PathAttributes | null;

/**
 * The protocol's advertisement rules (no policy): undefined when `path` may go to `to`.
 * Route reflection, RFC 4456 8: a route from a client goes to clients and non-clients; a route from
 * a non-client goes to clients only; eBGP-learned and local routes go to every iBGP peer.
 */
export function advertisementBlocker(path: PathFacts, to: ExportTarget): NotAdvertisedReason | undefined {
  const { source } = path;
  if (source.kind === 'peer' && source.peerId === to.peerId) return 'learned-from-this-peer';
  const communities = path.attrs.communities;
  if (communities?.includes(NO_ADVERTISE)) return 'no-advertise';
  if (!to.ibgp && (communities?.includes(NO_EXPORT) || communities?.includes(NO_EXPORT_SUBCONFED))) {
    return 'no-export';
  }
  if (
    to.ibgp &&
    source.kind === 'peer' &&
    source.ibgp &&
    !source.routeReflectorClient &&
    !to.routeReflectorClient
  ) {
    return 'ibgp-split-horizon';
  }
  return undefined;
}

/**
 * The attributes `path` is sent to `to` with, or why it cannot be sent.
 * - eBGP (RFC 4271 5.1.2, 5.1.4, 5.1.5): prepend our AS (confederation segments removed), next hop
 *   per the mode, no LOCAL_PREF, no MED learned from another AS (ours, on local routes, stays), no
 *   ORIGINATOR_ID / CLUSTER_LIST (RFC 4456 optional non-transitive, for inside the AS).
 * - iBGP: LOCAL_PREF always present (5.1.5), AS_PATH and MED unchanged; when reflecting an
 *   iBGP-learned route, ORIGINATOR_ID set if absent and our CLUSTER_ID prepended (RFC 4456 8).
 * - Unknown attributes (RFC 4271 5, 9.1.4 note): non-transitive ones are dropped, optional
 *   transitive ones pass with the Partial bit set.
 */
export function rewriteForPeer(
  path: PathFacts,
  family: AddressFamily,
  to: ExportTarget,
  context: ExportContext,
): PathAttributes | NotAdvertisedReason {
  const a = path.attrs;
  const nextHop = chooseNextHop(path, family, to);
  if (nextHop === undefined) return 'no-next-hop-for-family';
  const reflecting = path.source.kind === 'peer' && path.source.ibgp && to.ibgp;
  const out: { -readonly [K in keyof PathAttributes]: PathAttributes[K] } = {
    origin: a.origin,
    asPath: to.ibgp ? a.asPath : prependAs(a.asPath, to.localAs),
    nextHop: nextHop.address,
  };
  if (nextHop.linkLocal !== undefined) out.nextHopLinkLocal = nextHop.linkLocal;
  if (to.ibgp) {
    if (a.med !== undefined) out.med = a.med;
    out.localPref = effectiveLocalPref(a);
  } else if (a.med !== undefined && path.source.kind === 'local') {
    out.med = a.med;
  }
  if (a.atomicAggregate) out.atomicAggregate = true;
  if (a.aggregator) out.aggregator = a.aggregator;
  if (a.communities) out.communities = a.communities;
  if (reflecting && path.source.kind === 'peer') {
    out.originatorId = a.originatorId ?? path.source.routerId;
    out.clusterList = [context.clusterId, ...(a.clusterList ?? [])];
  }
  const unknown = passOnUnknownAttributes(a.unknown);
  if (unknown) out.unknown = unknown;
  return out;
}

function chooseNextHop(
  path: PathFacts,
  family: AddressFamily,
  to: ExportTarget,
): { address: string; linkLocal: string | undefined } | undefined {
  const own = path.attrs.nextHop;
  let useSelf: boolean;
  switch (to.nextHopMode) {
    case 'self':
      useSelf = true;
      break;
    case 'keep':
      useSelf = own === undefined;
      break;
    case 'auto':
      useSelf = !to.ibgp || own === undefined;
      break;
    default: {
      const unknownMode: never = to.nextHopMode;
      throw new Error(
        `RIB: peer ${to.peerId} has nextHopMode ${String(unknownMode)}; use auto, self or keep`,
      );
    }
  }
  if (!useSelf && own !== undefined) return { address: own, linkLocal: undefined };
  const self = family === 'ipv4' ? to.localNextHops.ipv4 : to.localNextHops.ipv6;
  if (self === undefined) return undefined;
  return { address: self, linkLocal: family === 'ipv6' ? to.localNextHops.ipv6LinkLocal : undefined };
}

/** RFC 4271 5.1.2: our AS goes first in the leading AS_SEQUENCE, or in a new one if that is full or absent. */
export function prependAs(asPath: readonly AsPathSegment[], asn: number): AsPathSegment[] {
  const outside = asPath.filter((s) => s.type === 'sequence' || s.type === 'set');
  const first = outside[0];
  if (first !== undefined && first.type === 'sequence' && first.asns.length < 255) {
    return [{ type: 'sequence', asns: [asn, ...first.asns] }, ...outside.slice(1)];
  }
  return [{ type: 'sequence', asns: [asn] }, ...outside];
}

const FLAG_OPTIONAL = 0x80;
const FLAG_TRANSITIVE = 0x40;
const FLAG_PARTIAL = 0x20;

function passOnUnknownAttributes(
  unknown: readonly RawAttribute[] | undefined,
): readonly RawAttribute[] | undefined {
  if (!unknown || unknown.length === 0) return undefined;
  const kept: RawAttribute[] = [];
  for (const raw of unknown) {
    if ((raw.flags & FLAG_TRANSITIVE) === 0) continue;
    const optional = (raw.flags & FLAG_OPTIONAL) !== 0;
    kept.push(
      optional && (raw.flags & FLAG_PARTIAL) === 0 ? { ...raw, flags: raw.flags | FLAG_PARTIAL } : raw,
    );
  }
  return kept.length > 0 ? kept : undefined;
}
