/**
 * The BGP route model shared by the wire codec (src/bgp/wire), the session layer and the RIB
 * (src/bgp/rib). The codec turns bytes into these values and back; the RIB only ever sees these.
 * Addresses are canonical text (`10.0.0.1`, `2001:db8::1`), prefixes `addr/len` in canonical form.
 */

export type AddressFamily = 'ipv4' | 'ipv6';

/** A prefix such as `10.65.0.0/26` or `2001:db8::/64`, host bits zero. */
export interface Prefix {
  readonly family: AddressFamily;
  readonly address: string;
  readonly length: number;
}

/** RFC 4271 5.1.1 */
export enum Origin {
  IGP = 0,
  EGP = 1,
  Incomplete = 2,
}

export type AsPathSegmentType = 'set' | 'sequence' | 'confed-sequence' | 'confed-set';

export interface AsPathSegment {
  readonly type: AsPathSegmentType;
  readonly asns: readonly number[];
}

/** An attribute the codec does not interpret, kept so optional transitive ones pass on (RFC 4271 5). */
export interface RawAttribute {
  readonly flags: number;
  readonly typeCode: number;
  readonly value: Buffer;
}

/**
 * Path attributes after decoding, with AS_PATH already merged with AS4_PATH (RFC 6793 4.2.3), so
 * every AS number here is 4-octet. Next hops live here for both families: IPv4 from NEXT_HOP or
 * MP_REACH, IPv6 from MP_REACH (global, and link-local when the peer sent one).
 */
export interface PathAttributes {
  readonly origin: Origin;
  readonly asPath: readonly AsPathSegment[];
  readonly nextHop?: string;
  readonly nextHopLinkLocal?: string;
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: boolean;
  readonly aggregator?: { readonly asn: number; readonly address: string };
  /** 32-bit community values (RFC 1997), e.g. 0xFFFFFF01 for NO_EXPORT. */
  readonly communities?: readonly number[];
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
  readonly unknown?: readonly RawAttribute[];
}

/** Well-known communities, RFC 1997. */
export const NO_EXPORT = 0xffffff01;
export const NO_ADVERTISE = 0xffffff02;
export const NO_EXPORT_SUBCONFED = 0xffffff03;
