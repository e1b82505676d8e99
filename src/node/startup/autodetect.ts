/**
 * Which address is this node's: the rules of Calico's IP_AUTODETECTION_METHOD, as a pure choice over
 * the interface list (and, for `can-reach`, the kernel's route lookup). Keeping the choice pure means
 * every method is tested against a table of interface lists with no kernel at all; the I/O wrapper
 * only reads `ip -j addr` and `ip -j route get` and hands them in.
 *
 * Methods (Calico's names and syntax):
 *   first-found               the first global address on an interface not in Calico's exclude list
 *   interface=REGEX[,REGEX]   the first address on an interface whose name matches
 *   skip-interface=REGEX[,..] first-found, also skipping interfaces that match
 *   can-reach=IP              the source address the kernel uses to reach IP
 *   cidr=CIDR[,CIDR]          the first address inside one of the CIDRs
 */
import { cidrContainsIp, parseCidr, parseIp, type Cidr, type IpFamily } from '../../net/ip.js';
import type { HostInterface, InterfaceAddress, RouteLookup } from './host-interfaces.js';

export type AutodetectionMethod =
  | { readonly kind: 'first-found' }
  | { readonly kind: 'interface'; readonly patterns: readonly RegExp[] }
  | { readonly kind: 'skip-interface'; readonly patterns: readonly RegExp[] }
  | { readonly kind: 'can-reach'; readonly destination: string }
  | { readonly kind: 'cidr'; readonly cidrs: readonly Cidr[] };

/**
 * Interfaces first-found never picks: bridges and tunnels of container runtimes, our own workload
 * veths and tunnels, loopback. Calico's DEFAULT_INTERFACES_TO_EXCLUDE, anchored at the start only
 * as Calico's are (so `lo` also skips `lo0`).
 */
export const DEFAULT_EXCLUDED_INTERFACES: readonly RegExp[] = [
  'docker.*',
  'cbr.*',
  'dummy.*',
  'virbr.*',
  'lxcbr.*',
  'veth.*',
  'lo',
  'cali.*',
  'tunl.*',
  'flannel.*',
  'kube-ipvs.*',
  'cni.*',
  'vxlan\\.calico.*',
  'vxlan-v6\\.calico.*',
  'wireguard\\.cali.*',
  'wg-v6\\.cali.*',
  'nodelocaldns.*',
].map((p) => new RegExp(`^${p}`));

export class AutodetectionMethodError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AutodetectionMethodError';
  }
}

function patternList(text: string, method: string): RegExp[] {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (!parts.length) throw new AutodetectionMethodError(`${method}= needs at least one interface regex`);
  return parts.map((p) => {
    try {
      return new RegExp(p);
    } catch (e) {
      throw new AutodetectionMethodError(
        `${method}=${text}: "${p}" is not a valid regex (${(e as Error).message})`,
      );
    }
  });
}

/** Parses an IP_AUTODETECTION_METHOD value; an empty value means first-found, as in Calico. */
export function parseAutodetectionMethod(text: string | undefined): AutodetectionMethod {
  const t = (text ?? '').trim();
  if (t === '' || t === 'first-found') return { kind: 'first-found' };
  const eq = t.indexOf('=');
  const name = eq < 0 ? t : t.slice(0, eq);
  const value = eq < 0 ? '' : t.slice(eq + 1);
  switch (name) {
    case 'interface':
      return { kind: 'interface', patterns: patternList(value, name) };
    case 'skip-interface':
      return { kind: 'skip-interface', patterns: patternList(value, name) };
    case 'can-reach': {
      if (!parseIp(value))
        throw new AutodetectionMethodError(
          `can-reach=${value}: give an IP address to reach (e.g. can-reach=8.8.8.8); host names are not resolved here`,
        );
      return { kind: 'can-reach', destination: value };
    }
    case 'cidr': {
      const cidrs = value.split(',').map((c) => c.trim());
      const parsed = cidrs.map((c) => parseCidr(c));
      const bad = cidrs.filter((_, i) => !parsed[i]);
      if (!value || bad.length)
        throw new AutodetectionMethodError(
          `cidr=${value}: ${bad.length ? `"${bad.join('", "')}" is not a CIDR` : 'needs a CIDR'} (e.g. cidr=10.0.0.0/8)`,
        );
      return { kind: 'cidr', cidrs: parsed as Cidr[] };
    }
    default:
      throw new AutodetectionMethodError(
        `unknown IP autodetection method "${t}" (use first-found, interface=REGEX, skip-interface=REGEX, can-reach=IP or cidr=CIDR)`,
      );
  }
}

