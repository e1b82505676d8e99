/**
 * The Node resource as `calicoctl node run` leaves it: this host's name, its BGP addresses (chosen
 * by IP / IP6 and the autodetection method, as Calico's start-up decides them) and its AS number.
 * Pure: the interface list, the route lookup and the other nodes are inputs; lines for the user and
 * the resource to write are outputs.
 */
import { API_VERSION, type Node } from '../../api/types.js';
import { canonicalIp, familyBits, parseCidr, parseIp, type IpFamily } from '../../net/ip.js';
import { autodetectedLine, chooseNodeAddress, type AutodetectionMethod } from './autodetect.js';
import type { HostInterface, RouteLookup } from './host-interfaces.js';

/**
 * What the user asked for one family (Calico's IP / IP6 values): `autodetect`, `none`, an address
 * (with or without its prefix length), or nothing, which keeps the node's current address and, for
 * IPv4 only, autodetects when there is none.
 */
export type AddressSetting =
  | { readonly kind: 'autodetect' }
  | { readonly kind: 'none' }
  | { readonly kind: 'unset' }
  | { readonly kind: 'fixed'; readonly address: string; readonly prefixLength?: number };

export class NodeAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeAddressError';
  }
}

export function parseAddressSetting(
  text: string | undefined,
  family: IpFamily,
  variable: string,
): AddressSetting {
  const t = (text ?? '').trim();
  if (t === '') return { kind: 'unset' };
  if (t === 'autodetect') return { kind: 'autodetect' };
  if (t === 'none') return { kind: 'none' };
  const cidr = t.includes('/') ? parseCidr(t) : undefined;
  const ip = cidr ? undefined : parseIp(t);
  const fam = cidr?.family ?? ip?.family;
  if (fam !== family)
    throw new NodeAddressError(
      `${variable}="${t}" is not an IPv${family} address (give ADDR or ADDR/LEN, "autodetect" or "none")`,
    );
  const address = canonicalIp(t.split('/')[0] as string) as string;
  return cidr ? { kind: 'fixed', address, prefixLength: cidr.prefixLength } : { kind: 'fixed', address };
}

export interface AddressDecision {
  /** `addr/len`, or undefined when the node has no address of this family. */
  readonly address?: string;
  readonly lines: readonly string[];
}

/** Decides one family's address. Throws NodeAddressError when autodetection finds nothing. */
export function decideNodeAddress(
  setting: AddressSetting,
  family: IpFamily,
  current: string | undefined,
  method: AutodetectionMethod,
  interfaces: readonly HostInterface[],
  route?: RouteLookup,
): AddressDecision {
  const v = `IPv${family}`;
  const autodetect = (): AddressDecision => {
    const r = chooseNodeAddress(method, interfaces, family, route);
    if (!r.found)
      throw new NodeAddressError(
        `could not autodetect an ${v} address: ${r.reason}; set one with --ip${family === 6 ? '6' : ''}=ADDR or choose another --ip${family === 6 ? '6' : ''}-autodetection-method`,
      );
    return { address: `${r.address}/${r.prefixLength}`, lines: [autodetectedLine(family, r)] };
  };
  switch (setting.kind) {
    case 'none':
      return { lines: [`Not using an ${v} address (IP${family === 6 ? '6' : ''}=none)`] };
    case 'autodetect':
      return autodetect();
    case 'unset':
      if (current)
        return {
          address: current,
          lines: [`Using ${v} address configured on the node resource: ${current}`],
        };
      return family === 4 ? autodetect() : { lines: [] };
    case 'fixed': {
      const owner = interfaces.find((i) => i.addresses.some((a) => a.address === setting.address));
      const onHost = owner?.addresses.find((a) => a.address === setting.address);
      const len = setting.prefixLength ?? onHost?.prefixLength ?? familyBits(family);
      const lines = [`Using ${v} address from the command line or environment: ${setting.address}/${len}`];
      if (!owner) lines.push(`Warning: no interface on this host has the address ${setting.address}`);
      return { address: `${setting.address}/${len}`, lines };
    }
    default: {
      const never: never = setting;
      throw new NodeAddressError(`unhandled address setting ${String(never)}`);
    }
  }
}

export interface NodePlanInput {
  readonly name: string;
  readonly existing?: Node;
  readonly ipv4?: string;
  readonly ipv6?: string;
  /** An AS number for this node (`--as`); undefined keeps the node's, or the global one. */
  readonly asNumber?: number;
  /** Every stored Node, to refuse an address another node already uses (Calico does the same). */
  readonly others: readonly Node[];
}

const ipOnly = (a: string | undefined) => (a ? a.split('/')[0] : undefined);

/** The Node to write, and the lines to print; throws NodeAddressError on an address clash. */
export function planNodeResource(input: NodePlanInput): { node: Node; lines: string[] } {
  const node: Node = input.existing
    ? structuredClone(input.existing)
    : { apiVersion: API_VERSION, kind: 'Node', metadata: { name: input.name }, spec: {} };
  const lines: string[] = [];
  const bgp = { ...node.spec.bgp };
  if (input.ipv4) bgp.ipv4Address = input.ipv4;
  else delete bgp.ipv4Address;
  if (input.ipv6) bgp.ipv6Address = input.ipv6;
  else delete bgp.ipv6Address;
  for (const other of input.others) {
    if (other.metadata.name === input.name) continue;
    for (const [mine, theirs] of [
      [bgp.ipv4Address, other.spec.bgp?.ipv4Address],
      [bgp.ipv6Address, other.spec.bgp?.ipv6Address],
    ] as const) {
      if (mine && theirs && ipOnly(mine) === ipOnly(theirs))
        throw new NodeAddressError(
          `node ${other.metadata.name} already uses the address ${ipOnly(mine)}; give this node another address (--ip) or delete the stale Node (calicoctl delete node ${other.metadata.name})`,
        );
    }
  }
  if (input.asNumber !== undefined) {
    bgp.asNumber = input.asNumber;
    lines.push(`Using AS number ${input.asNumber} for this node`);
  } else if (bgp.asNumber === undefined) {
    lines.push('No AS number configured on node resource, using global value');
  } else {
    lines.push(`Using AS number ${bgp.asNumber} configured on node resource`);
  }
  if (Object.keys(bgp).length) node.spec.bgp = bgp;
  else delete node.spec.bgp;
  return { node, lines };
}
