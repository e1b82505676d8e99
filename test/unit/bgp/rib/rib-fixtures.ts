// Builders for RIB tests: prefixes from text, peer sources, paths and RibPeers with sensible defaults.
import { Rib } from '../../../../src/bgp/rib/index.js';
import type { PeerSource, RibChanges, RibConfig, RibPeer } from '../../../../src/bgp/rib/index.js';
import { RibPath, StoredPath } from '../../../../src/bgp/rib/path.js';
import type { PathSource } from '../../../../src/bgp/rib/path.js';
import { Origin, type PathAttributes, type Prefix } from '../../../../src/bgp/types.js';

export const LOCAL_AS = 65000;
export const ROUTER_ID = '10.255.0.1';

export function prefix(text: string): Prefix {
  const [address, length] = text.split('/');
  return {
    family: address!.includes(':') ? 'ipv6' : 'ipv4',
    address: address!,
    length: Number(length),
  };
}

export function prefixText(p: Prefix): string {
  return `${p.address}/${p.length}`;
}

export function peerSource(
  peerId: string,
  asn: number,
  options: { routerId?: string; rrClient?: boolean; localAs?: number } = {},
): PeerSource {
  const localAs = options.localAs ?? LOCAL_AS;
  return {
    kind: 'peer',
    peerId,
    routerId: options.routerId ?? peerId,
    asn,
    localAs,
    ibgp: asn === localAs,
    routeReflectorClient: options.rrClient ?? false,
  };
}

export function attrs(over: Partial<PathAttributes> = {}): PathAttributes {
  return { origin: Origin.IGP, asPath: [], nextHop: '192.0.2.254', ...over };
}

export function seq(...asns: number[]): PathAttributes['asPath'] {
  return [{ type: 'sequence', asns }];
}

/** A path for decision tests; `name` lets tables say which one should win. */
export function candidate(
  name: string,
  source: PathSource,
  over: Partial<PathAttributes> = {},
  igpCost?: number,
): RibPath & { name: string } {
  const p = new RibPath({ prefix: prefix('10.0.0.0/24') }, new StoredPath(attrs(over), source, 0, igpCost));
  return Object.assign(p, { name });
}

export function ribPeer(address: string, asn: number, over: Partial<RibPeer> = {}): RibPeer {
  return {
    address,
    routerId: address.includes(':') ? '10.254.0.1' : address,
    asn,
    families: ['ipv4', 'ipv6'],
    localNextHops: { ipv4: '10.255.0.1', ipv6: '2001:db8:ff::1' },
    ...over,
  };
}

export function newRib(over: Partial<RibConfig> = {}): Rib {
  return new Rib({ routerId: ROUTER_ID, localAs: LOCAL_AS, ...over });
}

/** Prefix text of every route change, as `+p via peer` / `-p`, sorted, for compact assertions. */
export function describeRoutes(changes: RibChanges): string[] {
  return changes.routes
    .map((c) =>
      c.kind === 'best'
        ? `+${prefixText(c.prefix)} via ${c.multipath.map((p) => (p.source.kind === 'peer' ? p.source.peerId : 'local')).join(',')}`
        : `-${prefixText(c.prefix)}`,
    )
    .sort();
}

/** What one peer is told in a flush, as `+p` / `-p` / `eor:family`, sorted. */
export function describeAdvertisement(changes: RibChanges, peerId: string): string[] {
  const adv = changes.advertisements.find((a) => a.peerId === peerId);
  if (!adv) return [];
  return [
    ...adv.announce.flatMap((g) => g.prefixes.map((p) => `+${prefixText(p)}`)),
    ...adv.withdraw.flatMap((g) => g.prefixes.map((p) => `-${prefixText(p)}`)),
    ...adv.endOfRib.map((f) => `eor:${f}`),
  ].sort();
}

/** The attributes a peer was sent for a prefix in a flush. */
export function sentAttrs(changes: RibChanges, peerId: string, p: string): PathAttributes | undefined {
  const adv = changes.advertisements.find((a) => a.peerId === peerId);
  return adv?.announce.find((g) => g.prefixes.some((x) => prefixText(x) === p))?.attrs;
}
