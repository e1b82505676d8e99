/** Chain names, as the seed shows them, hashed down to iptables' 28-character limit when too long. */
import { createHash } from 'node:crypto';

export const MAX_CHAIN_NAME = 28;

function fit(prefix: string, name: string): string {
  const full = prefix + name;
  if (full.length <= MAX_CHAIN_NAME && /^[A-Za-z0-9_.-]+$/.test(name)) return full;
  const hash = createHash('sha256').update(name).digest('base64url').replace(/-/g, '_');
  return prefix + '_' + hash.slice(0, MAX_CHAIN_NAME - prefix.length - 1);
}

export const policyChain = (dir: 'ingress' | 'egress', key: string): string =>
  fit(dir === 'ingress' ? 'cali-pi-' : 'cali-po-', key);
export const profileChain = (dir: 'ingress' | 'egress', name: string): string =>
  fit(dir === 'ingress' ? 'cali-pri-' : 'cali-pro-', name);
/** Traffic to a workload (its ingress). */
export const toWorkloadChain = (iface: string): string => fit('cali-tw-', iface);
/** Traffic from a workload (its egress). */
export const fromWorkloadChain = (iface: string): string => fit('cali-fw-', iface);
/** Traffic arriving on a host endpoint (host ingress) / leaving by one (host egress). */
export const fromHostEndpointChain = (iface: string): string =>
  fit('cali-fh-', iface === '*' ? 'any' : iface);
export const toHostEndpointChain = (iface: string): string => fit('cali-th-', iface === '*' ? 'any' : iface);
