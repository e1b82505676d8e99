/** Chain names, as the seed shows them, hashed down to iptables' 28-character limit when too long. */
import crypto from 'node:crypto';

export const MAX_CHAIN_NAME = 28;

const sha256 =
  typeof crypto.hash === 'function'
    ? (text: string) => crypto.hash('sha256', text, 'base64url')
    : (text: string) => crypto.createHash('sha256').update(text).digest('base64url');

function fitName(prefix: string, name: string): string {
  const full = prefix + name;
  if (full.length <= MAX_CHAIN_NAME && /^[A-Za-z0-9_.-]+$/.test(name)) return full;
  const hash = sha256(name).replace(/-/g, '_');
  return prefix + '_' + hash.slice(0, MAX_CHAIN_NAME - prefix.length - 1);
}

/**
 * Every render names every endpoint's chains (thousands of interfaces), so names are remembered
 * per prefix. Dropped whole past a bound: a name is cheap to recompute, memory is not free.
 */
const fitted = new Map<string, Map<string, string>>();
const MAX_FITTED = 100_000;
let fittedCount = 0;
function fit(prefix: string, name: string): string {
  let byName = fitted.get(prefix);
  if (byName === undefined) fitted.set(prefix, (byName = new Map()));
  let out = byName.get(name);
  if (out === undefined) {
    if (fittedCount >= MAX_FITTED) {
      for (const m of fitted.values()) m.clear();
      fittedCount = 0;
    }
    byName.set(name, (out = fitName(prefix, name)));
    fittedCount++;
  }
  return out;
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
