/**
 * Calico's export filter (`calico_export_to_bgp_peers` with `calico_aggr`, from confd's
 * bird_ipam.cfg and bird_aggr.cfg templates) as an export policy for the RIB:
 *
 *   1. a prefix equal to one of our blocks: advertise (the aggregate);
 *   2. a prefix inside one of our blocks: never (the block already covers it);
 *   3. a prefix inside an IP pool: advertise (borrowed addresses, other nodes' blocks passed on
 *      over eBGP or reflected);
 *   4. anything else: never. A calico-node is not a transit router: a default route or an
 *      upstream prefix learned from one ToR is not passed to another.
 *
 * One deviation: a route we reflect (learned over iBGP, sent over iBGP, which the RIB only allows
 * when we are a route reflector and one side is our client) passes rules 3 and 4, so a node with
 * `routeReflectorClusterID` reflects its clients' routes whatever their prefix, as a dedicated
 * reflector does; rule 2 still applies.
 *
 * Pure: pools and blocks in, a policy function out. The RIB compares export policies by identity,
 * so the speaker builds a new one only when pools or blocks change, and hands it to every peer.
 */
import { cidrContainsCidr, parseCidr, type Cidr } from '../../net/ip.js';
import type { ExportPolicy } from '../rib/index.js';
import type { Prefix } from '../types.js';

export type ExportDecision = 'own-block' | 'inside-own-block' | 'in-pool' | 'not-in-pool';

function cidrOf(p: Prefix): Cidr | undefined {
  return parseCidr(`${p.address}/${p.length}`);
}

function sameCidr(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.prefixLength === b.prefixLength && a.address === b.address;
}

/** Which rule decides `prefix` (exported for tests and for explaining a missing advertisement). */
export function exportDecision(
  prefix: Prefix,
  pools: readonly Cidr[],
  ownBlocks: readonly Cidr[],
): ExportDecision {
  const cidr = cidrOf(prefix);
  if (cidr === undefined) return 'not-in-pool';
  for (const block of ownBlocks) {
    if (sameCidr(block, cidr)) return 'own-block';
    if (block.family === cidr.family && cidrContainsCidr(block, cidr)) return 'inside-own-block';
  }
  return pools.some((pool) => pool.family === cidr.family && cidrContainsCidr(pool, cidr))
    ? 'in-pool'
    : 'not-in-pool';
}

export function isExported(decision: ExportDecision): boolean {
  return decision === 'own-block' || decision === 'in-pool';
}

/** The RIB export policy for these pools (CIDR text) and this node's blocks. */
export function calicoExportPolicy(pools: Iterable<string>, ownBlocks: Iterable<string>): ExportPolicy {
  const poolCidrs = [...pools].map(parseCidr).filter((c): c is Cidr => c !== undefined);
  const blockCidrs = [...ownBlocks].map(parseCidr).filter((c): c is Cidr => c !== undefined);
  return (route) => {
    const decision = exportDecision(route.prefix, poolCidrs, blockCidrs);
    const source = route.path.source;
    const reflected = source.kind === 'peer' && source.ibgp && route.peer.ibgp;
    return isExported(decision) || (reflected && decision === 'not-in-pool') ? route.attrs : null;
  };
}
