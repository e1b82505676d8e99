/**
 * Felix's rule renderer: this host's calculated state in, the desired iptables chains, ipsets,
 * routes and interface settings out. Pure. The chain structure is the seed's, chain by chain:
 *
 *   filter FORWARD → cali-FORWARD → cali-from-wl-dispatch → cali-fw-<iface>   (workload egress)
 *                                 → cali-to-wl-dispatch   → cali-tw-<iface>   (workload ingress)
 *   filter INPUT   → cali-INPUT   → cali-wl-to-host (DHCP, DNS, then the workload's egress policy)
 *                                 → cali-from-host-endpoint → cali-fh-<iface>
 *   filter OUTPUT  → cali-OUTPUT  → cali-to-host-endpoint   → cali-th-<iface>
 *   nat POSTROUTING → cali-POSTROUTING → cali-nat-outgoing (MASQUERADE from natOutgoing pools)
 *
 * Endpoint and dispatch chains are built in endpoint-chains.ts, policy and profile chains in
 * policy-chains.ts; this module puts them together with the fixed chains (conntrack ESTABLISHED,
 * RELATED accepted first and INVALID dropped, the hooks, NAT outgoing), the ipsets and the routes.
 * Only the IP versions the caller programs are rendered.
 *
 * Rendering is memoised on the identity of its inputs (the calculation graph keeps an unchanged
 * endpoint plan, policy or selector set the same object): an unchanged input yields the very same
 * `Chain` / `IpsetSpec` object as last time, so a label change re-renders only what it touched and
 * the dataplane drivers can skip unchanged chains and sets by identity. The memos are WeakMaps keyed
 * on those inputs, or bounded memos keyed by content (rules, names) or holding the last result (a
 * dispatch tree, the routes, the ipset list), so the function stays pure from the outside.
 */
import type { FelixState, LocalEndpoint, SelectorSet } from '../calc/graph.js';
import { ALL_POOLS_SET, MASQ_POOLS_SET, selectorSetName } from '../calc/sets.js';
import type {
  Chain,
  ChainHook,
  DesiredDataplane,
  IpVersion,
  IpsetSpec,
  IptRule,
  IptablesState,
  RouteSpec,
  WorkloadInterface,
} from '../model.js';
import { familyOf } from './address-family.js';
import {
  FAILSAFE_IN_RULES,
  FAILSAFE_OUT_RULES,
  memoDispatchChains,
  memoEndpointChain,
} from './endpoint-chains.js';
import { allocateMarks, markIs, setMark, type Marks } from './marks.js';
import { fromHostEndpointChain, fromWorkloadChain, toHostEndpointChain, toWorkloadChain } from './names.js';
import { policyAndProfileChains, type RenderContext } from './policy-chains.js';

export { FAILSAFE_INBOUND, FAILSAFE_OUTBOUND } from './endpoint-chains.js';
export { renderRule } from './policy-chains.js';

/**
 * The small fixed chains (cali-FORWARD, the nat chains, the hooks, ...) are rebuilt on each render;
 * interning them by content gives them the same stable identity as the memoised chains, so the
 * planner never re-hashes them. Bounded: a handful of variants exist (per IP version, marks, config).
 */
const interned = new Map<string, unknown>();
function stable<T>(value: T): T {
  const key = JSON.stringify(value);
  const hit = interned.get(key) as T | undefined;
  if (hit !== undefined) return hit;
  if (interned.size >= 1000) interned.clear();
  interned.set(key, value);
  return value;
}
const pushStable = (list: Chain[], chain: Chain) => list.push(stable(chain));

