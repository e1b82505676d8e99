/**
 * What happens to a route between the Adj-RIB-In and the Loc-RIB: the protocol's loop checks, then
 * the operator's import policy. The Adj-RIB-In keeps what the peer sent (so a policy change is
 * re-applied without asking the peer again); only what passes here becomes a candidate.
 */
import type { PathAttributes, Prefix } from '../types.js';
import type { PeerSource } from './path.js';

export type ImportRejection =
  /** RFC 4271 9.1.2: our AS is in AS_PATH (more often than allowas-in permits). */
  | 'as-path-loop'
  /** RFC 4456 8: ORIGINATOR_ID is our router id; the route started here. */
  | 'originator-is-us'
  /** RFC 4456 8: our CLUSTER_ID is in CLUSTER_LIST; the route went round our cluster. */
  | 'cluster-list-loop'
  /** The import policy said no. */
  | 'import-policy';

export interface ImportContext {
  readonly routerId: string;
  readonly clusterId: string;
  /** How many times our AS may already appear in AS_PATH (BIRD `allow local as`, FRR `allowas-in`). */
  readonly allowAsIn: number;
}

/** Operator import policy: return the attributes to use (changed or not), or null to reject. Must be pure. */
export type ImportPolicy = (route: {
  readonly prefix: Prefix;
  readonly attrs: PathAttributes;
  readonly peer: PeerSource;
}) => PathAttributes | null;

/** The protocol checks that do not depend on the prefix; undefined when the route may be used. */
export function importLoopCheck(
  attrs: PathAttributes,
  peer: PeerSource,
  context: ImportContext,
): ImportRejection | undefined {
  if (countAsOccurrences(attrs, peer.localAs) > context.allowAsIn) return 'as-path-loop';
  if (attrs.originatorId !== undefined && attrs.originatorId === context.routerId) {
    return 'originator-is-us';
  }
  if (attrs.clusterList?.includes(context.clusterId)) return 'cluster-list-loop';
  return undefined;
}

function countAsOccurrences(attrs: PathAttributes, asn: number): number {
  let count = 0;
  for (const segment of attrs.asPath) for (const a of segment.asns) if (a === asn) count++;
  return count;
}
