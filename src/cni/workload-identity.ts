/**
 * Who a container is, in every name the rest of the system knows it by: the IPAM handle, the host
 * side interface, the WorkloadEndpoint's name and fields, the container side MAC. All derived from
 * the CNI invocation alone, so ADD, CHECK and DEL (each a separate process) agree on every name
 * without storing anything, and DEL can clean up even when the endpoint record is already gone.
 *
 * The derivations follow Calico's CNI plugin: the handle is `<network name>.<container ID>` (what
 * `calicoctl ipam check` matches against the endpoints' container IDs); with Kubernetes arguments
 * the orchestrator is `k8s` and the workload the pod, otherwise `cni` and the container ID; the host
 * interface is `cali` + the first 11 hex digits of a SHA-1 of the workload (`namespace.pod`).
 */
import { createHash } from 'node:crypto';
import { workloadEndpointName } from '../api/v1.js';
import type { CniInvocation } from './environment.js';

export interface WorkloadIdentity {
  readonly handle: string;
  readonly orchestrator: 'k8s' | 'cni';
  readonly workload: string;
  readonly namespace: string;
  readonly pod?: string;
  readonly containerId: string;
  /** The interface inside the container (CNI_IFNAME); the endpoint's `endpoint` field. */
  readonly endpoint: string;
  readonly endpointName: string;
  readonly hostIface: string;
  readonly containerMac: string;
  /** Stored with each address in IPAM (`node` is added by IPAM). */
  readonly ipamAttributes: Readonly<Record<string, string>>;
}

/** Linux limits interface names to 15 characters; `cali` + 11 fills it, as Calico does. */
const HOST_IFACE_HASH_CHARS = 11;

export function hostInterfaceName(workloadKey: string): string {
  return `cali${createHash('sha1').update(workloadKey).digest('hex').slice(0, HOST_IFACE_HASH_CHARS)}`;
}

/**
 * A stable, locally administered unicast MAC for the container side, so a repeated ADD gives the
 * same address and CHECK can tell whether the interface is the one ADD made.
 */
export function containerMacFor(workloadKey: string): string {
  const bytes = createHash('sha256').update(`mac:${workloadKey}`).digest().subarray(0, 6);
  bytes[0] = ((bytes[0] ?? 0) & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function workloadIdentity(inv: CniInvocation, networkName: string, node: string): WorkloadIdentity {
  const k8s = inv.args.podName !== undefined && inv.args.podName !== '';
  const namespace = inv.args.podNamespace || 'default';
  const orchestrator = k8s ? 'k8s' : 'cni';
  const workload = k8s ? (inv.args.podName as string) : inv.containerId;
  // A second interface of the same workload (CNI_IFNAME other than eth0) needs its own host side.
  const base = k8s ? `${namespace}.${workload}` : inv.containerId;
  const workloadKey = inv.ifname === 'eth0' ? base : `${base}.${inv.ifname}`;
  return {
    handle: `${networkName}.${inv.containerId}`,
    orchestrator,
    workload,
    namespace,
    ...(k8s ? { pod: workload } : {}),
    containerId: inv.containerId,
    endpoint: inv.ifname,
    endpointName: workloadEndpointName(node, orchestrator, workload, inv.ifname),
    hostIface: hostInterfaceName(workloadKey),
    containerMac: containerMacFor(workloadKey),
    ipamAttributes: {
      namespace,
      ...(k8s ? { pod: workload } : {}),
      containerID: inv.containerId,
    },
  };
}
