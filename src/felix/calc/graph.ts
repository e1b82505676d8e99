/**
 * Felix's calculation graph: the cluster's resources in, this host's desired state out. Pure: the
 * syncer feeds it resource updates, the daemon asks it for `state()` and hands that to the rule
 * renderer. Incremental throughout, because a single pod relabel in a cluster of thousands must cost
 * about what it touches (issue 7: one label change applied in under 100 ms):
 *
 * - Selector ipsets: every selector a rule uses is registered in a LabelIndex against every endpoint
 *   of the cluster, so one endpoint's label change costs the selectors that could notice it, and the
 *   member sets are updated from the index's match-started / match-stopped events.
 * - Policy selection: a second LabelIndex holds the policies' own selectors against this host's
 *   endpoints only, so an endpoint is resolved against the few policies that can select it (not all
 *   of them), and a policy change re-resolves only the endpoints it selected before or selects now.
 * - Dirty tracking: only endpoints marked dirty are re-resolved in `state()`. Everything `state()`
 *   returns keeps its object identity while its inputs are unchanged (an endpoint whose policies did
 *   not change keeps the same `DirectionPlan`, an untouched policy the same `ActivePolicy`, a set
 *   whose members did not change the same `SelectorSet`), which is what lets the renderer and the
 *   dataplane drivers skip unchanged parts by identity instead of by comparing contents.
 *
 * Which IP versions the host programs is decided here too, because it decides what the host wants:
 * with IPv6 off (calico-node `--no-ipv6`, Calico's FELIX_IPV6SUPPORT=false) the state has no IPv6
 * piece at all (no IPv6 endpoint addresses, so no IPv6 routes or interface settings; no IPv6 set
 * members, pools or blocks), and the renderer renders IPv4 only. Programming an endpoint's IPv6
 * route without the ip6tables rules that filter it would let its IPv6 traffic bypass policy, so an
 * IPv6 address is either programmed with its rules or not at all. The local endpoints that lose
 * addresses this way are named in the state, so the agent can tell the user why.
 */
import type {
  HostEndpoint,
  IPPool,
  Profile,
  Resource,
  Rule,
  WorkloadEndpoint,
  FelixConfigurationSpec,
} from '../../api/types.js';
import { LabelIndex, parseSelector, type Selector } from '../../selector/index.js';
import {
  DEFAULT_NAMESPACE,
  NAMESPACE_LABEL,
  hostEndpointView,
  namespaceSelectorAdmits,
  resolveEndpointPolicies,
  workloadEndpointLabels,
  workloadEndpointView,
  type EndpointPolicies,
  type PolicyEndpoint,
  type PolicyResource,
} from '../../policy/index.js';
import { canonicalCidr } from '../../net/ip.js';
import type { IpVersion } from '../model.js';
import { entitySelectorKeys, selectorSetId, type SelectorSetKey } from './sets.js';
import {
  NO_TEXTS,
  canonicalNetworkText,
  isIpv6Text,
  memberTextsOf,
  withoutIpv6,
  type MemberTexts,
} from './members.js';

export type ResourceUpdate =
  | { readonly type: 'set'; readonly resource: Resource }
  | {
      readonly type: 'delete';
      readonly kind: Resource['kind'];
      readonly name: string;
      readonly namespace?: string;
    };

export interface DirectionPlan {
  readonly tiers: readonly {
    readonly name: string;
    readonly defaultAction: 'Deny' | 'Pass';
    readonly policies: readonly string[];
  }[];
  readonly profiles: readonly string[];
}

export interface LocalEndpoint {
  readonly kind: 'workload' | 'host';
  /** `namespace/name` for workloads, the name for host endpoints. */
  readonly key: string;
  /** The interface: `cali*` host side of a workload veth, or a host interface (`*` = all). */
  readonly iface: string;
  readonly networks: readonly string[];
  readonly ingress: DirectionPlan;
  readonly egress: DirectionPlan;
}

export interface ActivePolicy {
  /** `name` for global policies, `namespace/name` for namespaced ones. */
  readonly key: string;
  readonly namespace: string | undefined;
  readonly ingress: readonly Rule[];
  readonly egress: readonly Rule[];
}

