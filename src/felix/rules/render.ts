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
 * An endpoint chain clears the accept mark, runs each tier's policies in order ("Start of policy",
 * "Return if policy matches", "Drop if no policy matches"), then the profiles ("Return if profile
 * matches", "Drop if no profile matches"). A policy chain (`cali-pi-`/`cali-po-`) is its rules in
 * order: Allow sets the accept mark and returns, Deny drops, Pass sets the pass mark and returns,
 * Log logs and goes on. Conntrack ESTABLISHED,RELATED is accepted first and INVALID dropped.
 *
 * Rendering is memoised on the identity of its inputs (the calculation graph keeps an unchanged
 * endpoint plan, policy or selector set the same object): an unchanged input yields the very same
 * `Chain` / `IpsetSpec` object as last time, so a label change re-renders only what it touched and
 * the dataplane drivers can skip unchanged chains and sets by identity. The memos are WeakMaps keyed
 * on those inputs, so the function stays pure from the outside and nothing outlives its input.
 */
import type { EntityRule, Port, Rule } from '../../api/types.js';
import { parseIpOrCidr } from '../../net/ip.js';
import { protocolNumber } from '../../policy/index.js';
import type { FelixState, LocalEndpoint, DirectionPlan, ActivePolicy, SelectorSet } from '../calc/graph.js';
import {
  ALL_POOLS_SET,
  MASQ_POOLS_SET,
  entitySelectorKeys,
  netSetId,
  netSetName,
  selectorSetId,
  selectorSetName,
} from '../calc/sets.js';
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
import { allocateMarks, markIs, setMark, type Marks } from './marks.js';
import {
  fromHostEndpointChain,
  fromWorkloadChain,
  policyChain,
  profileChain,
  toHostEndpointChain,
  toWorkloadChain,
} from './names.js';

/** Host ports never blocked by host endpoint policy, so an operator cannot lock themselves out. */
export const FAILSAFE_INBOUND = { tcp: [22, 179, 2379, 2380, 6443], udp: [68] };
export const FAILSAFE_OUTBOUND = { tcp: [179, 2379, 2380, 6443], udp: [53, 67] };

const MULTIPORT_MAX = 15;

interface RenderContext {
  readonly version: IpVersion;
  readonly marks: Marks;
  /** Net sets the rules need, filled while rendering. */
  readonly netSets: Map<string, IpsetSpec>;
}

/** Families of the nets and pools rules name; a few distinct texts asked about on every render. */
const familyMemo = new Map<string, IpVersion | undefined>();
function familyOf(cidr: string): IpVersion | undefined {
  if (familyMemo.has(cidr)) return familyMemo.get(cidr);
  if (familyMemo.size >= 100_000) familyMemo.clear();
  const family = parseIpOrCidr(cidr)?.family;
  familyMemo.set(cidr, family);
  return family;
}

function iptProtocol(p: string | number, version: IpVersion): string | undefined {
  const n = protocolNumber(p);
  if (n === undefined) return undefined;
  if (n === 1) return version === 4 ? 'icmp' : undefined;
  if (n === 58) return version === 6 ? 'ipv6-icmp' : undefined;
  return ({ 6: 'tcp', 17: 'udp', 132: 'sctp', 136: 'udplite' } as Record<number, string>)[n] ?? String(n);
}

/** Multiport lists of at most 15 ports (a range counts twice); named ports cannot be rendered here. */
function portChunks(ports: readonly Port[]): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let weight = 0;
  for (const p of ports) {
    if (typeof p === 'string' && !/^\d+(:\d+)?$/.test(p)) continue;
    const text = String(p);
    const w = text.includes(':') ? 2 : 1;
    if (weight + w > MULTIPORT_MAX) {
      chunks.push(current);
      current = [];
      weight = 0;
    }
    current.push(text);
    weight += w;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

/** The matches for one side of a rule; undefined when that side can never match in this IP version. */
function entityMatches(
  e: EntityRule | undefined,
  dir: 'src' | 'dst',
  policyNamespace: string | undefined,
  ctx: RenderContext,
): string[] | undefined {
  if (!e) return [];
  const out: string[] = [];
  const flag = dir === 'src' ? '-s' : '-d';
  const netsHere = (e.nets ?? []).filter((n) => familyOf(n) === ctx.version);
  if ((e.nets ?? []).length > 0 && netsHere.length === 0) return undefined;
  const netMatch = (nets: string[], negate: boolean) => {
    if (nets.length === 1) return `${negate ? '! ' : ''}${flag} ${nets[0]}`;
    const id = netSetId(nets);
    const name = netSetName(id, ctx.version);
    ctx.netSets.set(name, { name, type: 'hash:net', family: ctx.version, members: [...nets].sort() });
    return `-m set ${negate ? '! ' : ''}--match-set ${name} ${dir}`;
  };
  if (netsHere.length) out.push(netMatch(netsHere, false));
  const notNetsHere = (e.notNets ?? []).filter((n) => familyOf(n) === ctx.version);
  if (notNetsHere.length) out.push(netMatch(notNetsHere, true));
  const keys = entitySelectorKeys(e, policyNamespace);
  if (keys.selector)
    out.push(`-m set --match-set ${selectorSetName(selectorSetId(keys.selector), ctx.version)} ${dir}`);
  if (keys.notSelector)
    out.push(`-m set ! --match-set ${selectorSetName(selectorSetId(keys.notSelector), ctx.version)} ${dir}`);
  return out;
}

/** One policy rule as iptables rules for this IP version (none if it cannot apply to it). */
export function renderRule(rule: Rule, policyNamespace: string | undefined, ctx: RenderContext): IptRule[] {
  if (rule.ipVersion !== undefined && rule.ipVersion !== ctx.version) return [];
  const base: string[] = [];
  if (rule.protocol !== undefined) {
    const p = iptProtocol(rule.protocol, ctx.version);
    if (p === undefined) return [];
    base.push(`-p ${p}`);
  }
  if (rule.notProtocol !== undefined) {
    const p = iptProtocol(rule.notProtocol, ctx.version);
    if (p !== undefined) base.push(`! -p ${p}`);
  }
  const icmpMatch = (f: { type?: number; code?: number }, negate: boolean) => {
    const value = f.code !== undefined ? `${f.type}/${f.code}` : `${f.type}`;
    return ctx.version === 4
      ? `-m icmp ${negate ? '! ' : ''}--icmp-type ${value}`
      : `-m icmp6 ${negate ? '! ' : ''}--icmpv6-type ${value}`;
  };
  if (rule.icmp?.type !== undefined) base.push(icmpMatch(rule.icmp, false));
  if (rule.notICMP?.type !== undefined) base.push(icmpMatch(rule.notICMP, true));
  const src = entityMatches(rule.source, 'src', policyNamespace, ctx);
  const dst = entityMatches(rule.destination, 'dst', policyNamespace, ctx);
  if (!src || !dst) return [];
  base.push(...src, ...dst);
  for (const [side, e] of [
    ['sports', rule.source],
    ['dports', rule.destination],
  ] as const) {
    for (const chunk of portChunks(e?.notPorts ?? []))
      base.push(`-m multiport ! --${side} ${chunk.join(',')}`);
  }
  // Positive port lists of more than 15 entries become several rules with the same action.
  const portVariants = (
    side: 'sports' | 'dports',
    ports: readonly Port[] | undefined,
  ): string[] | undefined => {
    if (!ports || ports.length === 0) return [''];
    const chunks = portChunks(ports);
    return chunks.length ? chunks.map((c) => `-m multiport --${side} ${c.join(',')}`) : undefined;
  };
  const sp = portVariants('sports', rule.source?.ports);
  const dp = portVariants('dports', rule.destination?.ports);
  // Only named ports, which this dataplane cannot express: the rule matches nothing.
  if (!sp || !dp) return [];
  const matches = sp.flatMap((s) => dp.map((d) => [...base, s, d].filter(Boolean).join(' ')));
  const { accept, pass } = ctx.marks;
  switch (rule.action) {
    case 'Allow':
      return [
        ...matches.map((match) => ({ match, action: setMark(accept, accept) })),
        { match: markIs(accept, accept), action: '-j RETURN' },
      ];
    case 'Deny':
      return matches.map((match) => ({ match, action: '-j DROP' }));
    case 'Pass':
      return [
        ...matches.map((match) => ({ match, action: setMark(pass, pass) })),
        { match: markIs(pass, pass), action: '-j RETURN' },
      ];
    case 'Log':
      return matches.map((match) => ({
        match,
        action: '-j LOG --log-prefix "calico-packet: " --log-level 5',
      }));
    default: {
      const never: never = rule.action;
      throw new Error(`unknown rule action ${String(never)}`);
    }
  }
}

const marksKey = (m: Marks) => `${m.accept}/${m.pass}/${m.endpoint}`;

/**
 * Rendered rules by content: policies repeat rules (allow ICMP, allow DNS, allow from the same
 * selector), so a rule's text is built once per distinct rule, namespace, IP version and marks.
 * Dropped whole past a bound: rendering again is cheap, memory is not free.
 */
const ruleMemo = new Map<string, { rules: readonly IptRule[]; netSets: readonly IpsetSpec[] }>();
const MAX_RULE_MEMO = 20_000;

function renderRuleOnce(
  rule: Rule,
  policyNamespace: string | undefined,
  ctx: RenderContext,
): readonly IptRule[] {
  const key = `${ctx.version}\u0000${marksKey(ctx.marks)}\u0000${policyNamespace ?? ''}\u0000${JSON.stringify(rule)}`;
  let hit = ruleMemo.get(key);
  if (hit === undefined) {
    const own: RenderContext = { version: ctx.version, marks: ctx.marks, netSets: new Map() };
    hit = { rules: renderRule(rule, policyNamespace, own), netSets: [...own.netSets.values()] };
    if (ruleMemo.size >= MAX_RULE_MEMO) ruleMemo.clear();
    ruleMemo.set(key, hit);
  }
  for (const set of hit.netSets) ctx.netSets.set(set.name, set);
  return hit.rules;
}

interface RenderedChain {
  readonly marks: Marks;
  readonly chain: Chain;
  readonly netSets: readonly IpsetSpec[];
}
/**
 * Rendered chains of a policy or profile, per direction and IP version (marks are one object per
 * mask, so "same marks" is an identity check): a render looks its chains up without building a key.
 */
interface PolicyChains {
  ingress4?: RenderedChain;
  ingress6?: RenderedChain;
  egress4?: RenderedChain;
  egress6?: RenderedChain;
}
const policyChainMemo = new WeakMap<ActivePolicy, PolicyChains>();
const CHAIN_SLOT = {
  ingress: { 4: 'ingress4', 6: 'ingress6' },
  egress: { 4: 'egress4', 6: 'egress6' },
} as const;

/**
 * A policy's or profile's rules in one direction as a chain (memoised on the ActivePolicy object,
 * which is either a policy or a profile, so its chain name is fixed by the direction).
 */
function rulesChain(
  chainName: (dir: 'ingress' | 'egress', key: string) => string,
  policy: ActivePolicy,
  dir: 'ingress' | 'egress',
  ctx: RenderContext,
): Chain {
  let chains = policyChainMemo.get(policy);
  if (!chains) policyChainMemo.set(policy, (chains = {}));
  const slot = CHAIN_SLOT[dir][ctx.version];
  let hit = chains[slot];
  if (hit?.marks !== ctx.marks) {
    const own: RenderContext = { version: ctx.version, marks: ctx.marks, netSets: new Map() };
    const rules: IptRule[] = [];
    for (const r of policy[dir]) for (const x of renderRuleOnce(r, policy.namespace, own)) rules.push(x);
    const chain = { name: chainName(dir, policy.key), rules };
    chains[slot] = hit = { marks: ctx.marks, chain, netSets: [...own.netSets.values()] };
  }
  for (const set of hit.netSets) ctx.netSets.set(set.name, set);
  return hit.chain;
}

/**
 * All policy and profile chains of a render, with their net sets, per policies map (the calculation
 * keeps the same map while the active policies are the same objects), IP version and marks: a
 * label change that only moves an endpoint between policies reuses the whole list.
 */
const policyChainsMemo = new WeakMap<
  ReadonlyMap<string, ActivePolicy>,
  {
    profiles: ReadonlyMap<string, ActivePolicy>;
    marks: Marks;
    version: IpVersion;
    chains: readonly Chain[];
    netSets: readonly IpsetSpec[];
  }[]
>();

function policyAndProfileChains(state: FelixState, ctx: RenderContext): readonly Chain[] {
  let memos = policyChainsMemo.get(state.policies);
  if (!memos) policyChainsMemo.set(state.policies, (memos = []));
  let hit = memos.find(
    (m) => m.profiles === state.profiles && m.marks === ctx.marks && m.version === ctx.version,
  );
  if (!hit) {
    const own: RenderContext = { version: ctx.version, marks: ctx.marks, netSets: new Map() };
    const chains = (
      dir: 'ingress' | 'egress',
      map: ReadonlyMap<string, ActivePolicy>,
      name: typeof policyChain,
    ) => [...map.values()].map((p) => rulesChain(name, p, dir, own));
    hit = {
      profiles: state.profiles,
      marks: ctx.marks,
      version: ctx.version,
      chains: [
        ...chains('ingress', state.policies, policyChain),
        ...chains('egress', state.policies, policyChain),
        ...chains('ingress', state.profiles, profileChain),
        ...chains('egress', state.profiles, profileChain),
      ],
      netSets: [...own.netSets.values()],
    };
    if (memos.length >= 8) memos.length = 0;
    memos.push(hit);
  }
  for (const set of hit.netSets) ctx.netSets.set(set.name, set);
  return hit.chains;
}

/**
 * Endpoint chain rules per DirectionPlan: endpoints with the same policies share one plan object
 * (the calculation interns plans), so their chains share one rules array, built once.
 */
const planRulesMemo = new WeakMap<DirectionPlan, Map<string, readonly IptRule[]>>();
/**
 * The chain objects per endpoint (a LocalEndpoint keeps its identity while it does not change);
 * kept on the endpoint rather than the shared plan, so they go when the endpoint goes. An
 * endpoint's kind is fixed, so the direction alone fixes its chain's name and failsafe rules; the
 * chains are the same in both IP versions.
 */
interface EndpointChains {
  readonly marks: Marks;
  ingress?: Chain;
  egress?: Chain;
}
const endpointChainMemo = new WeakMap<LocalEndpoint, EndpointChains>();

function memoEndpointChain(
  endpoint: LocalEndpoint,
  chainName: (iface: string) => string,
  dir: 'ingress' | 'egress',
  marks: Marks,
  failsafe: readonly IptRule[],
): Chain {
  let chains = endpointChainMemo.get(endpoint);
  if (chains?.marks !== marks) endpointChainMemo.set(endpoint, (chains = { marks }));
  let chain = chains[dir];
  if (!chain) {
    const plan = endpoint[dir];
    const rulesKey = `${dir}|${marksKey(marks)}|${failsafe.length}`;
    let byKey = planRulesMemo.get(plan);
    if (!byKey) planRulesMemo.set(plan, (byKey = new Map()));
    let rules = byKey.get(rulesKey);
    if (!rules) {
      const c = endpointChain('', plan, dir, marks);
      rules = failsafe.length ? [...failsafe, ...c.rules] : c.rules;
      byKey.set(rulesKey, rules);
    }
    chain = { name: chainName(endpoint.iface), rules };
    chains[dir] = chain;
  }
  return chain;
}

/** The per-endpoint chain: tiers of policies, then profiles, with the seed's comments. */
function endpointChain(name: string, plan: DirectionPlan, dir: 'ingress' | 'egress', marks: Marks): Chain {
  const rules: IptRule[] = [{ match: '', action: setMark(0, marks.accept) }];
  for (const tier of plan.tiers) {
    rules.push({ match: '', action: setMark(0, marks.pass), comment: 'Start of policy' });
    for (const p of tier.policies) {
      rules.push({ match: markIs(0, marks.pass), action: `-j ${policyChain(dir, p)}` });
      rules.push({
        match: markIs(marks.accept, marks.accept),
        action: '-j RETURN',
        comment: 'Return if policy matches',
      });
    }
    if (tier.defaultAction === 'Deny')
      rules.push({ match: markIs(0, marks.pass), action: '-j DROP', comment: 'Drop if no policy matches' });
  }
  for (const prof of plan.profiles) {
    rules.push({ match: '', action: `-j ${profileChain(dir, prof)}` });
    rules.push({
      match: markIs(marks.accept, marks.accept),
      action: '-j RETURN',
      comment: 'Return if profile matches',
    });
  }
  rules.push({ match: '', action: '-j DROP', comment: 'Drop if no profile matches' });
  return { name, rules };
}

/**
 * The last dispatch tree rendered per root chain name, reused while its interfaces are the same
 * (each root has one flag, one fallthrough and one way of naming its targets, so the interfaces,
 * compared one by one, decide).
 */
const dispatchMemo = new Map<string, { ifaces: readonly string[]; chains: Chain[] }>();

function memoDispatchChains(
  name: string,
  flag: '-i' | '-o',
  ifaces: readonly string[],
  target: (iface: string) => { iface: string; chain: string },
  fallthrough: IptRule | undefined,
): Chain[] {
  const last = dispatchMemo.get(name);
  if (last && sameStrings(last.ifaces, ifaces)) return last.chains;
  const chains = dispatchChains(name, flag, ifaces.map(target), fallthrough);
  dispatchMemo.set(name, { ifaces, chains });
  return chains;
}

const sameStrings = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** A dispatch chain; with many interfaces, a one-level tree keyed on the character after `cali`. */
function dispatchChains(
  name: string,
  flag: '-i' | '-o',
  targets: readonly { iface: string; chain: string }[],
  fallthrough: IptRule | undefined,
): Chain[] {
  const leaf = (chainName: string, list: readonly { iface: string; chain: string }[]): Chain => ({
    name: chainName,
    rules: [
      ...list.map((t) => ({ match: `${flag} ${t.iface}`, action: `-g ${t.chain}` })),
      ...(fallthrough ? [fallthrough] : []),
    ],
  });
  if (targets.length <= 32) return [leaf(name, targets)];
  const groups = new Map<string, { iface: string; chain: string }[]>();
  for (const t of targets) {
    const key = t.iface.startsWith('cali') ? t.iface.slice(4, 5) : t.iface.slice(0, 1);
    const prefix = t.iface.startsWith('cali') ? `cali${key}` : key;
    const list = groups.get(prefix) ?? [];
    list.push(t);
    groups.set(prefix, list);
  }
  const children: Chain[] = [];
  const root: IptRule[] = [];
  for (const [prefix, list] of [...groups].sort()) {
    const child = `${name}-${prefix.replace(/^cali/, '')}`;
    root.push({ match: `${flag} ${prefix}+`, action: `-g ${child}` });
    children.push(leaf(child, list));
  }
  if (fallthrough) root.push(fallthrough);
  return [{ name, rules: root }, ...children];
}

function failsafeRules(ports: { tcp: number[]; udp: number[] }, dir: 'dports'): IptRule[] {
  return [
    {
      match: `-p tcp -m multiport --${dir} ${ports.tcp.join(',')}`,
      action: '-j ACCEPT',
      comment: 'Failsafe',
    },
    {
      match: `-p udp -m multiport --${dir} ${ports.udp.join(',')}`,
      action: '-j ACCEPT',
      comment: 'Failsafe',
    },
  ];
}

const FAILSAFE_IN_RULES = failsafeRules(FAILSAFE_INBOUND, 'dports');
const FAILSAFE_OUT_RULES = failsafeRules(FAILSAFE_OUTBOUND, 'dports');

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
 * What the caller will program. Felix renders an IP version only when it programs it (the agent
 * without IPv6, bench/felix), so a host without IPv6 pays nothing for the IPv6 chains and sets.
 */
export interface RenderOptions {
  /** IP versions whose iptables chains and ipsets are rendered; both by default. */
  readonly ipVersions?: readonly IpVersion[];
}

const BOTH_VERSIONS: readonly IpVersion[] = [4, 6];

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
  const versions = options.ipVersions ?? BOTH_VERSIONS;
  const render4 = versions.includes(4);
  const render6 = versions.includes(6);
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
