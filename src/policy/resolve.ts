/**
 * Which policies and profiles apply to an endpoint in one direction, and in what order. This is
 * Calico v3's selection and ordering, kept apart from rule matching so the calculation graph
 * (which renders chains) and the explain tool (which walks one packet) share it:
 *
 *  - A GlobalNetworkPolicy applies when its `selector` matches the endpoint's labels and, if it has
 *    a `namespaceSelector`, the endpoint's namespace matches it (`global()`: non-namespaced only).
 *    A NetworkPolicy applies only to workload endpoints in its own namespace.
 *  - It applies in a direction when its `types` include it; absent `types` are inferred as Calico
 *    does (Ingress, plus Egress when it has egress rules; egress rules only → Egress only).
 *  - Policies group into tiers (`spec.tier`, default `default`); tiers sort by their order (the
 *    default tier's is 1,000,000 unless given; a tier with no order sorts last), then name. Inside a
 *    tier, policies sort by `order` (lower first, none last), then name.
 *  - Profiles follow in the endpoint's own order; they are consulted only if no tier decides.
 */
// From its own module, not api/index.js: the index also loads the YAML codecs and the v1 format,
// which Felix (resolving policy) never uses.
import { inferPolicyTypes } from '../api/defaults.js';
import type { GlobalNetworkPolicy, NetworkPolicy, PolicyType, Profile, Rule } from '../api/index.js';
import { evaluateSelectorNode, parseSelector, type Selector, type SelectorNode } from '../selector/index.js';
import { DEFAULT_NAMESPACE, NAMESPACE_NAME_LABEL, type PolicyEndpoint } from './endpoint.js';

export type Direction = 'ingress' | 'egress';
export type PolicyResource = GlobalNetworkPolicy | NetworkPolicy;

export const DEFAULT_TIER = 'default';
/** Calico's order for the default tier when no Tier resource says otherwise. */
export const DEFAULT_TIER_ORDER = 1_000_000;