export interface SelectorSet {
  readonly id: string;
  readonly members: Readonly<Record<IpVersion, readonly string[]>>;
}

export interface FelixState {
  readonly hostname: string;
  readonly endpoints: readonly LocalEndpoint[];
  readonly policies: ReadonlyMap<string, ActivePolicy>;
  readonly profiles: ReadonlyMap<string, ActivePolicy>;
  /** Only the sets some active rule references. */
  readonly selectorSets: readonly SelectorSet[];
  readonly pools: readonly { readonly cidr: string; readonly natOutgoing: boolean }[];
  readonly affineBlocks: readonly string[];
  readonly config: FelixConfigurationSpec;
  /** The IP versions this host programs: [4, 6], or [4] with IPv6 off (then nothing above is IPv6). */
  readonly ipVersions: readonly IpVersion[];
  /**
   * With IPv6 off, the local endpoints (their `key`, sorted) that have IPv6 addresses this host does
   * not program; empty with IPv6 on. The same array while the list is unchanged.
   */
  readonly ipv6NotProgrammed: readonly string[];
}

export interface FelixCalculatorOptions {
  /** Whether this host programs IPv6; default true. */
  readonly ipv6?: boolean;
}

const BOTH_VERSIONS: readonly IpVersion[] = [4, 6];
const IPV4_ONLY: readonly IpVersion[] = [4];
const NONE: readonly string[] = [];

const wepKey = (ns: string | undefined, name: string) => `${ns ?? DEFAULT_NAMESPACE}/${name}`;
const policyKey = (p: PolicyResource) =>
  p.kind === 'NetworkPolicy'
    ? `${p.metadata.namespace ?? DEFAULT_NAMESPACE}/${p.metadata.name}`
    : p.metadata.name;

function hostOf(r: WorkloadEndpoint | HostEndpoint): string | undefined {
  return r.spec.node;
}

/**
 * The selector a policy is filed under in the policy index: a superset of the endpoints the policy
 * selects (resolveEndpointPolicies makes the exact decision). A NetworkPolicy only sees its own
 * namespace; a namespaceSelector is left to the exact check. Undefined when the text does not parse:
 * such a policy is checked against every endpoint, so the parse error surfaces where it always did.
 */
function policyIndexSelector(p: PolicyResource): Selector | undefined {
  const own = p.spec.selector?.trim() ? p.spec.selector : 'all()';
  const text =
    p.kind === 'NetworkPolicy'
      ? `(${own}) && ${NAMESPACE_LABEL} == "${p.metadata.namespace ?? DEFAULT_NAMESPACE}"`
      : own;
  try {
    return parsedSelector(text);
  } catch {
    return undefined;
  }
}

/** Parsed selectors by text: many policies and rules share a selector, and a Selector is immutable. */
const parsedSelectors = new Map<string, Selector>();
function parsedSelector(text: string): Selector {
  let s = parsedSelectors.get(text);
  if (s === undefined) {
    s = parseSelector(text);
    if (parsedSelectors.size >= 10_000) parsedSelectors.clear();
    parsedSelectors.set(text, s);
  }
  return s;
}

/** Sorts in place and drops repeats (two endpoints may share an address). */
function sortedUnique(list: string[]): string[] {
  list.sort();
  let n = 0;
  for (let i = 0; i < list.length; i++) if (i === 0 || list[i] !== list[i - 1]) list[n++] = list[i] as string;
  list.length = n;
  return list;
}

interface NeededSet {
  readonly id: string;
  readonly key: SelectorSetKey;
}

/** The selector sets a policy's rules need, per ActivePolicy (which lives as long as the policy). */
const setsMemo = new WeakMap<ActivePolicy, readonly NeededSet[]>();
function setsOf(p: ActivePolicy): readonly NeededSet[] {
  let sets = setsMemo.get(p);
  if (!sets) {
    const out: NeededSet[] = [];
    for (const rule of [...p.ingress, ...p.egress])
      for (const side of [rule.source, rule.destination]) {
        const k = entitySelectorKeys(side, p.namespace);
        if (k.selector) out.push({ id: selectorSetId(k.selector), key: k.selector });
        if (k.notSelector) out.push({ id: selectorSetId(k.notSelector), key: k.notSelector });
      }
    setsMemo.set(p, (sets = out));
  }
  return sets;
}

