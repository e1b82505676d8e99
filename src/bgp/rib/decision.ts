/**
 * The BGP decision process (RFC 4271 9.1.2), as one function that walks the steps in RFC order.
 *
 * It works by elimination over the whole candidate set, as the RFC words it ("remove from
 * consideration ..."), rather than by sorting with a pairwise comparator: the MED rule only compares
 * paths from the same neighbouring AS, so a pairwise "better than" is not transitive and a sort can
 * pick different winners depending on arrival order. Elimination gives one answer for one set.
 *
 * Each step is a small named filter; the step that removed the last competitor is the reason the
 * winner won, and when asked, every loser is recorded with the step that removed it, so an operator
 * can see why (`explain` in the CLI).
 *
 * ECMP: the paths still standing after the IGP-cost step are "equal" in the RFC's sense (only the
 * arbitrary tie-breaks remain); they form the multipath set, best first, then in tie-break order,
 * limited to paths from the same neighbouring AS as the best unless `multipathRelax` is set (FRR's
 * "as-path multipath-relax", what BIRD's "merge paths" does by default), and capped at `maxPaths`.
 */
import { parseIp } from '../../net/ip.js';
import { asPathLength, effectiveLocalPref, isEbgpPath, neighbourAs, type PathFacts } from './path.js';
import { parseIPv4 } from './prefix-key.js';

export type DecisionStep =
  | 'only-path'
  | 'highest-local-pref'
  | 'locally-originated'
  | 'shortest-as-path'
  | 'lowest-origin'
  | 'lowest-med'
  | 'ebgp-over-ibgp'
  | 'lowest-igp-cost'
  | 'lowest-router-id'
  | 'shortest-cluster-list'
  | 'lowest-peer-address';

/** Where each step comes from, for `explain` output. */
export const DECISION_STEP_SOURCE: Readonly<Record<DecisionStep, string>> = {
  'only-path': 'no competing path',
  'highest-local-pref': 'RFC 4271 9.1.1 degree of preference (LOCAL_PREF, default 100)',
  'locally-originated': 'locally originated routes first (as BIRD, FRR, GoBGP)',
  'shortest-as-path': 'RFC 4271 9.1.2.2 a (AS_SET counts 1, confederation segments 0)',
  'lowest-origin': 'RFC 4271 9.1.2.2 b (IGP < EGP < INCOMPLETE)',
  'lowest-med': 'RFC 4271 9.1.2.2 c (only between paths from the same neighbouring AS; missing MED is 0)',
  'ebgp-over-ibgp': 'RFC 4271 9.1.2.2 d',
  'lowest-igp-cost': 'RFC 4271 9.1.2.2 e (only when every remaining path has a known cost)',
  'lowest-router-id': 'RFC 4271 9.1.2.2 f (ORIGINATOR_ID in place of the router id, RFC 4456 9)',
  'shortest-cluster-list': 'RFC 4456 9 (inserted between steps f and g)',
  'lowest-peer-address': 'RFC 4271 9.1.2.2 g',
};

export interface DecisionOptions {
  /** Compare MED between paths from different neighbouring ASes too (FRR `always-compare-med`). */
  readonly alwaysCompareMed: boolean;
  /** Most paths installed together for ECMP; 1 turns multipath off. */
  readonly maxPaths: number;
  /** Allow multipath across different neighbouring ASes. */
  readonly multipathRelax: boolean;
}

export const DEFAULT_DECISION_OPTIONS: DecisionOptions = Object.freeze({
  alwaysCompareMed: false,
  maxPaths: 8,
  multipathRelax: false,
});

export interface Selection<P extends PathFacts = PathFacts> {
  readonly best: P;
  /** The step that removed the last competitor of `best`. */
  readonly reason: DecisionStep;
  /** The ECMP set, `best` first; `[best]` when multipath is off or nothing ties. */
  readonly multipath: readonly P[];
}

export interface Elimination<P extends PathFacts = PathFacts> {
  readonly path: P;
  readonly step: DecisionStep;
}

type StepFilter = <P extends PathFacts>(remaining: P[], options: DecisionOptions) => P[];

function keepExtreme<P extends PathFacts>(remaining: P[], score: (p: P) => number, want: 'min' | 'max'): P[] {
  let bestScore = want === 'min' ? Infinity : -Infinity;
  for (const p of remaining) {
    const s = score(p);
    if (want === 'min' ? s < bestScore : s > bestScore) bestScore = s;
  }
  return remaining.filter((p) => score(p) === bestScore);
}

const keepHighestLocalPref: StepFilter = (remaining) =>
  keepExtreme(remaining, (p) => effectiveLocalPref(p.attrs), 'max');

const keepLocallyOriginated: StepFilter = (remaining) =>
  keepExtreme(remaining, (p) => (p.source.kind === 'local' ? 1 : 0), 'max');

const keepShortestAsPath: StepFilter = (remaining) =>
  keepExtreme(remaining, (p) => asPathLength(p.attrs.asPath), 'min');

const keepLowestOrigin: StepFilter = (remaining) => keepExtreme(remaining, (p) => p.attrs.origin, 'min');

/** RFC 4271 9.1.2.2 c: within each neighbouring-AS group, drop paths with a higher MED than the group's lowest. */
const keepLowestMedPerNeighbourAs: StepFilter = (remaining, options) => {
  const med = (p: PathFacts): number => p.attrs.med ?? 0;
  const groupOf = (p: PathFacts): number => (options.alwaysCompareMed ? 0 : neighbourAs(p));
  const lowest = new Map<number, number>();
  for (const p of remaining) {
    const g = groupOf(p);
    const current = lowest.get(g);
    if (current === undefined || med(p) < current) lowest.set(g, med(p));
  }
  return remaining.filter((p) => med(p) === lowest.get(groupOf(p)));
};