function renderVersion(
  state: FelixState,
  version: IpVersion,
  marks: Marks,
  netSets: Map<string, IpsetSpec>,
): IptablesState {
  const ctx: RenderContext = { version, marks, netSets };
  const filter: Chain[] = [];
  const workloads = state.endpoints.filter((e) => e.kind === 'workload');
  const hosts = state.endpoints.filter((e) => e.kind === 'host');
  const established: IptRule[] = [
    { match: '-m conntrack --ctstate INVALID', action: '-j DROP' },
    { match: '-m conntrack --ctstate RELATED,ESTABLISHED', action: '-j ACCEPT' },
  ];
  const toHostAction = state.config.defaultEndpointToHostAction ?? 'Drop';

  pushStable(filter, {
    name: 'cali-FORWARD',
    rules: [
      ...established,
      { match: '', action: setMark(0, marks.all) },
      { match: '-i cali+', action: '-j cali-from-wl-dispatch' },
      { match: '-o cali+', action: '-j cali-to-wl-dispatch' },
      { match: '-i cali+', action: '-j ACCEPT' },
      { match: '-o cali+', action: '-j ACCEPT' },
    ],
  });
  pushStable(filter, {
    name: 'cali-INPUT',
    rules: [
      ...established,
      { match: '-i cali+', action: '-g cali-wl-to-host' },
      { match: '', action: setMark(0, marks.all) },
      { match: '', action: '-j cali-from-host-endpoint' },
      {
        match: markIs(marks.accept, marks.accept),
        action: '-j ACCEPT',
        comment: 'Host endpoint policy accepted packet',
      },
    ],
  });
  pushStable(filter, {
    name: 'cali-OUTPUT',
    rules: [
      ...established,
      { match: '-o cali+', action: '-j RETURN' },
      { match: '', action: setMark(0, marks.all) },
      { match: '', action: '-j cali-to-host-endpoint' },
      {
        match: markIs(marks.accept, marks.accept),
        action: '-j ACCEPT',
        comment: 'Host endpoint policy accepted packet',
      },
    ],
  });
  const toHost: IptRule[] =
    version === 4
      ? [
          {
            match: '-p udp -m multiport --sports 68 -m multiport --dports 67',
            action: '-j ACCEPT',
            comment: 'Allow DHCP',
          },
          { match: '-p udp -m multiport --dports 53', action: '-j ACCEPT', comment: 'Allow DNS' },
        ]
      : [
          ...[130, 131, 132, 133, 135, 136].map((t) => ({
            match: `-p ipv6-icmp -m icmp6 --icmpv6-type ${t}`,
            action: '-j ACCEPT',
          })),
          {
            match: '-p udp -m multiport --sports 546 -m multiport --dports 547',
            action: '-j ACCEPT',
            comment: 'Allow DHCPv6',
          },
          { match: '-p udp -m multiport --dports 53', action: '-j ACCEPT', comment: 'Allow DNS' },
        ];
  pushStable(filter, {
    name: 'cali-wl-to-host',
    rules: [
      ...toHost,
      { match: '', action: '-j cali-from-wl-dispatch' },
      {
        match: '',
        action: toHostAction === 'Accept' ? '-j ACCEPT' : toHostAction === 'Return' ? '-j RETURN' : '-j DROP',
        comment: 'Configured DefaultEndpointToHostAction',
      },
    ],
  });
  const unknown: IptRule = { match: '', action: '-j DROP', comment: 'Unknown interface' };
  const workloadIfaces = workloads.map((w) => w.iface);
  filter.push(
    ...memoDispatchChains(
      'cali-from-wl-dispatch',
      '-i',
      workloadIfaces,
      (iface) => ({ iface, chain: fromWorkloadChain(iface) }),
      unknown,
    ),
  );
  filter.push(
    ...memoDispatchChains(
      'cali-to-wl-dispatch',
      '-o',
      workloadIfaces,
      (iface) => ({ iface, chain: toWorkloadChain(iface) }),
      unknown,
    ),
  );
  const hostIfaces = hosts
    .map((h) => h.iface)
    .sort((a, b) => (a === '*' ? 1 : b === '*' ? -1 : a.localeCompare(b)));
  const hepTarget = (fn: (i: string) => string) => (iface: string) => ({
    iface: iface === '*' ? '+' : iface,
    chain: fn(iface),
  });
  filter.push(
    ...memoDispatchChains(
      'cali-from-host-endpoint',
      '-i',
      hostIfaces,
      hepTarget(fromHostEndpointChain),
      undefined,
    ),
  );
  filter.push(
    ...memoDispatchChains(
      'cali-to-host-endpoint',
      '-o',
      hostIfaces,
      hepTarget(toHostEndpointChain),
      undefined,
    ),
  );
  for (const w of workloads) {
    filter.push(memoEndpointChain(w, toWorkloadChain, 'ingress', marks, []));
    filter.push(memoEndpointChain(w, fromWorkloadChain, 'egress', marks, []));
  }
  for (const h of hosts) {
    filter.push(memoEndpointChain(h, fromHostEndpointChain, 'ingress', marks, FAILSAFE_IN_RULES));
    filter.push(memoEndpointChain(h, toHostEndpointChain, 'egress', marks, FAILSAFE_OUT_RULES));
  }
  filter.push(...policyAndProfileChains(state, ctx));

  const masqPools = state.pools.filter((p) => p.natOutgoing && familyOf(p.cidr) === version);
  const nat: Chain[] = [
    { name: 'cali-PREROUTING', rules: [{ match: '', action: '-j cali-fip-dnat' }] },
    { name: 'cali-OUTPUT', rules: [{ match: '', action: '-j cali-fip-dnat' }] },
    {
      name: 'cali-POSTROUTING',
      rules: [
        { match: '', action: '-j cali-fip-snat' },
        { match: '', action: '-j cali-nat-outgoing' },
      ],
    },
    { name: 'cali-fip-dnat', rules: [] },
    { name: 'cali-fip-snat', rules: [] },
    {
      name: 'cali-nat-outgoing',
      rules: masqPools.length
        ? [
            {
              match: `-m set --match-set ${MASQ_POOLS_SET[version]} src -m set ! --match-set ${ALL_POOLS_SET[version]} dst`,
              action: '-j MASQUERADE',
            },
          ]
        : [],
    },
  ];
  const raw: Chain[] = [
    {
      name: 'cali-PREROUTING',
      rules: [
        { match: '', action: setMark(0, marks.all) },
        { match: '-i cali+', action: setMark(marks.endpoint, marks.endpoint) },
      ],
    },
  ];
  const hooks: ChainHook[] = [
    { table: 'raw', chain: 'PREROUTING', rules: [{ match: '', action: '-j cali-PREROUTING' }] },
    { table: 'filter', chain: 'INPUT', rules: [{ match: '', action: '-j cali-INPUT' }] },
    { table: 'filter', chain: 'FORWARD', rules: [{ match: '', action: '-j cali-FORWARD' }] },
    { table: 'filter', chain: 'OUTPUT', rules: [{ match: '', action: '-j cali-OUTPUT' }] },
    { table: 'nat', chain: 'PREROUTING', rules: [{ match: '', action: '-j cali-PREROUTING' }] },
    { table: 'nat', chain: 'POSTROUTING', rules: [{ match: '', action: '-j cali-POSTROUTING' }] },
    { table: 'nat', chain: 'OUTPUT', rules: [{ match: '', action: '-j cali-OUTPUT' }] },
  ];
  return {
    chains: { raw: raw.map(stable), mangle: [], nat: nat.map(stable), filter },
    hooks: hooks.map(stable),
  };
}