/** Same entries, same objects, same order. */
const sameEntries = <V>(a: ReadonlyMap<string, V>, b: ReadonlyMap<string, V>): boolean => {
  if (a.size !== b.size) return false;
  const other = b.entries();
  for (const [k, v] of a) {
    const next = other.next().value;
    if (next === undefined || next[0] !== k || next[1] !== v) return false;
  }
  return true;
};

const samePlan = (a: DirectionPlan, b: DirectionPlan): boolean =>
  a.profiles.length === b.profiles.length &&
  a.profiles.every((p, i) => p === b.profiles[i]) &&
  a.tiers.length === b.tiers.length &&
  a.tiers.every((t, i) => {
    const u = b.tiers[i];
    return (
      u !== undefined &&
      t.name === u.name &&
      t.defaultAction === u.defaultAction &&
      t.policies.length === u.policies.length &&
      t.policies.every((p, j) => p === u.policies[j])
    );
  });

const sameStrings = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Plans by content. Endpoints with the same labels usually get the same policies: sharing one plan
 * object lets the renderer build the rules of their chains once. Dropped whole past a bound (the
 * sharing is an optimisation; an evicted plan is simply rebuilt).
 */
const planIntern = new Map<string, DirectionPlan>();

function planOf(p: EndpointPolicies): DirectionPlan {
  const plan: DirectionPlan = {
    tiers: p.tiers.map((t) => ({
      name: t.name,
      defaultAction: t.defaultAction,
      policies: t.policies.map((x) => x.key),
    })),
    profiles: p.profiles.filter((x) => x.profile !== undefined).map((x) => x.name),
  };
  const key = JSON.stringify(plan);
  const shared = planIntern.get(key);
  if (shared) return shared;
  if (planIntern.size >= 10_000) planIntern.clear();
  planIntern.set(key, plan);
  return plan;
}

const sameTexts = (a: MemberTexts, b: MemberTexts): boolean =>
  sameStrings(a[4], b[4]) && sameStrings(a[6], b[6]);

export class FelixCalculator {
  private readonly weps = new Map<string, WorkloadEndpoint>();
  private readonly heps = new Map<string, HostEndpoint>();
  private readonly policies = new Map<string, PolicyResource>();
  private readonly profiles = new Map<string, Profile>();
  private readonly pools = new Map<string, IPPool>();
  private felixConfig: FelixConfigurationSpec = {};
  private nodeFelixConfig: FelixConfigurationSpec = {};
  private affineBlocks: string[] = [];

  /**
   * Endpoints as the policy engine sees them: this host's always (their policies are resolved),
   * others only while a namespaceSelector set needs whole views; otherwise a remote endpoint is
   * just its labels (in the index) and its addresses (memberTexts), which is all its sets need.
   */
  private readonly views = new Map<string, PolicyEndpoint>();
  private readonly memberTexts = new Map<string, MemberTexts>();
  private readonly index: LabelIndex;
  /** Selector set id → its key (the endpoints matching it are the index's matchingItems). */
  private readonly setKeys = new Map<string, SelectorSetKey>();
  /** Sets whose selector the LabelIndex cannot evaluate alone (namespaceSelector): computed by scan. */
  private readonly scannedSets = new Set<string>();
  /** Member lists per selector set, dropped when the set's matches or a member's addresses change. */
  private readonly setCache = new Map<string, SelectorSet>();

  /** This host's endpoints (view keys) against the policies' selectors. */
  private readonly policyIndex: LabelIndex;
  /** Local endpoint → the policies whose index selector matches it (from the policy index's events). */
  private readonly policiesSelecting = new Map<string, Set<string>>();
  /** Policies whose selector did not parse: candidates for every endpoint. */
  private readonly unindexedPolicies = new Set<string>();
  private readonly localKeys = new Set<string>();
  private sortedLocalKeys: string[] | undefined;
  /** Local endpoints whose policies must be resolved again. */
  private readonly dirtyLocal = new Set<string>();
  private readonly localEndpoints = new Map<string, LocalEndpoint>();
  /** Plans per group of endpoints that resolve alike (see resolvePlans); dropped on policy changes. */
  private readonly planGroups = new Map<string, { ingress: DirectionPlan; egress: DirectionPlan }>();