const keepEbgpOverIbgp: StepFilter = (remaining) =>
  keepExtreme(remaining, (p) => (isEbgpPath(p) ? 1 : 0), 'max');

/** "Where known": with any cost unknown the step cannot rank the set, so it removes nothing. */
const keepLowestIgpCost: StepFilter = (remaining) => {
  if (remaining.some((p) => p.igpCost === undefined)) return remaining;
  return keepExtreme(remaining, (p) => p.igpCost ?? 0, 'min');
};

const keepLowestRouterId: StepFilter = (remaining) => keepExtreme(remaining, routerIdScore, 'min');

const keepShortestClusterList: StepFilter = (remaining) =>
  keepExtreme(remaining, (p) => p.attrs.clusterList?.length ?? 0, 'min');

const keepLowestPeerAddress: StepFilter = (remaining) => {
  let lowest = remaining[0]!;
  for (const p of remaining) if (comparePeerAddress(p, lowest) < 0) lowest = p;
  return remaining.filter((p) => comparePeerAddress(p, lowest) === 0);
};

function routerIdScore(p: PathFacts): number {
  if (p.source.kind === 'local') return -1;
  const id = parseIPv4(p.attrs.originatorId ?? p.source.routerId);
  return Number.isNaN(id) ? Infinity : id;
}

/** IPv4 peers sort before IPv6 peers; within a family by numeric address; local paths first. */
function peerAddressRank(p: PathFacts): bigint {
  if (p.source.kind === 'local') return -1n;
  const ip = parseIp(p.source.peerId);
  if (!ip) return 1n << 130n;
  return ip.family === 4 ? ip.value : (1n << 32n) + ip.value;
}

function comparePeerAddress(a: PathFacts, b: PathFacts): number {
  const ra = peerAddressRank(a);
  const rb = peerAddressRank(b);
  return ra < rb ? -1 : ra > rb ? 1 : 0;
}

const DECISION_STEPS: ReadonlyArray<{ readonly step: DecisionStep; readonly keep: StepFilter }> = [
  { step: 'highest-local-pref', keep: keepHighestLocalPref },
  { step: 'locally-originated', keep: keepLocallyOriginated },
  { step: 'shortest-as-path', keep: keepShortestAsPath },
  { step: 'lowest-origin', keep: keepLowestOrigin },
  { step: 'lowest-med', keep: keepLowestMedPerNeighbourAs },
  { step: 'ebgp-over-ibgp', keep: keepEbgpOverIbgp },
  { step: 'lowest-igp-cost', keep: keepLowestIgpCost },
  { step: 'lowest-router-id', keep: keepLowestRouterId },
  { step: 'shortest-cluster-list', keep: keepShortestClusterList },
  { step: 'lowest-peer-address', keep: keepLowestPeerAddress },
];

/** Index of the last step whose survivors are equal for ECMP: everything before the tie-breaks. */
const LAST_MULTIPATH_STEP = DECISION_STEPS.findIndex((s) => s.step === 'lowest-igp-cost');

/**
 * Picks the best path and the ECMP set among `candidates`. Stale paths (graceful restart) take part
 * like any other: RFC 4724 keeps them usable. Pass `eliminated` to learn which step removed each
 * losing path.
 */
export function selectBestPath<P extends PathFacts>(
  candidates: readonly P[],
  options: DecisionOptions = DEFAULT_DECISION_OPTIONS,
  eliminated?: Elimination<P>[],
): Selection<P> | undefined {
  const first = candidates[0];
  if (first === undefined) return undefined;
  if (candidates.length === 1) return { best: first, reason: 'only-path', multipath: [first] };

  let remaining = candidates.slice();
  let reason: DecisionStep = 'lowest-peer-address';
  let equalForMultipath: P[] | undefined;
  for (let i = 0; i < DECISION_STEPS.length && remaining.length > 1; i++) {
    const { step, keep } = DECISION_STEPS[i]!;
    const kept = keep(remaining, options);
    if (eliminated && kept.length < remaining.length) {
      for (const p of remaining) if (!kept.includes(p)) eliminated.push({ path: p, step });
    }
    if (kept.length < remaining.length) reason = step;
    remaining = kept;
    if (i === LAST_MULTIPATH_STEP) equalForMultipath = remaining;
  }
  const best = remaining[0]!;
  const multipath =
    options.maxPaths > 1 && equalForMultipath && equalForMultipath.length > 1
      ? multipathSet(best, equalForMultipath, options)
      : [best];
  return { best, reason, multipath };
}

function multipathSet<P extends PathFacts>(best: P, equal: readonly P[], options: DecisionOptions): P[] {
  const bestAs = neighbourAs(best);
  const others = equal
    .filter((p) => p !== best && (options.multipathRelax || neighbourAs(p) === bestAs))
    .sort(compareByTieBreaks);
  return [best, ...others].slice(0, options.maxPaths);
}

/** The order the tie-break steps (f, RFC 4456 9, g) would put equal paths in. */
function compareByTieBreaks(a: PathFacts, b: PathFacts): number {
  return (
    routerIdScore(a) - routerIdScore(b) ||
    (a.attrs.clusterList?.length ?? 0) - (b.attrs.clusterList?.length ?? 0) ||
    comparePeerAddress(a, b)
  );
}
