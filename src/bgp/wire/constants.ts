/**
 * Numbers fixed by the BGP RFCs: message types, attribute type codes and flags, capability codes,
 * address families. Kept in one place so the codec, the session and the tests name them the same way.
 */

/** RFC 4271 4.1, RFC 2918 3. */
export enum MessageType {
  Open = 1,
  Update = 2,
  Notification = 3,
  Keepalive = 4,
  RouteRefresh = 5,
}

/** RFC 4271 4.1: every message starts with a 16-octet marker of all ones, then length and type. */
export const HEADER_LENGTH = 19;
export const MARKER_LENGTH = 16;
/** RFC 4271 4: the largest message without the extended-message capability (RFC 8654, not used). */
export const MAX_MESSAGE_LENGTH = 4096;

/** Smallest valid length of each message type (RFC 4271 6.1 "Bad Message Length" checks). */
export const MIN_MESSAGE_LENGTH: Readonly<Record<MessageType, number>> = {
  [MessageType.Open]: 29,
  [MessageType.Update]: 23,
  [MessageType.Notification]: 21,
  [MessageType.Keepalive]: 19,
  [MessageType.RouteRefresh]: 23,
};

/** RFC 4271 4.3 attribute flag bits. */
export enum AttrFlag {
  Optional = 0x80,
  Transitive = 0x40,
  Partial = 0x20,
  ExtendedLength = 0x10,
}

/** Path attribute type codes (RFC 4271, 1997, 4456, 4760, 6793). */
export enum AttrType {
  Origin = 1,
  AsPath = 2,
  NextHop = 3,
  MultiExitDisc = 4,
  LocalPref = 5,
  AtomicAggregate = 6,
  Aggregator = 7,
  Communities = 8,
  OriginatorId = 9,
  ClusterList = 10,
  MpReachNlri = 14,
  MpUnreachNlri = 15,
  As4Path = 17,
  As4Aggregator = 18,
}

/** RFC 4271 4.3 AS_PATH segment types, RFC 5065 confederation segments. */
export enum AsPathSegmentCode {
  Set = 1,
  Sequence = 2,
  ConfedSequence = 3,
  ConfedSet = 4,
}

/** Capability codes (RFC 5492 and the IANA registry). */
export enum CapabilityCode {
  Multiprotocol = 1,
  RouteRefresh = 2,
  GracefulRestart = 64,
  FourOctetAs = 65,
}

/** RFC 5492 4: the OPEN optional parameter that carries capabilities. */
export const OPTIONAL_PARAMETER_CAPABILITIES = 2;

/** Address Family Identifiers (IANA). */
export enum Afi {
  IPv4 = 1,
  IPv6 = 2,
}

/** Subsequent Address Family Identifiers (IANA); only unicast is carried by this speaker. */
export enum Safi {
  Unicast = 1,
}

/** RFC 6793 9: the 2-octet stand-in for an AS number that does not fit in 2 octets. */
export const AS_TRANS = 23456;

/** RFC 4271 4.2: the only version this speaker talks. */
export const BGP_VERSION = 4;