  // Derived results, dropped when an input changes, so an unchanged part keeps its identity.
  private endpointList: readonly LocalEndpoint[] | undefined;
  private active:
    | {
        readonly policies: ReadonlyMap<string, ActivePolicy>;
        readonly profiles: ReadonlyMap<string, ActivePolicy>;
        readonly setIds: readonly string[];
      }
    | undefined;
  private lastActive: FelixCalculator['active'];
  private lastSelectorSets: readonly SelectorSet[] = [];
  private readonly activePolicyCache = new Map<string, ActivePolicy>();
  private readonly activeProfileCache = new Map<string, ActivePolicy>();
  private profileList: Profile[] | undefined;
  private poolList: FelixState['pools'] | undefined;
  private configCache: FelixConfigurationSpec | undefined;

  private readonly ipv6: boolean;
  private readonly ipVersions: readonly IpVersion[];
  /** Local endpoints (view key → endpoint key) whose IPv6 addresses are left out because IPv6 is off. */
  private readonly ipv6Left = new Map<string, string>();
  private ipv6LeftList: readonly string[] = NONE;

  constructor(
    readonly hostname: string,
    options: FelixCalculatorOptions = {},
  ) {
    this.ipv6 = options.ipv6 ?? true;
    this.ipVersions = this.ipv6 ? BOTH_VERSIONS : IPV4_ONLY;
    // A set's member list is rebuilt when its matches change.
    this.index = new LabelIndex((e) => this.setCache.delete(e.selectorId));
    this.policyIndex = new LabelIndex((e) => {
      this.dirtyLocal.add(e.itemId);
      let policies = this.policiesSelecting.get(e.itemId);
      if (e.kind === 'matchStarted') {
        if (!policies) this.policiesSelecting.set(e.itemId, (policies = new Set()));
        policies.add(e.selectorId);
      } else if (policies) {
        policies.delete(e.selectorId);
        if (policies.size === 0) this.policiesSelecting.delete(e.itemId);
      }
    });
  }

  apply(update: ResourceUpdate): void {
    if (update.type === 'set') this.set(update.resource);
    else this.remove(update.kind, update.name, update.namespace);
  }

  /** The effective FelixConfiguration for this host (`default`, overridden by `node.<host>`). */
  config(): FelixConfigurationSpec {
    return { ...this.felixConfig, ...this.nodeFelixConfig };
  }

  setAffineBlocks(cidrs: readonly string[]): void {
    const next = (this.ipv6 ? [...cidrs] : cidrs.filter((c) => !isIpv6Text(c))).sort();
    if (!sameStrings(next, this.affineBlocks)) this.affineBlocks = next;
  }

  private set(r: Resource): void {
    switch (r.kind) {
      case 'WorkloadEndpoint': {
        const key = wepKey(r.metadata.namespace, r.metadata.name);
        this.weps.set(key, r);
        this.updateView(key);
        return;
      }
      case 'HostEndpoint':
        this.heps.set(r.metadata.name, r);
        this.updateView(`hep:${r.metadata.name}`);
        return;
      case 'GlobalNetworkPolicy':
      case 'NetworkPolicy':
        this.setPolicy(policyKey(r), r);
        return;
      case 'Profile':
        this.profiles.set(r.metadata.name, r);
        this.profileChanged(r.metadata.name);
        return;
      case 'IPPool':
        this.pools.set(r.metadata.name, r);
        this.poolList = undefined;
        return;
      case 'FelixConfiguration':
        if (r.metadata.name === 'default') this.felixConfig = r.spec;
        if (r.metadata.name === `node.${this.hostname}`) this.nodeFelixConfig = r.spec;
        this.configCache = undefined;
        return;
      default:
        return;
    }
  }

