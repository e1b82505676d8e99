/**
 * Endpoint chains (`cali-tw-`/`cali-fw-` for workloads, `cali-fh-`/`cali-th-` for host endpoints)
 * and the dispatch chains that jump to them by interface. An endpoint chain clears the accept
 * mark, runs each tier's policies in order ("Start of policy", "Return if policy matches", "Drop if
 * no policy matches"), then the profiles ("Return if profile matches", "Drop if no profile
 * matches"); a host endpoint's chains start with the failsafe ports.
 *
 * Memoised so a render costs little per unchanged endpoint: rules per shared plan, chain objects
 * per endpoint object, a dispatch tree while the interfaces are the same.
 */
import type { DirectionPlan, LocalEndpoint } from '../calc/graph.js';
import type { Chain, IptRule } from '../model.js';
import { markIs, marksKey, setMark, type Marks } from './marks.js';
import { policyChain, profileChain } from './names.js';

/** Host ports never blocked by host endpoint policy, so an operator cannot lock themselves out. */
export const FAILSAFE_INBOUND = { tcp: [22, 179, 2379, 2380, 6443], udp: [68] };
export const FAILSAFE_OUTBOUND = { tcp: [179, 2379, 2380, 6443], udp: [53, 67] };

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

export function memoEndpointChain(
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

export function memoDispatchChains(
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

export const FAILSAFE_IN_RULES = failsafeRules(FAILSAFE_INBOUND, 'dports');
export const FAILSAFE_OUT_RULES = failsafeRules(FAILSAFE_OUTBOUND, 'dports');
