/**
 * What a `calicoctl node diags` bundle holds, as data: the kernel state commands (each output goes
 * to its own file, named so a reader finds it without a table of contents), the sysctls that
 * decide whether a host forwards and tracks, and the node's resources as `calicoctl get -o yaml`
 * prints them. Collecting is diags.ts; keeping the list here keeps it reviewable and testable.
 */
import { toYaml } from '../../api/codec.js';
import { kindInfo } from '../../api/kinds.js';
import { API_VERSION, type Resource, type ResourceKind } from '../../api/types.js';

export interface DiagsCommand {
  readonly file: string;
  readonly cmd: string;
  readonly args: readonly string[];
}

/** The sysctls worth seeing when traffic does not flow: forwarding, conntrack, rp_filter, proxy ARP. */
export const DIAGS_SYSCTLS: readonly string[] = [
  'net.ipv4.ip_forward',
  'net.ipv6.conf.all.forwarding',
  'net.ipv4.conf.all.rp_filter',
  'net.ipv4.conf.default.rp_filter',
  'net.ipv4.conf.all.proxy_arp',
  'net.netfilter.nf_conntrack_max',
  'net.netfilter.nf_conntrack_count',
  'net.netfilter.nf_conntrack_buckets',
  'net.ipv4.neigh.default.gc_thresh3',
];

export const DIAGS_COMMANDS: readonly DiagsCommand[] = [
  { file: 'iptables-save.txt', cmd: 'iptables-save', args: ['-c'] },
  { file: 'ip6tables-save.txt', cmd: 'ip6tables-save', args: ['-c'] },
  { file: 'ipset-list.txt', cmd: 'ipset', args: ['list'] },
  { file: 'ip-route.txt', cmd: 'ip', args: ['route', 'show', 'table', 'all'] },
  { file: 'ip6-route.txt', cmd: 'ip', args: ['-6', 'route', 'show', 'table', 'all'] },
  { file: 'ip-rule.txt', cmd: 'ip', args: ['rule'] },
  { file: 'ip-link.txt', cmd: 'ip', args: ['-d', 'link'] },
  { file: 'ip-addr.txt', cmd: 'ip', args: ['addr'] },
  { file: 'ip-neigh.txt', cmd: 'ip', args: ['neigh'] },
  { file: 'conntrack-count.txt', cmd: 'conntrack', args: ['-C'] },
  { file: 'conntrack-stats.txt', cmd: 'conntrack', args: ['-S'] },
  { file: 'sysctl.txt', cmd: 'sysctl', args: DIAGS_SYSCTLS },
];

/** Kinds in the bundle; endpoints are only this node's. */
export const DIAGS_KINDS: readonly ResourceKind[] = [
  'Node',
  'WorkloadEndpoint',
  'HostEndpoint',
  'IPPool',
  'GlobalNetworkPolicy',
  'NetworkPolicy',
  'Profile',
  'FelixConfiguration',
  'BGPConfiguration',
  'BGPPeer',
  'ClusterInformation',
];

/** `resources/workloadendpoints.yaml`: the file one kind's list goes to. */
export function resourceFileName(kind: ResourceKind): string {
  return `resources/${kindInfo(kind).plural}.yaml`;
}

function belongsToNode(r: Resource, node: string): boolean {
  switch (r.kind) {
    case 'Node':
      return r.metadata.name === node;
    case 'WorkloadEndpoint':
    case 'HostEndpoint':
      return r.spec.node === node;
    default:
      return true;
  }
}

/** Each kind's YAML list (as `calicoctl get KIND -o yaml` prints it), limited to this node where it has one. */
export function resourceDocuments(
  node: string,
  lists: ReadonlyMap<ResourceKind, readonly Resource[]>,
): { file: string; text: string; count: number }[] {
  return DIAGS_KINDS.map((kind) => {
    const items = (lists.get(kind) ?? []).filter((r) => belongsToNode(r, node));
    return {
      file: resourceFileName(kind),
      text: toYaml({ apiVersion: API_VERSION, kind: `${kind}List`, items }),
      count: items.length,
    };
  });
}

/** `diags-node1-20260524_074215`: sorts by time, says whose it is. */
export function bundleName(node: string, now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}_${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `diags-${node.replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}`;
}