  private remove(kind: Resource['kind'], name: string, namespace?: string): void {
    switch (kind) {
      case 'WorkloadEndpoint': {
        const key = wepKey(namespace, name);
        this.weps.delete(key);
        this.updateView(key);
        return;
      }
      case 'HostEndpoint':
        this.heps.delete(name);
        this.updateView(`hep:${name}`);
        return;
      case 'GlobalNetworkPolicy':
        this.setPolicy(name, undefined);
        return;
      case 'NetworkPolicy':
        this.setPolicy(wepKey(namespace, name), undefined);
        return;
      case 'Profile':
        this.profiles.delete(name);
        this.profileChanged(name);
        return;
      case 'IPPool':
        this.pools.delete(name);
        this.poolList = undefined;
        return;
      case 'FelixConfiguration':
        if (name === 'default') this.felixConfig = {};
        if (name === `node.${this.hostname}`) this.nodeFelixConfig = {};
        this.configCache = undefined;
        return;
      default:
        return;
    }
  }

  /** A policy was written or deleted: re-resolve the local endpoints it selected or selects now. */
  private setPolicy(key: string, policy: PolicyResource | undefined): void {
    // Endpoints it selected: still selected ones need re-ordering; the index reports the others.
    for (const item of this.policyIndex.matchingItems(key)) this.dirtyLocal.add(item);
    const wasUnindexed = this.unindexedPolicies.delete(key);
    this.planGroups.clear();
    this.activePolicyCache.delete(key);
    this.active = undefined;
    if (policy === undefined) {
      this.policies.delete(key);
      this.policyIndex.deleteSelector(key);
    } else {
      this.policies.set(key, policy);
      const selector = policyIndexSelector(policy);
      if (selector === undefined) {
        this.unindexedPolicies.add(key);
        this.policyIndex.deleteSelector(key);
      } else {
        this.policyIndex.updateSelector(key, selector);
        for (const item of this.policyIndex.matchingItems(key)) this.dirtyLocal.add(item);
      }
    }
    if (wasUnindexed || this.unindexedPolicies.has(key)) this.markAllLocalDirty();
  }

  private profileChanged(name: string): void {
    this.planGroups.clear();
    this.profileList = undefined;
    this.activeProfileCache.delete(name);
    this.active = undefined;
    this.refreshAllViews();
    this.markAllLocalDirty();
  }

  private markAllLocalDirty(): void {
    for (const key of this.localKeys) this.dirtyLocal.add(key);
  }

  private refreshAllViews(): void {
    for (const key of this.weps.keys()) this.updateView(key);
    for (const name of this.heps.keys()) this.updateView(`hep:${name}`);
  }

  private resourceOf(key: string): WorkloadEndpoint | HostEndpoint | undefined {
    return key.startsWith('hep:') ? this.heps.get(key.slice(4)) : this.weps.get(key);
  }

  /** Recomputes one endpoint's policy view and index entries. */
  private updateView(key: string): void {
    const res = this.resourceOf(key);
    const wasLocal = this.localKeys.has(key);
    if (!res) {
      for (const id of this.index.matchingSelectors(key)) this.setCache.delete(id);
      this.views.delete(key);
      this.memberTexts.delete(key);
      this.index.deleteItem(key);
      if (wasLocal) this.forgetLocal(key);
      return;
    }
    const local = hostOf(res) === this.hostname;
    let labels: Readonly<Record<string, string>>;
    if (local || res.kind === 'HostEndpoint' || this.scannedSets.size > 0) {
      const view = this.viewOf(res);
      this.views.set(key, view);
      labels = view.labels;
    } else {
      this.views.delete(key);
      labels = workloadEndpointLabels(res, this.profiles);
    }
    const prior = this.memberTexts.get(key);
    const allTexts = memberTextsOf(
      (res.kind === 'WorkloadEndpoint' ? res.spec.ipNetworks : res.spec.expectedIPs) ?? NO_TEXTS,
    );
    const texts = this.ipv6 ? allTexts : withoutIpv6(allTexts);
    this.memberTexts.set(key, texts);
    // The sets it stays in list its addresses: a new address must reach them too.
    if (prior && !sameTexts(prior, texts))
      for (const id of this.index.matchingSelectors(key)) this.setCache.delete(id);
    // The labels already include what profiles hand down, so the index needs no parents.
    this.index.updateItem(key, labels);
    if (local) {
      if (!wasLocal) {
        this.localKeys.add(key);
        this.sortedLocalKeys = undefined;
      }
      this.policyIndex.updateItem(key, labels);
      this.dirtyLocal.add(key);
    } else if (wasLocal) {
      this.forgetLocal(key);
    }
  }