/**
 * What the caller will program. Felix renders an IP version only when it programs it, so a host
 * without IPv6 pays nothing for the IPv6 chains and sets. Whether the host programs IPv6 at all is
 * the state's `ipVersions` (the calculation leaves every IPv6 piece out when it is off); this option
 * narrows the chains and sets further (bench/felix measures IPv4 alone) and cannot add a version
 * the state does not have.
 */
export interface RenderOptions {
  /** IP versions whose iptables chains and ipsets are rendered; all of the state's by default. */
  readonly ipVersions?: readonly IpVersion[];
}

/** The state of an IP version that is not programmed: no chains, no hooks. */
const NOT_RENDERED: IptablesState = { chains: { raw: [], mangle: [], nat: [], filter: [] }, hooks: [] };

/**
 * Whole iptables states, reused while every input they depend on is the same object: a label
 * change that only moves ipset members re-renders no chain at all, and the table driver sees
 * the very state it applied last time.
 */
const iptablesMemo = new WeakMap<
  readonly LocalEndpoint[],
  {
    readonly inputs: readonly unknown[];
    readonly iptables: Record<IpVersion, IptablesState>;
    readonly netSets: readonly IpsetSpec[];
  }
>();

function renderIptables(
  state: FelixState,
  render4: boolean,
  render6: boolean,
): {
  iptables: Record<IpVersion, IptablesState>;
  netSets: readonly IpsetSpec[];
} {
  const inputs = [state.policies, state.profiles, state.pools, state.config, render4, render6];
  const hit = iptablesMemo.get(state.endpoints);
  if (hit && hit.inputs.every((x, i) => x === inputs[i])) return hit;
  const marks = allocateMarks(state.config.iptablesMarkMask);
  const netSets = new Map<string, IpsetSpec>();
  const iptables = {
    4: render4 ? renderVersion(state, 4, marks, netSets) : NOT_RENDERED,
    6: render6 ? renderVersion(state, 6, marks, netSets) : NOT_RENDERED,
  };
  const result = { inputs, iptables, netSets: [...netSets.values()] };
  iptablesMemo.set(state.endpoints, result);
  return result;
}

