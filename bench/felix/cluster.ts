/**
 * The synthetic cluster bench/felix measures, shared by the kernel bench (run.ts), the pure-part
 * driver (pure.ts) and the unit test that pins the rendered output, so all three see one shape:
 * workload endpoints labelled app/role/tier, and policies that select on app with five ingress
 * rules (two selector matches, nets, ICMP, a notSelector Pass) and one egress rule.
 */
import { API_VERSION, type Resource, type WorkloadEndpoint } from '../../src/api/index.js';

export interface ClusterSize {
  readonly local: number;
  readonly remote: number;
  readonly policies: number;
}

/** The size: 1,000 local endpoints, 10,000 remote, 500 policies. */
export const FULL_CLUSTER: ClusterSize = { local: 1000, remote: 10000, policies: 500 };

export function clusterIp(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

export function clusterEndpoint(
  i: number,
  host: string,
  local: boolean,
  labels: Record<string, string>,
): WorkloadEndpoint {
  return {
    apiVersion: API_VERSION,
    kind: 'WorkloadEndpoint',
    metadata: { name: `w${i}`, namespace: 'default', labels },
    spec: {
      node: local ? host : `remote-${i % 100}`,
      orchestrator: 'k8s',
      workload: `w${i}`,
      endpoint: 'eth0',
      interfaceName: `cali${i.toString(16).padStart(11, '0')}`,
      ipNetworks: [`${clusterIp(i + 1)}/32`],
    },
  };
}

/** Endpoints 0..local-1 live on `host`, the rest on 100 remote hosts; then the policies. */
export function syntheticCluster(size: ClusterSize, host: string): Resource[] {
  const out: Resource[] = [];
  for (let i = 0; i < size.local + size.remote; i++)
    out.push(
      clusterEndpoint(i, host, i < size.local, {
        app: `app-${i % 50}`,
        role: `r${i % 20}`,
        tier: i % 2 ? 'web' : 'db',
      }),
    );
  for (let p = 0; p < size.policies; p++) {
    out.push({
      apiVersion: API_VERSION,
      kind: 'GlobalNetworkPolicy',
      metadata: { name: `policy-${p}` },
      spec: {
        order: p,
        selector: `app == "app-${p % 50}"`,
        types: ['Ingress', 'Egress'],
        ingress: [
          {
            action: 'Allow',
            protocol: 'TCP',
            source: { selector: `role == "r${p % 20}"` },
            destination: { ports: [80, 443, '8000:8100'] },
          },
          {
            action: 'Allow',
            protocol: 'UDP',
            source: { selector: `tier == "web" && role in {"r${p % 20}", "r${(p + 1) % 20}"}` },
            destination: { ports: [53] },
          },
          { action: 'Deny', source: { nets: [`192.168.${p % 256}.0/24`, '172.16.0.0/12'] } },
          { action: 'Allow', protocol: 'ICMP' },
          { action: 'Pass', source: { notSelector: `app == "app-${(p + 7) % 50}"` } },
        ],
        egress: [{ action: 'Allow' }],
      },
    });
  }
  return out;
}

/** A copy of an endpoint with some labels changed (the bench's label-change step). */
export function relabelled(base: WorkloadEndpoint, labels: Record<string, string>): WorkloadEndpoint {
  return { ...base, metadata: { ...base.metadata, labels: { ...base.metadata.labels, ...labels } } };
}