  private viewOf(res: WorkloadEndpoint | HostEndpoint): PolicyEndpoint {
    return res.kind === 'WorkloadEndpoint'
      ? workloadEndpointView(res, this.profiles)
      : hostEndpointView(res, this.profiles);
  }

  /** The view of any endpoint of the cluster (made and kept on first need for a remote one). */
  private viewOfKey(key: string): PolicyEndpoint | undefined {
    let view = this.views.get(key);
    if (view === undefined) {
      const res = this.resourceOf(key);
      if (res === undefined) return undefined;
      this.views.set(key, (view = this.viewOf(res)));
    }
    return view;
  }

  private forgetLocal(key: string): void {
    this.policyIndex.deleteItem(key);
    this.localKeys.delete(key);
    this.sortedLocalKeys = undefined;
    this.dirtyLocal.delete(key);
    if (this.localEndpoints.delete(key)) this.endpointList = undefined;
    this.noteIpv6Left(key, undefined);
  }

  /** Records whether a local endpoint has IPv6 addresses left out (`endpointKey`) or not (undefined). */
  private noteIpv6Left(viewKey: string, endpointKey: string | undefined): void {
    if (this.ipv6Left.get(viewKey) === endpointKey) return;
    if (endpointKey === undefined) this.ipv6Left.delete(viewKey);
    else this.ipv6Left.set(viewKey, endpointKey);
    this.ipv6LeftList = [...this.ipv6Left.values()].sort();
  }

  /** Makes sure a selector set is tracked. */
  private trackSet({ id, key }: NeededSet): string {
    if (this.setKeys.has(id)) return id;
    this.setKeys.set(id, key);
    if (key.namespaceSelector !== undefined) {
      this.scannedSets.add(id);
    } else {
      const text =
        key.namespace !== undefined
          ? `(${key.selector || 'all()'}) && ${NAMESPACE_LABEL} == "${key.namespace}"`
          : key.selector;
      this.index.updateSelector(id, parsedSelector(text));
    }
    return id;
  }

  private untrackSet(id: string): void {
    this.setCache.delete(id);
    this.setKeys.delete(id);
    if (!this.scannedSets.delete(id)) this.index.deleteSelector(id);
  }

  private membersOf(id: string): ReadonlySet<string> {
    if (!this.scannedSets.has(id)) return this.index.matchingItems(id);
    const key = this.setKeys.get(id);
    const out = new Set<string>();
    if (!key?.namespaceSelector) return out;
    const sel = parsedSelector(key.selector);
    const nsSel = parsedSelector(key.namespaceSelector);
    for (const k of this.memberTexts.keys()) {
      const v = this.viewOfKey(k);
      if (v && sel.evaluate(v.labels) && namespaceSelectorAdmits(nsSel, v, {})) out.add(k);
    }
    return out;
  }

