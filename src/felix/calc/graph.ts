/**
 * Felix's calculation graph: the cluster's resources in, this host's desired state out. Pure: the
 * syncer feeds it resource updates, the daemon asks it for `state()` and hands that to the rule
 * renderer. Incremental where it pays:
 *
 * - Selector ipsets: every selector a rule uses is registered in a LabelIndex against every endpoint
 *   of the cluster, so one endpoint's label change costs the selectors that could notice it, and the
 *   member sets are updated from the index's match-started / match-stopped events.
 * - Policy resolution per local endpoint is cached and recomputed only for endpoints that changed,
 *   or for all local endpoints when a policy or profile changed.
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
import { LabelIndex, parseSelector } from '../../selector/index.js';
import {
  DEFAULT_NAMESPACE,
  hostEndpointView,
  namespaceSelectorAdmits,
  resolveEndpointPolicies,
  workloadEndpointView,
  type EndpointPolicies,
  type PolicyEndpoint,
  type PolicyResource,
} from '../../policy/index.js';
import { canonicalCidr, formatCidr } from '../../net/ip.js';
import type { IpVersion } from '../model.js';
import { entitySelectorKeys, selectorSetId, type SelectorSetKey } from './sets.js';

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
}

const wepKey = (ns: string | undefined, name: string) => `${ns ?? DEFAULT_NAMESPACE}/${name}`;
const policyKey = (p: PolicyResource) =>
  p.kind === 'NetworkPolicy'
    ? `${p.metadata.namespace ?? DEFAULT_NAMESPACE}/${p.metadata.name}`
    : p.metadata.name;

function hostOf(r: WorkloadEndpoint | HostEndpoint): string | undefined {
  return r.spec.node;
}

export class FelixCalculator {
  private readonly weps = new Map<string, WorkloadEndpoint>();
  private readonly heps = new Map<string, HostEndpoint>();
  private readonly policies = new Map<string, PolicyResource>();
  private readonly profiles = new Map<string, Profile>();
  private readonly pools = new Map<string, IPPool>();
  private felixConfig: FelixConfigurationSpec = {};
  private nodeFelixConfig: FelixConfigurationSpec = {};
  private affineBlocks: string[] = [];

  /** Every endpoint of the cluster, as the policy engine sees it (labels include profile labels). */
  private readonly views = new Map<string, PolicyEndpoint>();
  private readonly index: LabelIndex;
  /** Selector set id → its key, and → endpoint keys currently matching. */
  private readonly setKeys = new Map<string, SelectorSetKey>();
  private readonly setMatches = new Map<string, Set<string>>();
  /** Sets whose selector the LabelIndex cannot evaluate alone (namespaceSelector): computed by scan. */
  private readonly scannedSets = new Set<string>();
  private readonly resolved = new Map<string, { ingress: EndpointPolicies; egress: EndpointPolicies }>();
  /** Rendered member lists per selector set, dropped when the set's matches or a member's addresses change. */
  private readonly memberCache = new Map<string, SelectorSet['members']>();
  private policiesDirty = true;

  constructor(readonly hostname: string) {
    this.index = new LabelIndex((e) => {
      const set = this.setMatches.get(e.selectorId);
      if (!set) return;
      this.memberCache.delete(e.selectorId);
      if (e.kind === 'matchStarted') set.add(e.itemId);
      else set.delete(e.itemId);
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
    this.affineBlocks = [...cidrs].sort();
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
        this.policies.set(policyKey(r), r);
        this.policiesDirty = true;
        return;
      case 'Profile':
        this.profiles.set(r.metadata.name, r);
        this.index.updateParent(`profile:${r.metadata.name}`, r.spec.labelsToApply ?? {});
        this.policiesDirty = true;
        this.refreshAllViews();
        return;
      case 'IPPool':
        this.pools.set(r.metadata.name, r);
        return;
      case 'FelixConfiguration':
        if (r.metadata.name === 'default') this.felixConfig = r.spec;
        if (r.metadata.name === `node.${this.hostname}`) this.nodeFelixConfig = r.spec;
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
        this.policies.delete(name);
        this.policiesDirty = true;
        return;
      case 'NetworkPolicy':
        this.policies.delete(wepKey(namespace, name));
        this.policiesDirty = true;
        return;
      case 'Profile':
        this.profiles.delete(name);
        this.index.deleteParent(`profile:${name}`);
        this.policiesDirty = true;
        this.refreshAllViews();
        return;
      case 'IPPool':
        this.pools.delete(name);
        return;
      case 'FelixConfiguration':
        if (name === 'default') this.felixConfig = {};
        if (name === `node.${this.hostname}`) this.nodeFelixConfig = {};
        return;
      default:
        return;
    }
  }

  private refreshAllViews(): void {
    for (const key of this.weps.keys()) this.updateView(key, false);
    for (const name of this.heps.keys()) this.updateView(`hep:${name}`, false);
  }

  /** Recomputes one endpoint's policy view and index entry. */
  private updateView(key: string, markDirty = true): void {
    const res = key.startsWith('hep:') ? this.heps.get(key.slice(4)) : this.weps.get(key);
    if (!res) {
      for (const id of this.index.matchingSelectors(key)) this.memberCache.delete(id);
      this.views.delete(key);
      this.index.deleteItem(key);
      this.resolved.delete(key);
      return;
    }
    const view =
      res.kind === 'WorkloadEndpoint'
        ? workloadEndpointView(res, this.profiles)
        : hostEndpointView(res, this.profiles);
    this.views.set(key, view);
    // The view's labels already include what profiles hand down, so the index needs no parents.
    this.index.updateItem(key, view.labels);
    if (markDirty) this.resolved.delete(key);
    else this.resolved.clear();
  }

  private isLocal(key: string): boolean {
    const res = key.startsWith('hep:') ? this.heps.get(key.slice(4)) : this.weps.get(key);
    return res !== undefined && hostOf(res) === this.hostname;
  }

  /** Makes sure a selector set is tracked; returns its id. */
  private trackSet(key: SelectorSetKey): string {
    const id = selectorSetId(key);
    if (this.setKeys.has(id)) return id;
    this.setKeys.set(id, key);
    this.setMatches.set(id, new Set());
    if (key.namespaceSelector !== undefined) {
      this.scannedSets.add(id);
    } else {
      const text =
        key.namespace !== undefined
          ? `(${key.selector || 'all()'}) && projectcalico.org/namespace == "${key.namespace}"`
          : key.selector;
      this.index.updateSelector(id, parseSelector(text));
    }
    return id;
  }

  private untrackSet(id: string): void {
    this.memberCache.delete(id);
    this.setKeys.delete(id);
    this.setMatches.delete(id);
    if (!this.scannedSets.delete(id)) this.index.deleteSelector(id);
  }

  private membersOf(id: string): Set<string> {
    if (!this.scannedSets.has(id)) return this.setMatches.get(id) ?? new Set();
    const key = this.setKeys.get(id);
    const out = new Set<string>();
    if (!key?.namespaceSelector) return out;
    const sel = parseSelector(key.selector);
    const nsSel = parseSelector(key.namespaceSelector);
    for (const [k, v] of this.views)
      if (sel.evaluate(v.labels) && namespaceSelectorAdmits(nsSel, v, {})) out.add(k);
    return out;
  }

  private resolve(
    key: string,
    view: PolicyEndpoint,
  ): { ingress: EndpointPolicies; egress: EndpointPolicies } {
    let r = this.resolved.get(key);
    if (!r) {
      const policies = [...this.policies.values()];
      const profiles = [...this.profiles.values()];
      r = {
        ingress: resolveEndpointPolicies(view, policies, profiles, 'ingress'),
        egress: resolveEndpointPolicies(view, policies, profiles, 'egress'),
      };
      this.resolved.set(key, r);
    }
    return r;
  }

  state(): FelixState {
    if (this.policiesDirty) {
      this.resolved.clear();
      this.policiesDirty = false;
    }
    const endpoints: LocalEndpoint[] = [];
    const activePolicies = new Map<string, ActivePolicy>();
    const activeProfiles = new Map<string, ActivePolicy>();
    const plan = (p: EndpointPolicies): DirectionPlan => ({
      tiers: p.tiers.map((t) => ({
        name: t.name,
        defaultAction: t.defaultAction,
        policies: t.policies.map((x) => x.key),
      })),
      profiles: p.profiles.filter((x) => x.profile !== undefined).map((x) => x.name),
    });
    const keys = [...this.views.keys()].filter((k) => this.isLocal(k)).sort();
    for (const key of keys) {
      const view = this.views.get(key);
      const res = key.startsWith('hep:') ? this.heps.get(key.slice(4)) : this.weps.get(key);
      if (!view || !res) continue;
      const iface = res.spec.interfaceName;
      if (!iface) continue;
      const r = this.resolve(key, view);
      for (const dir of [r.ingress, r.egress]) {
        for (const tier of dir.tiers)
          for (const p of tier.policies) {
            const pol = this.policies.get(p.key);
            if (pol && !activePolicies.has(p.key))
              activePolicies.set(p.key, {
                key: p.key,
                namespace: p.namespace,
                ingress: pol.spec.ingress ?? [],
                egress: pol.spec.egress ?? [],
              });
          }
        for (const prof of dir.profiles) {
          const pr = prof.profile;
          if (pr && !activeProfiles.has(prof.name))
            activeProfiles.set(prof.name, {
              key: prof.name,
              namespace: undefined,
              ingress: pr.spec.ingress ?? [],
              egress: pr.spec.egress ?? [],
            });
        }
      }
      endpoints.push({
        kind: res.kind === 'WorkloadEndpoint' ? 'workload' : 'host',
        key: res.kind === 'WorkloadEndpoint' ? key : res.metadata.name,
        iface,
        networks:
          res.kind === 'WorkloadEndpoint'
            ? (res.spec.ipNetworks ?? []).map((n) => canonicalCidr(n) ?? n)
            : (res.spec.expectedIPs ?? []),
        ingress: plan(r.ingress),
        egress: plan(r.egress),
      });
    }
    // The selector sets the active rules reference; stop tracking the rest.
    const wanted = new Set<string>();
    for (const p of [...activePolicies.values(), ...activeProfiles.values()])
      for (const rule of [...p.ingress, ...p.egress])
        for (const side of [rule.source, rule.destination]) {
          const keys = entitySelectorKeys(side, p.namespace);
          for (const k of [keys.selector, keys.notSelector]) if (k) wanted.add(this.trackSet(k));
        }
    for (const id of [...this.setKeys.keys()]) if (!wanted.has(id)) this.untrackSet(id);
    const selectorSets: SelectorSet[] = [...wanted].sort().map((id) => {
      const cached = this.scannedSets.has(id) ? undefined : this.memberCache.get(id);
      if (cached) return { id, members: cached };
      const v4: string[] = [];
      const v6: string[] = [];
      for (const k of this.membersOf(id))
        for (const n of this.views.get(k)?.networks ?? []) {
          (n.family === 4 ? v4 : v6).push(formatCidr(n));
        }
      const members = { 4: [...new Set(v4)].sort(), 6: [...new Set(v6)].sort() };
      this.memberCache.set(id, members);
      return { id, members };
    });
    return {
      hostname: this.hostname,
      endpoints,
      policies: activePolicies,
      profiles: activeProfiles,
      selectorSets,
      pools: [...this.pools.values()]
        .filter((p) => !p.spec.disabled)
        .map((p) => ({
          cidr: canonicalCidr(p.spec.cidr) ?? p.spec.cidr,
          natOutgoing: p.spec.natOutgoing ?? false,
        }))
        .sort((a, b) => a.cidr.localeCompare(b.cidr)),
      affineBlocks: this.affineBlocks,
      config: this.config(),
    };
  }
}
