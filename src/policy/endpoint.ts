/**
 * The policy engine's view of an endpoint: one shape for workload and host endpoints, so the rule
 * engine never asks which kind it is looking at (Calico applies the same rules to both).
 *
 * Labels here are the labels selectors see: the endpoint's own, plus what its profiles hand down in
 * `labelsToApply` (the endpoint's own labels win, then the first profile that has the key), plus
 * Calico's `projectcalico.org/namespace` and `projectcalico.org/orchestrator` for workloads.
 */
import type { EndpointPort, HostEndpoint, Profile, WorkloadEndpoint } from '../api/index.js';
import { parseIpOrCidr, type Cidr, type IpAddress } from '../net/ip.js';

export const NAMESPACE_LABEL = 'projectcalico.org/namespace';
export const ORCHESTRATOR_LABEL = 'projectcalico.org/orchestrator';
/** Calico gives every namespace this label with its own name, so `namespaceSelector` can name one. */
export const NAMESPACE_NAME_LABEL = 'projectcalico.org/name';
/** A WorkloadEndpoint stored without a namespace is in `default`, as Calico's clients default it. */
export const DEFAULT_NAMESPACE = 'default';

export interface PolicyEndpoint {
  readonly kind: 'WorkloadEndpoint' | 'HostEndpoint';
  readonly name: string;
  /** The workload's namespace; undefined for host endpoints, which are not namespaced. */
  readonly namespace: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** The endpoint's addresses as prefixes (a workload's ipNetworks, a host's expectedIPs as /32, /128). */
  readonly networks: readonly Cidr[];
  readonly profiles: readonly string[];
  readonly ports: readonly EndpointPort[];
  /** Other names a user may give for it (a workload's `spec.endpoint`, `namespace/name`). */
  readonly aliases: readonly string[];
}

/** Labels inherited from profiles, in order; the first profile that has a key wins. */
function inheritedLabels(
  profileNames: readonly string[],
  profiles: ReadonlyMap<string, Profile>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [...profileNames].reverse())
    Object.assign(out, profiles.get(name)?.spec.labelsToApply ?? {});
  return out;
}

function networksOf(texts: readonly string[] | undefined): Cidr[] {
  return (texts ?? []).map(parseIpOrCidr).filter((c): c is Cidr => c !== undefined);
}

export function profileMap(profiles: readonly Profile[]): Map<string, Profile> {
  return new Map(profiles.map((p) => [p.metadata.name, p]));
}

/** The labels selectors see on a workload endpoint, for callers that need no more of its view. */
export function workloadEndpointLabels(
  wep: WorkloadEndpoint,
  profiles: ReadonlyMap<string, Profile>,
): Record<string, string> {
  const labels: Record<string, string> = {
    ...inheritedLabels(wep.spec.profiles ?? [], profiles),
    ...(wep.metadata.labels ?? {}),
    [NAMESPACE_LABEL]: wep.metadata.namespace ?? DEFAULT_NAMESPACE,
  };
  if (wep.spec.orchestrator !== undefined) labels[ORCHESTRATOR_LABEL] = wep.spec.orchestrator;
  return labels;
}

export function workloadEndpointView(
  wep: WorkloadEndpoint,
  profiles: ReadonlyMap<string, Profile>,
): PolicyEndpoint {
  const namespace = wep.metadata.namespace ?? DEFAULT_NAMESPACE;
  const profileNames = wep.spec.profiles ?? [];
  const labels = workloadEndpointLabels(wep, profiles);
  const aliases = [`${namespace}/${wep.metadata.name}`];
  if (wep.spec.endpoint !== undefined && wep.spec.endpoint !== wep.metadata.name)
    aliases.push(wep.spec.endpoint);
  return {
    kind: 'WorkloadEndpoint',
    name: wep.metadata.name,
    namespace,
    labels,
    networks: networksOf(wep.spec.ipNetworks),
    profiles: profileNames,
    ports: wep.spec.ports ?? [],
    aliases,
  };
}

export function hostEndpointView(hep: HostEndpoint, profiles: ReadonlyMap<string, Profile>): PolicyEndpoint {
  const profileNames = hep.spec.profiles ?? [];
  return {
    kind: 'HostEndpoint',
    name: hep.metadata.name,
    namespace: undefined,
    labels: { ...inheritedLabels(profileNames, profiles), ...(hep.metadata.labels ?? {}) },
    networks: networksOf(hep.spec.expectedIPs),
    profiles: profileNames,
    ports: hep.spec.ports ?? [],
    aliases:
      hep.spec.node !== undefined && hep.spec.interfaceName !== undefined
        ? [`${hep.spec.node}/${hep.spec.interfaceName}`]
        : [],
  };
}

/** The first address of the endpoint in the given family (or any family), as an address. */
export function endpointAddress(ep: PolicyEndpoint, family?: 4 | 6): IpAddress | undefined {
  const net = ep.networks.find((n) => family === undefined || n.family === family);
  return net === undefined ? undefined : { family: net.family, value: net.address };
}