/** The whole desired dataplane of this host. */
export function renderDataplane(state: FelixState, options: RenderOptions = {}): DesiredDataplane {
  const versions = options.ipVersions ?? state.ipVersions;
  const render4 = versions.includes(4) && state.ipVersions.includes(4);
  const render6 = versions.includes(6) && state.ipVersions.includes(6);
  const { iptables, netSets } = renderIptables(state, render4, render6);
  const { routes, interfaces } = routesAndInterfaces(state.endpoints, state.affineBlocks);
  return { iptables, ipsets: renderIpsets(state, netSets, render4, render6), routes, interfaces };
}

/** The last ipset list, reused while its inputs are the same objects (a label change that moves no set member). */
let lastIpsets: { readonly inputs: readonly unknown[]; readonly ipsets: readonly IpsetSpec[] } | undefined;

function renderIpsets(
  state: FelixState,
  netSets: readonly IpsetSpec[],
  render4: boolean,
  render6: boolean,
): readonly IpsetSpec[] {
  const inputs = [state.selectorSets, netSets, state.pools, render4, render6];
  if (lastIpsets && lastIpsets.inputs.every((x, i) => x === inputs[i])) return lastIpsets.ipsets;
  const ipsets: IpsetSpec[] = [];
  for (const s of state.selectorSets)
    for (const spec of selectorIpsets(s)) if (spec.family === 4 ? render4 : render6) ipsets.push(spec);
  ipsets.push(...netSets);
  for (const v of [4, 6] as const) {
    if (!(v === 4 ? render4 : render6)) continue;
    const pools = state.pools.filter((p) => familyOf(p.cidr) === v);
    if (!pools.some((p) => p.natOutgoing)) continue;
    ipsets.push({ name: ALL_POOLS_SET[v], type: 'hash:net', family: v, members: pools.map((p) => p.cidr) });
    ipsets.push({
      name: MASQ_POOLS_SET[v],
      type: 'hash:net',
      family: v,
      members: pools.filter((p) => p.natOutgoing).map((p) => p.cidr),
    });
  }
  ipsets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  lastIpsets = { inputs, ipsets };
  return ipsets;
}

const selectorIpsetMemo = new WeakMap<SelectorSet, readonly IpsetSpec[]>();

/** A selector set's two ipsets (v4, v6), the same objects while the set's members do not change. */
function selectorIpsets(s: SelectorSet): readonly IpsetSpec[] {
  let specs = selectorIpsetMemo.get(s);
  if (!specs) {
    specs = ([4, 6] as const).map((v) => ({
      name: selectorSetName(s.id, v),
      type: 'hash:net' as const,
      family: v,
      members: s.members[v],
    }));
    selectorIpsetMemo.set(s, specs);
  }
  return specs;
}

const routesMemo = new WeakMap<
  readonly LocalEndpoint[],
  { blocks: readonly string[]; routes: readonly RouteSpec[]; interfaces: readonly WorkloadInterface[] }
>();

/**
 * The last routes rendered, with the workloads' interfaces and address lists they came from: an
 * endpoint that changed only its policies keeps its interface and its (identical) networks array.
 */
let lastRoutes:
  | {
      readonly workloads: readonly LocalEndpoint[];
      readonly blocks: readonly string[];
      readonly routes: readonly RouteSpec[];
      readonly interfaces: readonly WorkloadInterface[];
    }
  | undefined;

/** Routes and interface settings; the same arrays while the endpoints' addresses and blocks are the same. */
function routesAndInterfaces(
  endpoints: readonly LocalEndpoint[],
  blocks: readonly string[],
): { routes: readonly RouteSpec[]; interfaces: readonly WorkloadInterface[] } {
  const hit = routesMemo.get(endpoints);
  if (hit?.blocks === blocks) return hit;
  const workloads = endpoints.filter((e) => e.kind === 'workload');
  const last = lastRoutes;
  if (
    last?.blocks === blocks &&
    last.workloads.length === workloads.length &&
    last.workloads.every((w, i) => w.iface === workloads[i]?.iface && w.networks === workloads[i]?.networks)
  ) {
    routesMemo.set(endpoints, last);
    return last;
  }
  const routes: RouteSpec[] = [];
  const interfaces: { name: string; family: IpVersion[] }[] = [];
  for (const w of workloads) {
    const families = new Set<IpVersion>();
    for (const n of w.networks) {
      routes.push({ type: 'workload', dst: n, dev: w.iface });
      const f = familyOf(n);
      if (f) families.add(f);
    }
    interfaces.push({ name: w.iface, family: [...families] });
  }
  for (const b of blocks) routes.push({ type: 'blackhole', dst: b });
  const result = { workloads, blocks, routes, interfaces };
  routesMemo.set(endpoints, result);
  lastRoutes = result;
  return result;
}
