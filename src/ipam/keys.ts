/**
 * Where IPAM lives in the key-value store, laid out as Calico's libcalico-go lays it out, so a
 * reader who knows Calico's etcd keys finds the same things here:
 *
 *   /calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26       one allocation block (the truth)
 *   /calico/ipam/v2/host/<host>/ipv4/block/10.0.0.0-26      "this host has that block" (an index)
 *   /calico/ipam/v2/handle/<handle>                         which blocks a handle holds addresses in
 *   /calico/ipam/v2/config                                  cluster-wide IPAM settings (strictAffinity)
 *
 * A CIDR's `/` becomes `-` in keys because `/` separates key segments.
 */
import { formatCidr, parseCidr, type Cidr, type IpFamily } from '../net/ip.js';

export const IPAM_PREFIX = '/calico/ipam/v2/';
export const IPAM_CONFIG_KEY = `${IPAM_PREFIX}config`;
export const HANDLE_PREFIX = `${IPAM_PREFIX}handle/`;
export const HOST_PREFIX = `${IPAM_PREFIX}host/`;

function cidrSegment(cidr: Cidr): string {
  return formatCidr(cidr).replace('/', '-');
}

function parseCidrSegment(segment: string): Cidr | undefined {
  const dash = segment.lastIndexOf('-');
  if (dash < 0) return undefined;
  return parseCidr(`${segment.slice(0, dash)}/${segment.slice(dash + 1)}`);
}

export function blockPrefix(family: IpFamily): string {
  return `${IPAM_PREFIX}assignment/ipv${family}/block/`;
}

export function blockKey(cidr: Cidr): string {
  return blockPrefix(cidr.family) + cidrSegment(cidr);
}

/** The block CIDR a block key names, or undefined for a key that is not a block key. */
export function parseBlockKey(key: string): Cidr | undefined {
  for (const family of [4, 6] as const) {
    const prefix = blockPrefix(family);
    if (key.startsWith(prefix)) {
      const cidr = parseCidrSegment(key.slice(prefix.length));
      return cidr?.family === family ? cidr : undefined;
    }
  }
  return undefined;
}

export function hostAffinityPrefix(host: string, family?: IpFamily): string {
  return family === undefined ? `${HOST_PREFIX}${host}/` : `${HOST_PREFIX}${host}/ipv${family}/block/`;
}

export function affinityKey(host: string, cidr: Cidr): string {
  return hostAffinityPrefix(host, cidr.family) + cidrSegment(cidr);
}

/** `{ host, cidr }` from an affinity key, or undefined for any other key. */
export function parseAffinityKey(key: string): { host: string; cidr: Cidr } | undefined {
  if (!key.startsWith(HOST_PREFIX)) return undefined;
  const m = /^([^/]+)\/ipv([46])\/block\/([^/]+)$/.exec(key.slice(HOST_PREFIX.length));
  if (!m || m[1] === undefined || m[3] === undefined) return undefined;
  const cidr = parseCidrSegment(m[3]);
  if (!cidr || String(cidr.family) !== m[2]) return undefined;
  return { host: m[1], cidr };
}

export function handleKey(handle: string): string {
  return HANDLE_PREFIX + handle;
}

/**
 * Host names and handles become key segments, so they may not contain `/` and may not be empty.
 * Returns a message naming the problem, or undefined when the name is usable.
 */
export function keySegmentProblem(what: 'host' | 'handle', value: string): string | undefined {
  if (value.length === 0) return `${what} must not be empty`;
  if (value.includes('/')) return `${what} "${value}" must not contain "/"`;
  if (value.length > 253) return `${what} "${value.slice(0, 20)}..." is longer than 253 characters`;
  return undefined;
}
