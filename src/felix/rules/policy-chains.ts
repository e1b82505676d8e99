/**
 * Policy and profile chains (`cali-pi-`/`cali-po-`, `cali-pri-`/`cali-pro-`): each rule of a policy
 * becomes iptables rules for one IP version, in order. Allow sets the accept mark and returns, Deny
 * drops, Pass sets the pass mark and returns, Log logs and goes on; selectors and nets become
 * ipset matches, so a rule is one line however many members it names.
 *
 * Memoised at three levels, because a cluster has hundreds of policies and every label change
 * renders again: a rule by its content (policies repeat rules), a chain per ActivePolicy object,
 * and the whole list per active-policies map (kept by the calculation while unchanged).
 */
import type { EntityRule, Port, Rule } from '../../api/types.js';
import { protocolNumber } from '../../policy/index.js';
import type { ActivePolicy, FelixState } from '../calc/graph.js';
import { entitySelectorKeys, netSetId, netSetName, selectorSetId, selectorSetName } from '../calc/sets.js';
import type { Chain, IpVersion, IpsetSpec, IptRule } from '../model.js';
import { familyOf } from './address-family.js';
import { markIs, marksKey, setMark, type Marks } from './marks.js';
import { policyChain, profileChain } from './names.js';

const MULTIPORT_MAX = 15;

export interface RenderContext {
  readonly version: IpVersion;
  readonly marks: Marks;
  /** Net sets the rules need, filled while rendering. */
  readonly netSets: Map<string, IpsetSpec>;
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

export function policyAndProfileChains(state: FelixState, ctx: RenderContext): readonly Chain[] {
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
