/**
 * The registry of resource kinds: how each is named on the command line (singular, plural, short
 * and the seed's v1 names, all case-insensitive), whether it lives in a namespace, and where it is
 * stored. One table, so calicoctl, the datastore client and the converter agree.
 */
import type { ResourceKind } from './types.js';

export interface KindInfo {
  readonly kind: ResourceKind;
  /** Lowercase plural, as in Calico's datastore keys (`ippools`). */
  readonly plural: string;
  readonly namespaced: boolean;
  /** Other names accepted on the command line, lowercase. */
  readonly aliases: readonly string[];
  /** The kind's name in the seed's v1 format, if it had one. */
  readonly v1Kind?: string;
}

export const KINDS: readonly KindInfo[] = [
  { kind: 'Node', plural: 'nodes', namespaced: false, aliases: ['no'], v1Kind: 'node' },
  {
    kind: 'BGPConfiguration',
    plural: 'bgpconfigurations',
    namespaced: false,
    aliases: ['bgpconfig', 'bgpconfigs', 'bgpconfiguration'],
  },
  { kind: 'BGPPeer', plural: 'bgppeers', namespaced: false, aliases: ['bgpp', 'bgpps'], v1Kind: 'bgpPeer' },
  {
    kind: 'IPPool',
    plural: 'ippools',
    namespaced: false,
    aliases: ['ipp', 'ipps', 'pool', 'pools'],
    v1Kind: 'ipPool',
  },
  {
    kind: 'GlobalNetworkPolicy',
    plural: 'globalnetworkpolicies',
    namespaced: false,
    // The seed's v1 `policy` was cluster-wide, so `policy` names the global kind here.
    aliases: ['gnp', 'gnps', 'policy', 'policies', 'globalpolicy', 'globalpolicies'],
    v1Kind: 'policy',
  },
  {
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    namespaced: true,
    aliases: ['np', 'nps', 'netpol', 'netpols'],
  },
  { kind: 'Profile', plural: 'profiles', namespaced: false, aliases: ['pro', 'pros'], v1Kind: 'profile' },
  {
    kind: 'WorkloadEndpoint',
    plural: 'workloadendpoints',
    namespaced: true,
    aliases: ['wep', 'weps'],
    v1Kind: 'workloadEndpoint',
  },
  {
    kind: 'HostEndpoint',
    plural: 'hostendpoints',
    namespaced: false,
    aliases: ['hep', 'heps'],
    v1Kind: 'hostEndpoint',
  },
  {
    kind: 'FelixConfiguration',
    plural: 'felixconfigurations',
    namespaced: false,
    aliases: ['felixconfig', 'felixconfigs'],
  },
  {
    kind: 'ClusterInformation',
    plural: 'clusterinformations',
    namespaced: false,
    aliases: ['clusterinfo', 'clusterinfos'],
  },
];

const byName = new Map<string, KindInfo>();
for (const k of KINDS) {
  for (const name of [k.kind, k.plural, ...k.aliases, k.v1Kind ?? '']) {
    if (name) byName.set(name.toLowerCase(), k);
  }
}

/** Looks a kind up by any of its names, case-insensitively; undefined if unknown. */
export function lookupKind(name: string): KindInfo | undefined {
  return byName.get(name.toLowerCase());
}

export function kindInfo(kind: ResourceKind): KindInfo {
  const info = byName.get(kind.toLowerCase());
  if (!info) throw new Error(`internal: kind ${kind} missing from the registry`);
  return info;
}

/** All the names calicoctl accepts, for error messages. */
export function knownKindNames(): string[] {
  return KINDS.map((k) => k.kind);
}

export const RESOURCE_PREFIX = '/calico/resources/v3/projectcalico.org/';

/** The datastore key of a resource, as DESIGN.md lays out. */
export function resourceKey(kind: ResourceKind, name: string, namespace?: string): string {
  const info = kindInfo(kind);
  return info.namespaced
    ? `${RESOURCE_PREFIX}${info.plural}/${namespace ?? 'default'}/${name}`
    : `${RESOURCE_PREFIX}${info.plural}/${name}`;
}

/** The key prefix that lists a kind (optionally one namespace of a namespaced kind). */
export function kindPrefix(kind: ResourceKind, namespace?: string): string {
  const info = kindInfo(kind);
  return info.namespaced && namespace !== undefined
    ? `${RESOURCE_PREFIX}${info.plural}/${namespace}/`
    : `${RESOURCE_PREFIX}${info.plural}/`;
}