  /**
   * The endpoint's ingress and egress plans. Endpoints whose policy index matches are exact (no
   * namespaceSelector, no unparsed selector) resolve alike when they match the same policies and
   * name the same profiles, so the result is shared per such group until a policy or profile changes.
   */
  private resolvePlans(key: string, view: PolicyEndpoint): { ingress: DirectionPlan; egress: DirectionPlan } {
    const candidates: PolicyResource[] = [];
    let exact = this.unindexedPolicies.size === 0;
    for (const k of this.policiesSelecting.get(key) ?? []) {
      const p = this.policies.get(k);
      if (!p) continue;
      candidates.push(p);
      if (p.kind === 'NetworkPolicy') exact &&= view.kind === 'WorkloadEndpoint';
      else exact &&= !p.spec.namespaceSelector?.trim();
    }
    for (const k of this.unindexedPolicies) {
      const p = this.policies.get(k);
      if (p) candidates.push(p);
    }
    const groupKey = exact
      ? `${view.kind}\u0000${view.profiles.join(',')}\u0000${candidates
          .map((p) => policyKey(p))
          .sort()
          .join('\u0000')}`
      : undefined;
    const cached = groupKey === undefined ? undefined : this.planGroups.get(groupKey);
    if (cached) return cached;
    this.profileList ??= [...this.profiles.values()];
    const plans = {
      ingress: planOf(resolveEndpointPolicies(view, candidates, this.profileList, 'ingress')),
      egress: planOf(resolveEndpointPolicies(view, candidates, this.profileList, 'egress')),
    };
    if (groupKey !== undefined) this.planGroups.set(groupKey, plans);
    return plans;
  }

  /** Resolves one local endpoint again; keeps the old object (and plans) if nothing changed. */
  private refreshLocalEndpoint(key: string): void {
    const view = this.views.get(key);
    const res = this.resourceOf(key);
    const iface = res?.spec.interfaceName;
    const prior = this.localEndpoints.get(key);
    if (!view || !res || !iface) {
      if (prior) {
        this.localEndpoints.delete(key);
        this.endpointList = undefined;
      }
      this.noteIpv6Left(key, undefined);
      return;
    }
    const { ingress, egress } = this.resolvePlans(key, view);
    const endpointKey = res.kind === 'WorkloadEndpoint' ? key : res.metadata.name;
    const allNetworks =
      res.kind === 'WorkloadEndpoint'
        ? (res.spec.ipNetworks ?? []).map(canonicalNetworkText)
        : (res.spec.expectedIPs ?? []);
    const networks = this.ipv6 ? allNetworks : allNetworks.filter((n) => !isIpv6Text(n));
    this.noteIpv6Left(key, networks.length < allNetworks.length ? endpointKey : undefined);
    const next: LocalEndpoint = {
      kind: res.kind === 'WorkloadEndpoint' ? 'workload' : 'host',
      key: endpointKey,
      iface,
      networks: prior && sameStrings(prior.networks, networks) ? prior.networks : networks,
      ingress: prior && samePlan(prior.ingress, ingress) ? prior.ingress : ingress,
      egress: prior && samePlan(prior.egress, egress) ? prior.egress : egress,
    };
    if (
      prior &&
      prior.kind === next.kind &&
      prior.key === next.key &&
      prior.iface === next.iface &&
      prior.networks === next.networks &&
      prior.ingress === next.ingress &&
      prior.egress === next.egress
    )
      return;
    this.localEndpoints.set(key, next);
    this.endpointList = undefined;
  }

  private endpoints(): readonly LocalEndpoint[] {
    for (const key of this.dirtyLocal) if (this.localKeys.has(key)) this.refreshLocalEndpoint(key);
    this.dirtyLocal.clear();
    if (this.endpointList) return this.endpointList;
    this.sortedLocalKeys ??= [...this.localKeys].sort();
    const list: LocalEndpoint[] = [];
    for (const key of this.sortedLocalKeys) {
      const e = this.localEndpoints.get(key);
      if (e) list.push(e);
    }
    this.endpointList = list;
    this.active = undefined;
    return list;
  }

  private activePolicy(key: string): ActivePolicy | undefined {
    let a = this.activePolicyCache.get(key);
    if (a) return a;
    const pol = this.policies.get(key);
    if (!pol) return undefined;
    a = {
      key,
      namespace: pol.kind === 'NetworkPolicy' ? (pol.metadata.namespace ?? DEFAULT_NAMESPACE) : undefined,
      ingress: pol.spec.ingress ?? [],
      egress: pol.spec.egress ?? [],
    };
    this.activePolicyCache.set(key, a);
    return a;
  }