export type AutodetectionResult =
  | {
      readonly found: true;
      readonly interfaceName: string;
      readonly address: string;
      readonly prefixLength: number;
    }
  | { readonly found: false; readonly reason: string };

/** A global unicast address: never loopback, link-local or host-scoped. */
function usable(a: InterfaceAddress, family: IpFamily): boolean {
  if (a.family !== family || a.scope !== 'global') return false;
  const ip = parseIp(a.address);
  if (!ip) return false;
  if (family === 4) {
    const first = Number(ip.value >> 24n);
    const linkLocal = ip.value >> 16n === 0xa9fen;
    return first !== 127 && first < 224 && !linkLocal;
  }
  return ip.value >> 118n !== 0x3fan && ip.value !== 1n;
}

function firstOn(
  interfaces: readonly HostInterface[],
  family: IpFamily,
  keep: (i: HostInterface) => boolean,
  accept: (a: InterfaceAddress) => boolean = () => true,
): AutodetectionResult | undefined {
  for (const i of interfaces) {
    if (!keep(i)) continue;
    const a = i.addresses.find((x) => usable(x, family) && accept(x));
    if (a) return { found: true, interfaceName: i.name, address: a.address, prefixLength: a.prefixLength };
  }
  return undefined;
}

const excludedByDefault = (name: string) => DEFAULT_EXCLUDED_INTERFACES.some((re) => re.test(name));

/**
 * The node's address of one family by the given method. `route` is the kernel's answer for a
 * can-reach destination (the caller looks it up; other methods ignore it).
 */
export function chooseNodeAddress(
  method: AutodetectionMethod,
  interfaces: readonly HostInterface[],
  family: IpFamily,
  route?: RouteLookup,
): AutodetectionResult {
  const v = `IPv${family}`;
  switch (method.kind) {
    case 'first-found':
      return (
        firstOn(interfaces, family, (i) => !excludedByDefault(i.name)) ?? {
          found: false,
          reason: `no ${v} address found on any interface (loopback, docker*, cali*, veth* and the like are skipped)`,
        }
      );
    case 'skip-interface':
      return (
        firstOn(
          interfaces,
          family,
          (i) => !excludedByDefault(i.name) && !method.patterns.some((re) => re.test(i.name)),
        ) ?? {
          found: false,
          reason: `no ${v} address found on an interface not matching ${method.patterns.map(String).join(', ')}`,
        }
      );
    case 'interface':
      return (
        firstOn(interfaces, family, (i) => method.patterns.some((re) => re.test(i.name))) ?? {
          found: false,
          reason: `no ${v} address found on an interface matching ${method.patterns.map(String).join(', ')}`,
        }
      );
    case 'cidr':
      return (
        firstOn(
          interfaces,
          family,
          () => true,
          (a) => {
            const ip = parseIp(a.address);
            return !!ip && method.cidrs.some((c) => cidrContainsIp(c, ip));
          },
        ) ?? {
          found: false,
          reason: `no ${v} address found inside ${method.cidrs.length > 1 ? 'any of ' : ''}the given CIDR${method.cidrs.length > 1 ? 's' : ''}`,
        }
      );
    case 'can-reach': {
      if (!route) return { found: false, reason: `the kernel has no route to ${method.destination}` };
      if (!route.prefsrc)
        return {
          found: false,
          reason: `the route to ${method.destination} via ${route.dev} has no source address`,
        };
      for (const i of interfaces) {
        const a = i.addresses.find((x) => x.address === route.prefsrc && x.family === family);
        if (a)
          return { found: true, interfaceName: i.name, address: a.address, prefixLength: a.prefixLength };
      }
      return {
        found: false,
        reason: `the source address ${route.prefsrc} used to reach ${method.destination} is on no interface`,
      };
    }
    default: {
      const never: never = method;
      throw new AutodetectionMethodError(`unhandled method ${String(never)}`);
    }
  }
}

/** The seed's line: "Using autodetected IPv4 address on interface eth1: 192.168.40.2/24". */
export function autodetectedLine(family: IpFamily, r: Extract<AutodetectionResult, { found: true }>): string {
  return `Using autodetected IPv${family} address on interface ${r.interfaceName}: ${r.address}/${r.prefixLength}`;
}
