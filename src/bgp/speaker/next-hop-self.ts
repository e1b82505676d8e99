/**
 * Next hop self is the address of the session, not of the node. A node on several networks (the
 * seed's four L2 planes) has one BGP address, on plane 1, but talks to the plane 2 reflector from
 * its plane 2 address; a NEXT_HOP of the plane 1 address is not on plane 2's link, so the
 * reflector's clients would find it unreachable. BIRD's `next hop self` (and Calico with it) uses
 * the local address of the peer's TCP connection, so we do the same: per session, the family of
 * the socket takes its local address, and the other family keeps the node's address.
 */
import { canonicalIp, parseIp } from '../../net/ip.js';
import type { AddressFamily } from '../types.js';

export interface NodeNextHops {
  readonly ipv4?: string;
  readonly ipv6?: string;
}

/**
 * An IPv4 connection accepted on a dual-stack (`::`) listener reports its local address as
 * IPv4-mapped IPv6 (`::ffff:10.32.0.1`); this gives the address in its own family.
 */
export function socketAddressFamily(text: string): { family: AddressFamily; address: string } | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  const ip = parseIp(mapped?.[1] ?? text);
  const address = ip ? canonicalIp(mapped?.[1] ?? text) : undefined;
  if (ip === undefined || address === undefined) return undefined;
  return { family: ip.family === 4 ? 'ipv4' : 'ipv6', address };
}

/** The next hops to advertise to one peer: the session's local address for its own family. */
export function sessionNextHops(node: NodeNextHops, socketLocalAddress: string | undefined): NodeNextHops {
  const local = socketLocalAddress !== undefined ? socketAddressFamily(socketLocalAddress) : undefined;
  if (local === undefined) return node;
  return { ...node, [local.family]: local.address };
}
