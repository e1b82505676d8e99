// Public face of the RIB (src/bgp/rib): the speaker drives a `Rib`; the rest is for tests, the CLI and the FIB.
export { Rib, DEFAULT_STALE_PATH_TIME_MS } from './rib.js';
export type {
  RibConfig,
  RibPeer,
  PeerDownOptions,
  RibChanges,
  RouteView,
  ReceivedRoute,
  PeerRibStats,
} from './rib.js';
export type { RouteChange } from './loc-rib.js';
export type { PeerAdvertisement, AnnouncementGroup, WithdrawalGroup } from './adj-rib-out.js';
export { selectBestPath, DECISION_STEP_SOURCE, DEFAULT_DECISION_OPTIONS } from './decision.js';
export type { DecisionStep, DecisionOptions, Selection, Elimination } from './decision.js';
export { LOCAL_SOURCE, DEFAULT_LOCAL_PREF, asPathLength, neighbourAs, effectiveLocalPref } from './path.js';
export type { Path, PathSource, PeerSource, LocalSource, PeerId } from './path.js';
export { advertisementBlocker, rewriteForPeer, prependAs } from './export-rules.js';
export type {
  ExportPolicy,
  ExportTarget,
  ExportContext,
  LocalNextHops,
  NextHopMode,
  NotAdvertisedReason,
} from './export-rules.js';
export { importLoopCheck } from './import-rules.js';
export type { ImportPolicy, ImportRejection, ImportContext } from './import-rules.js';
export { multipathNextHops } from './next-hops.js';
export type { NextHop } from './next-hops.js';
export { AttributeInterner, attributesKey } from './attribute-interner.js';
export { ipv4PrefixKey, formatPrefixKey, type PrefixKey } from './prefix-key.js';
