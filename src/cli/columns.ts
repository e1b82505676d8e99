/**
 * The table columns of `calicoctl get` per kind: `ps` (the default, the seed's tables) and `wide`.
 * One record per kind, so adding a kind means adding one entry here.
 */
import type { Resource, ResourceKind, ResourceOfKind } from '../api/types.js';

export interface ColumnContext {
  /** The global AS number, shown in brackets for nodes that inherit it, as calicoctl does. */
  globalAsNumber: number;
}

interface Column<K extends ResourceKind> {
  header: string;
  value: (r: ResourceOfKind<K>, ctx: ColumnContext) => string;
}

interface KindColumns<K extends ResourceKind> {
  ps: Column<K>[];
  wide: Column<K>[];
}

const list = (v: readonly unknown[] | undefined) => (v ?? []).join(',');
const col = <K extends ResourceKind>(
  header: string,
  value: (r: ResourceOfKind<K>, ctx: ColumnContext) => string,
): Column<K> => ({ header, value });
const name = <K extends ResourceKind>() => col<K>('NAME', (r) => r.metadata.name);

const ipipColumn = (mode: string | undefined) =>
  mode === 'Always' ? 'true' : mode === 'CrossSubnet' ? 'cross-subnet' : 'false';

const wepPs: Column<'WorkloadEndpoint'>[] = [
  col('NODE', (r) => r.spec.node ?? ''),
  col('ORCHESTRATOR', (r) => r.spec.orchestrator ?? ''),
  col('WORKLOAD', (r) => r.spec.workload ?? r.spec.pod ?? ''),
  col('NAME', (r) => r.spec.endpoint ?? r.metadata.name),
  col('NETWORKS', (r) => list(r.spec.ipNetworks)),
  col('NATS', (r) => list(r.spec.ipNATs?.map((n) => `${n.internalIP}:${n.externalIP}`))),
  col('INTERFACE', (r) => r.spec.interfaceName ?? ''),
  col('PROFILES', (r) => list(r.spec.profiles)),
];

const COLUMNS: { [K in ResourceKind]: KindColumns<K> } = {
  Node: {
    ps: [name()],
    wide: [
      name(),
      col('ASN', (r, ctx) =>
        r.spec.bgp?.asNumber !== undefined ? String(r.spec.bgp.asNumber) : `(${ctx.globalAsNumber})`,
      ),
      col('IPV4', (r) => r.spec.bgp?.ipv4Address ?? ''),
      col('IPV6', (r) => r.spec.bgp?.ipv6Address ?? ''),
    ],
  },
  BGPPeer: {
    ps: [
      col('SCOPE', (r) => (r.spec.node || r.spec.nodeSelector ? 'node' : 'global')),
      col('PEERIP', (r) => r.spec.peerIP ?? ''),
      col('NODE', (r) => r.spec.node ?? r.spec.nodeSelector ?? ''),
      col('ASN', (r) => (r.spec.asNumber === undefined ? '' : String(r.spec.asNumber))),
    ],
    wide: [
      col('SCOPE', (r) => (r.spec.node || r.spec.nodeSelector ? 'node' : 'global')),
      col('PEERIP', (r) => r.spec.peerIP ?? r.spec.peerSelector ?? ''),
      col('NODE', (r) => r.spec.node ?? r.spec.nodeSelector ?? ''),
      col('ASN', (r) => (r.spec.asNumber === undefined ? '' : String(r.spec.asNumber))),
      name(),
    ],
  },
  IPPool: {
    ps: [col('CIDR', (r) => r.spec.cidr)],
    wide: [
      col('CIDR', (r) => r.spec.cidr),
      col('NAT', (r) => String(r.spec.natOutgoing ?? false)),
      col('IPIP', (r) => ipipColumn(r.spec.ipipMode)),
      col('VXLAN', (r) => ipipColumn(r.spec.vxlanMode)),
      col('BLOCKSIZE', (r) => String(r.spec.blockSize ?? '')),
      col('DISABLED', (r) => String(r.spec.disabled ?? false)),
      col('SELECTOR', (r) => r.spec.nodeSelector ?? 'all()'),
      name(),
    ],
  },
  GlobalNetworkPolicy: {
    ps: [name()],
    wide: [
      name(),
      col('ORDER', (r) => (r.spec.order === undefined ? '' : String(r.spec.order))),
      col('SELECTOR', (r) => r.spec.selector ?? 'all()'),
      col('TYPES', (r) => list(r.spec.types)),
    ],
  },
  NetworkPolicy: {
    ps: [col('NAMESPACE', (r) => r.metadata.namespace ?? 'default'), name()],
    wide: [
      col('NAMESPACE', (r) => r.metadata.namespace ?? 'default'),
      name(),
      col('ORDER', (r) => (r.spec.order === undefined ? '' : String(r.spec.order))),
      col('SELECTOR', (r) => r.spec.selector ?? 'all()'),
      col('TYPES', (r) => list(r.spec.types)),
    ],
  },
  Profile: {
    ps: [name()],
    wide: [
      name(),
      col('LABELS', (r) =>
        Object.entries(r.spec.labelsToApply ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
      ),
    ],
  },
  WorkloadEndpoint: {
    ps: wepPs,
    wide: [
      ...wepPs,
      col('MAC', (r) => r.spec.mac ?? ''),
      col('NAMESPACE', (r) => r.metadata.namespace ?? 'default'),
      col('RESOURCE', (r) => r.metadata.name),
    ],
  },
  HostEndpoint: {
    ps: [col('NODE', (r) => r.spec.node ?? ''), name()],
    wide: [
      col('NODE', (r) => r.spec.node ?? ''),
      name(),
      col('INTERFACE', (r) => r.spec.interfaceName ?? ''),
      col('IPS', (r) => list(r.spec.expectedIPs)),
      col('PROFILES', (r) => list(r.spec.profiles)),
    ],
  },
  BGPConfiguration: {
    ps: [
      name(),
      col('LOGSEVERITY', (r) => r.spec.logSeverityScreen ?? ''),
      col('MESHENABLED', (r) => String(r.spec.nodeToNodeMeshEnabled ?? '')),
      col('ASNUMBER', (r) => String(r.spec.asNumber ?? '')),
    ],
    wide: [
      name(),
      col('LOGSEVERITY', (r) => r.spec.logSeverityScreen ?? ''),
      col('MESHENABLED', (r) => String(r.spec.nodeToNodeMeshEnabled ?? '')),
      col('ASNUMBER', (r) => String(r.spec.asNumber ?? '')),
      col('LISTENPORT', (r) => String(r.spec.listenPort ?? '')),
    ],
  },
  FelixConfiguration: {
    ps: [name()],
    wide: [
      name(),
      col('LOGSEVERITY', (r) => r.spec.logSeverityScreen ?? ''),
      col('IPIP', (r) => String(r.spec.ipipEnabled ?? '')),
    ],
  },
  ClusterInformation: {
    ps: [name()],
    wide: [
      name(),
      col('CALICOVERSION', (r) => r.spec.calicoVersion ?? ''),
      col('CLUSTERTYPE', (r) => r.spec.clusterType ?? ''),
    ],
  },
};

export function tableFor(
  kind: ResourceKind,
  wide: boolean,
  items: readonly Resource[],
  ctx: ColumnContext,
): { headers: string[]; rows: string[][] } {
  const cols = (COLUMNS[kind] as KindColumns<ResourceKind>)[wide ? 'wide' : 'ps'];
  return {
    headers: cols.map((c) => c.header),
    rows: items.map((r) => cols.map((c) => c.value(r as never, ctx))),
  };
}
