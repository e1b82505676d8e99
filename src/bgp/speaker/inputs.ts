/**
 * The speaker's copy of the datastore: the resources BGP reads (Nodes, the `default`
 * BGPConfiguration, BGPPeers, IPPools, this node's WorkloadEndpoints) and this host's affine IPAM blocks,
 * kept from syncer updates. Pure bookkeeping: it answers "did that update matter to BGP?" so the
 * speaker re-plans only when it did, and hands the planner and the originator plain values.
 */
import { RESOURCE_PREFIX, lookupKind } from '../../api/kinds.js';
import type { BGPConfigurationSpec, BGPPeer, Node, Resource } from '../../api/types.js';
import type { ClusterBgpResources } from '../config/index.js';

export type InputUpdate =
  | { readonly type: 'set'; readonly resource: Resource }
  | { readonly type: 'delete'; readonly kind: string; readonly name: string; readonly namespace?: string };

/** The kind, namespace and name a resource key names (`/calico/resources/v3/projectcalico.org/<kind>/...`). */
export function resourceKeyParts(
  key: string,
): { kind: string; name: string; namespace?: string } | undefined {
  if (!key.startsWith(RESOURCE_PREFIX)) return undefined;
  const rest = key.slice(RESOURCE_PREFIX.length).split('/');
  const info = lookupKind(rest[0] ?? '');
  if (!info) return undefined;
  return info.namespaced
    ? { kind: info.kind, namespace: rest[1] ?? 'default', name: rest[2] ?? '' }
    : { kind: info.kind, name: rest[1] ?? '' };
}

export class SpeakerInputs {
  private readonly nodes = new Map<string, Node>();
  private readonly peers = new Map<string, BGPPeer>();
  private readonly pools = new Map<string, string>();
  private bgpConfiguration: BGPConfigurationSpec | undefined;
  /** Local workload endpoints (namespace/name) → their addresses. */
  private readonly workloads = new Map<string, readonly string[]>();
  private readonly blocks = new Set<string>();

  constructor(private readonly nodeName: string) {}

  /** Applies a resource change; true when it can change the peerings or the originated routes. */
  apply(update: InputUpdate): boolean {
    if (update.type === 'delete') {
      switch (update.kind) {
        case 'Node':
          return this.nodes.delete(update.name);
        case 'BGPPeer':
          return this.peers.delete(update.name);
        case 'BGPConfiguration':
          if (update.name !== 'default') return false;
          this.bgpConfiguration = undefined;
          return true;
        case 'WorkloadEndpoint':
          return this.workloads.delete(`${update.namespace ?? 'default'}/${update.name}`);
        case 'IPPool':
          return this.pools.delete(update.name);
        default:
          return false;
      }
    }
    const r = update.resource;
    switch (r.kind) {
      case 'Node':
        this.nodes.set(r.metadata.name, r);
        return true;
      case 'BGPPeer':
        this.peers.set(r.metadata.name, r);
        return true;
      case 'BGPConfiguration':
        if (r.metadata.name !== 'default') return false;
        this.bgpConfiguration = r.spec;
        return true;
      case 'IPPool': {
        const before = this.pools.get(r.metadata.name);
        this.pools.set(r.metadata.name, r.spec.cidr);
        return before !== r.spec.cidr;
      }
      case 'WorkloadEndpoint': {
        const key = `${r.metadata.namespace ?? 'default'}/${r.metadata.name}`;
        if (r.spec.node !== this.nodeName) return this.workloads.delete(key);
        this.workloads.set(key, r.spec.ipNetworks ?? []);
        return true;
      }
      default:
        return false;
    }
  }

  /** An affine block (`10.65.0.0/26`) of this host appeared or went away. */
  setBlock(cidr: string, present: boolean): boolean {
    if (present === this.blocks.has(cidr)) return false;
    if (present) this.blocks.add(cidr);
    else this.blocks.delete(cidr);
    return true;
  }

  resources(): ClusterBgpResources {
    return {
      nodes: [...this.nodes.values()],
      ...(this.bgpConfiguration ? { bgpConfiguration: this.bgpConfiguration } : {}),
      bgpPeers: [...this.peers.values()],
    };
  }

  affineBlocks(): string[] {
    return [...this.blocks].sort();
  }

  /** IP pool CIDRs (Calico exports what lies inside them). */
  ipPools(): string[] {
    return [...new Set(this.pools.values())].sort();
  }

  localWorkloadAddresses(): string[] {
    return [...this.workloads.values()].flat();
  }
}