  private activeProfile(name: string): ActivePolicy | undefined {
    let a = this.activeProfileCache.get(name);
    if (a) return a;
    const pr = this.profiles.get(name);
    if (!pr) return undefined;
    a = { key: name, namespace: undefined, ingress: pr.spec.ingress ?? [], egress: pr.spec.egress ?? [] };
    this.activeProfileCache.set(name, a);
    return a;
  }

  /** The policies and profiles some local endpoint uses, and the selector sets their rules need. */
  private activeParts(endpoints: readonly LocalEndpoint[]): NonNullable<FelixCalculator['active']> {
    if (this.active) return this.active;
    const policies = new Map<string, ActivePolicy>();
    const profiles = new Map<string, ActivePolicy>();
    // Endpoints that resolve alike share plan objects: each plan is walked once.
    const seenPlans = new Set<DirectionPlan>();
    for (const e of endpoints)
      for (const plan of [e.ingress, e.egress]) {
        if (seenPlans.has(plan)) continue;
        seenPlans.add(plan);
        for (const tier of plan.tiers)
          for (const key of tier.policies) {
            if (policies.has(key)) continue;
            const a = this.activePolicy(key);
            if (a) policies.set(key, a);
          }
        for (const name of plan.profiles) {
          if (profiles.has(name)) continue;
          const a = this.activeProfile(name);
          if (a) profiles.set(name, a);
        }
      }
    // The same policies and profiles as last time (an endpoint changed, not what is active): the
    // same result, whose identity lets the renderer reuse its policy chains and sets.
    const last = this.lastActive;
    if (last && sameEntries(policies, last.policies) && sameEntries(profiles, last.profiles))
      return (this.active = last);
    // The selector sets the active rules reference; stop tracking the rest.
    const wanted = new Set<string>();
    for (const p of [...policies.values(), ...profiles.values()])
      for (const k of setsOf(p)) wanted.add(this.trackSet(k));
    for (const id of [...this.setKeys.keys()]) if (!wanted.has(id)) this.untrackSet(id);
    const active = { policies, profiles, setIds: [...wanted].sort() };
    this.active = this.lastActive = active;
    return active;
  }

  private selectorSet(id: string): SelectorSet {
    const cached = this.setCache.get(id);
    if (cached && !this.scannedSets.has(id)) return cached;
    const v4: string[] = [];
    const v6: string[] = [];
    for (const k of this.membersOf(id)) {
      const texts = this.memberTexts.get(k);
      if (!texts) continue;
      const t4 = texts[4];
      const t6 = texts[6];
      for (let i = 0; i < t4.length; i++) v4.push(t4[i] as string);
      for (let i = 0; i < t6.length; i++) v6.push(t6[i] as string);
    }
    const members = { 4: sortedUnique(v4), 6: sortedUnique(v6) };
    const set =
      cached && sameStrings(cached.members[4], members[4]) && sameStrings(cached.members[6], members[6])
        ? cached
        : { id, members };
    this.setCache.set(id, set);
    return set;
  }

  state(): FelixState {
    const endpoints = this.endpoints();
    const active = this.activeParts(endpoints);
    this.poolList ??= [...this.pools.values()]
      .filter((p) => !p.spec.disabled && (this.ipv6 || !isIpv6Text(p.spec.cidr)))
      .map((p) => ({
        cidr: canonicalCidr(p.spec.cidr) ?? p.spec.cidr,
        natOutgoing: p.spec.natOutgoing ?? false,
      }))
      .sort((a, b) => a.cidr.localeCompare(b.cidr));
    this.configCache ??= this.config();
    // Kept as the same array while every set is the same object, so the renderer can tell.
    const sets = active.setIds.map((id) => this.selectorSet(id));
    const last = this.lastSelectorSets;
    if (sets.length !== last.length || sets.some((x, i) => x !== last[i])) this.lastSelectorSets = sets;
    return {
      hostname: this.hostname,
      endpoints,
      policies: active.policies,
      profiles: active.profiles,
      selectorSets: this.lastSelectorSets,
      pools: this.poolList,
      affineBlocks: this.affineBlocks,
      config: this.configCache,
      ipVersions: this.ipVersions,
      ipv6NotProgrammed: this.ipv6LeftList,
    };
  }
}
