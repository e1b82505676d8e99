/**
 * A scenario laid out as namespaces, links and addresses (pure). Every name carries the lab's
 * prefix, so two labs, or a lab and a test run, never collide:
 *   `<prefix>-<host>` for hosts and routers, `<prefix>-sw-<network>` for the L2 switch (a bridge) of
 *   each network, `<prefix>-w-<workload>` for workloads.
 * A member of a network gets the network's N-th address, N being its position among the members
 * (hosts first, in file order, then routers); a host's node address is its address on its first network.
 */
import { formatIp, parseCidr } from '../net/ip.js';
import type { LabScenario } from './scenario.js';

export interface Attachment {
  readonly network: string;
  /** Interface name inside the member's namespace. */
  readonly iface: string;
  readonly address: string;
  readonly prefixLength: number;
}

export interface LabNode {
  readonly name: string;
  readonly kind: 'host' | 'router';
  readonly namespace: string;
  readonly attachments: readonly Attachment[];
}

export interface LabLayout {
  readonly prefix: string;
  readonly switches: readonly { readonly network: string; readonly namespace: string }[];
  readonly nodes: readonly LabNode[];
  readonly workloads: readonly {
    readonly name: string;
    readonly host: string;
    readonly namespace: string;
  }[];
}

export function labPrefix(labName: string): string {
  return `cl-${labName}`;
}

export function layoutScenario(s: LabScenario, labName = s.name): LabLayout {
  const prefix = labPrefix(labName);
  const members = new Map<string, string[]>();
  for (const n of s.networks) members.set(n.name, []);
  for (const h of s.hosts) for (const n of h.networks) members.get(n)?.push(h.name);
  for (const r of s.routers) for (const n of r.networks) members.get(n)?.push(r.name);
  const attach = (name: string, networks: readonly string[]): Attachment[] =>
    networks.map((net) => {
      const cidr = parseCidr(s.networks.find((n) => n.name === net)?.cidr ?? '');
      if (!cidr) throw new Error(`network ${net} has no CIDR`);
      const index = (members.get(net) ?? []).indexOf(name) + 1;
      return {
        network: net,
        iface: `n-${net}`.slice(0, 15),
        address: formatIp({ family: cidr.family, value: cidr.address + BigInt(index) }),
        prefixLength: cidr.prefixLength,
      };
    });
  return {
    prefix,
    switches: s.networks.map((n) => ({ network: n.name, namespace: `${prefix}-sw-${n.name}` })),
    nodes: [
      ...s.hosts.map((h) => ({
        name: h.name,
        kind: 'host' as const,
        namespace: `${prefix}-${h.name}`,
        attachments: attach(h.name, h.networks),
      })),
      ...s.routers.map((r) => ({
        name: r.name,
        kind: 'router' as const,
        namespace: `${prefix}-${r.name}`,
        attachments: attach(r.name, r.networks),
      })),
    ],
    workloads: s.workloads.map((w) => ({
      name: w.name,
      host: w.host,
      namespace: `${prefix}-w-${w.name}`,
    })),
  };
}

/** The address of `node` on `network` (or its first network). */
export function addressOf(layout: LabLayout, node: string, network?: string): string | undefined {
  const n = layout.nodes.find((x) => x.name === node);
  const a = network ? n?.attachments.find((x) => x.network === network) : n?.attachments[0];
  return a?.address;
}