export interface NamespaceInfo {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface TierInfo {
  readonly name: string;
  readonly order?: number;
  /** What happens at the end of the tier when its policies applied but none decided (default Deny). */
  readonly defaultAction?: 'Deny' | 'Pass';
}

/** What selection needs besides policies and profiles: namespace labels and tier orders. */
export interface PolicyEnvironment {
  readonly namespaces?: readonly NamespaceInfo[];
  readonly tiers?: readonly TierInfo[];
}

export interface ApplyingPolicy {
  readonly kind: PolicyResource['kind'];
  readonly name: string;
  readonly namespace: string | undefined;
  /** `name` for a global policy, `namespace/name` for a namespaced one; also the tie-break key. */
  readonly key: string;
  readonly order: number | undefined;
  readonly rules: readonly Rule[];
  readonly resource: PolicyResource;
}

export interface ResolvedTier {
  readonly name: string;
  readonly order: number | undefined;
  readonly defaultAction: 'Deny' | 'Pass';
  readonly policies: readonly ApplyingPolicy[];
}

export interface ResolvedProfile {
  readonly name: string;
  /** Undefined when the endpoint names a profile that does not exist. */
  readonly profile: Profile | undefined;
  readonly rules: readonly Rule[];
}

export interface EndpointPolicies {
  readonly endpoint: PolicyEndpoint;
  readonly direction: Direction;
  /** Only tiers with at least one policy applying in this direction, in evaluation order. */
  readonly tiers: readonly ResolvedTier[];
  readonly profiles: readonly ResolvedProfile[];
}

const selectorCache = new Map<string, Selector>();

/** Parses (once) a selector stored in a resource; the error names the resource and field. */
export function cachedSelector(text: string | undefined, where: string): Selector {
  const key = text ?? '';
  let s = selectorCache.get(key);
  if (s === undefined) {
    try {
      s = parseSelector(key);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
    }
    selectorCache.set(key, s);
  }
  return s;
}

/** The labels a namespaceSelector sees: the namespace's own, plus its name as Calico adds it. */
export function namespaceLabels(env: PolicyEnvironment, namespace: string): Record<string, string> {
  const info = env.namespaces?.find((n) => n.name === namespace);
  return { ...(info?.labels ?? {}), [NAMESPACE_NAME_LABEL]: namespace };
}

/**
 * Does a namespaceSelector admit this endpoint? As Calico compiles it: the selector is matched
 * against the labels of the endpoint's namespace, `all()` means "any namespaced endpoint" and
 * `global()` means "an endpoint in no namespace" (host endpoints), wherever they appear in the
 * expression. A host endpoint has no namespace labels, so `!has(x)` or `x != "y"` admit it too.
 */
export function namespaceSelectorAdmits(
  selector: Selector,
  endpoint: PolicyEndpoint,
  env: PolicyEnvironment,
): boolean {
  let node = namespaceNodes.get(selector);
  if (node === undefined) namespaceNodes.set(selector, (node = asNamespaceMatch(selector.ast)));
  const labels = endpoint.namespace === undefined ? undefined : namespaceLabels(env, endpoint.namespace);
  return evaluateSelectorNode(node, (k) => {
    if (k === IN_A_NAMESPACE) return labels === undefined ? undefined : '';
    return labels !== undefined && Object.hasOwn(labels, k) ? labels[k] : undefined;
  });
}

/** A key no real label can have (NUL is not allowed in label keys). */
const IN_A_NAMESPACE = '\u0000in-a-namespace';
const namespaceNodes = new WeakMap<Selector, SelectorNode>();

function asNamespaceMatch(node: SelectorNode): SelectorNode {
  switch (node.kind) {
    case 'all':
      return { kind: 'has', label: IN_A_NAMESPACE };
    case 'global':
      return { kind: 'not', operand: { kind: 'has', label: IN_A_NAMESPACE } };
    case 'not':
      return { kind: 'not', operand: asNamespaceMatch(node.operand) };
    case 'and':
    case 'or':
      return { kind: node.kind, operands: node.operands.map(asNamespaceMatch) };
    default:
      return node;
  }
}

export function policyTypes(policy: PolicyResource): readonly PolicyType[] {
  return policy.spec.types && policy.spec.types.length > 0
    ? policy.spec.types
    : inferPolicyTypes(policy.spec);
}

function policyKey(policy: PolicyResource): string {
  return policy.kind === 'NetworkPolicy'
    ? `${policy.metadata.namespace ?? DEFAULT_NAMESPACE}/${policy.metadata.name}`
    : policy.metadata.name;
}

export function policySelectsEndpoint(
  policy: PolicyResource,
  endpoint: PolicyEndpoint,
  env: PolicyEnvironment,
): boolean {
  const where = `${policy.kind} ${JSON.stringify(policyKey(policy))}`;
  if (policy.kind === 'NetworkPolicy') {
    const ns = policy.metadata.namespace ?? DEFAULT_NAMESPACE;
    if (endpoint.kind !== 'WorkloadEndpoint' || endpoint.namespace !== ns) return false;
  } else if (policy.spec.namespaceSelector !== undefined && policy.spec.namespaceSelector.trim() !== '') {
    const nsSel = cachedSelector(policy.spec.namespaceSelector, `${where} spec.namespaceSelector`);
    if (!namespaceSelectorAdmits(nsSel, endpoint, env)) return false;
  }
  return cachedSelector(policy.spec.selector, `${where} spec.selector`).evaluate(endpoint.labels);
}

function compareOrder(a: number | undefined, b: number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a - b;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function tierOrder(env: PolicyEnvironment, tier: string): number | undefined {
  const info = env.tiers?.find((t) => t.name === tier);
  if (info?.order !== undefined) return info.order;
  return tier === DEFAULT_TIER ? DEFAULT_TIER_ORDER : undefined;
}

/** The tiers, policies and profiles that apply to `endpoint` for traffic in `direction`, in order. */
export function resolveEndpointPolicies(
  endpoint: PolicyEndpoint,
  policies: readonly PolicyResource[],
  profiles: readonly Profile[],
  direction: Direction,
  env: PolicyEnvironment = {},
): EndpointPolicies {
  const type: PolicyType = direction === 'ingress' ? 'Ingress' : 'Egress';
  const byTier = new Map<string, ApplyingPolicy[]>();
  for (const policy of policies) {
    // Untracked and pre-DNAT policies act on host endpoints in the raw and mangle tables, before
    // (and apart from) the filter-table evaluation modelled here.
    if (policy.kind === 'GlobalNetworkPolicy' && (policy.spec.doNotTrack || policy.spec.preDNAT)) continue;
    if (!policyTypes(policy).includes(type)) continue;
    if (!policySelectsEndpoint(policy, endpoint, env)) continue;
    const tier = policy.spec.tier ?? DEFAULT_TIER;
    let list = byTier.get(tier);
    if (list === undefined) byTier.set(tier, (list = []));
    list.push({
      kind: policy.kind,
      name: policy.metadata.name,
      namespace:
        policy.kind === 'NetworkPolicy' ? (policy.metadata.namespace ?? DEFAULT_NAMESPACE) : undefined,
      key: policyKey(policy),
      order: policy.spec.order,
      rules: (direction === 'ingress' ? policy.spec.ingress : policy.spec.egress) ?? [],
      resource: policy,
    });
  }
  const tiers: ResolvedTier[] = [...byTier]
    .map(([name, list]) => ({
      name,
      order: tierOrder(env, name),
      defaultAction: env.tiers?.find((t) => t.name === name)?.defaultAction ?? 'Deny',
      policies: list.sort((a, b) => compareOrder(a.order, b.order) || compareNames(a.key, b.key)),
    }))
    .sort((a, b) => compareOrder(a.order, b.order) || compareNames(a.name, b.name));

  const profilesByName = new Map(profiles.map((p) => [p.metadata.name, p]));
  const resolvedProfiles: ResolvedProfile[] = endpoint.profiles.map((name) => {
    const profile = profilesByName.get(name);
    const rules = (direction === 'ingress' ? profile?.spec.ingress : profile?.spec.egress) ?? [];
    return { name, profile, rules };
  });
  return { endpoint, direction, tiers, profiles: resolvedProfiles };
}
