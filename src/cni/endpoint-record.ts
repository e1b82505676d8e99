/**
 * The records ADD writes to the datastore: the WorkloadEndpoint that tells Felix about the container
 * (its interface, addresses, profiles and labels), and the network's Profile that endpoints get when
 * no Kubernetes policy applies. Pure: building the resources is separate from writing them.
 *
 * Calico's CNI plugin (without Kubernetes) creates one Profile per network, named after it, that
 * applies a label with the network's name, allows all egress and allows ingress from endpoints with
 * that label: containers on one network reach each other, others need policy. We do the same.
 */
import type { Profile, WorkloadEndpoint } from '../api/types.js';
import type { WorkloadIdentity } from './workload-identity.js';

export interface EndpointFacts {
  readonly identity: WorkloadIdentity;
  readonly node: string;
  readonly network: string;
  /** Addresses with /32 or /128, as IPAM gave them. */
  readonly ipNetworks: readonly string[];
}

export function workloadEndpointFor(f: EndpointFacts): WorkloadEndpoint {
  const id = f.identity;
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'WorkloadEndpoint',
    metadata: {
      name: id.endpointName,
      namespace: id.namespace,
      labels: {
        'projectcalico.org/namespace': id.namespace,
        'projectcalico.org/orchestrator': id.orchestrator,
      },
    },
    spec: {
      orchestrator: id.orchestrator,
      workload: id.workload,
      node: f.node,
      containerID: id.containerId,
      ...(id.pod ? { pod: id.pod } : {}),
      endpoint: id.endpoint,
      interfaceName: id.hostIface,
      mac: id.containerMac,
      ipNetworks: [...f.ipNetworks],
      profiles: [f.network],
    },
  };
}

export function networkProfileFor(network: string): Profile {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Profile',
    metadata: { name: network },
    spec: {
      labelsToApply: { [network]: '' },
      ingress: [{ action: 'Allow', source: { selector: `has(${network})` } }],
      egress: [{ action: 'Allow' }],
    },
  };
}
