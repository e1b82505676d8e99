/**
 * Checks for the value types that resources are made of. Each returns undefined when the value is
 * good, or the tail of an error message (`is not a valid CIDR`) that the validator prefixes with
 * the field path and the value, so every message reads `spec.cidr: "10.0.0/8" is not a valid CIDR`.
 */
import { isMac, parseCidr, parseIp, parseIpOrCidr } from '../net/ip.js';

export type ValueCheck = (v: unknown) => string | undefined;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Resource names: lowercase DNS-1123 subdomains, as Kubernetes and Calico v3 require. */
export function checkResourceName(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length === 0) return 'is not a valid name (must be a non-empty string)';
  if (v.length > 253) return 'is not a valid name (longer than 253 characters)';
  if (!DNS1123_SUBDOMAIN.test(v))
    return 'is not a valid name (use lowercase letters, digits, "-" and ".", starting and ending with a letter or digit)';
  return undefined;
}

export function checkNamespaceName(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length > 63 || !DNS1123_LABEL.test(v))
    return 'is not a valid namespace (a lowercase DNS label: letters, digits and "-", at most 63 characters)';
  return undefined;
}

export function checkIp(v: unknown): string | undefined {
  return typeof v === 'string' && parseIp(v) ? undefined : 'is not a valid IP address';
}

/** A CIDR; a bare address is accepted too and means a single host, as in Calico's ipNetworks. */
export function checkIpOrCidr(v: unknown): string | undefined {
  return typeof v === 'string' && parseIpOrCidr(v) ? undefined : 'is not a valid IP address or CIDR';
}

export function checkCidr(v: unknown): string | undefined {
  return typeof v === 'string' && parseCidr(v) ? undefined : 'is not a valid CIDR (expected address/length)';
}

export function checkMac(v: unknown): string | undefined {
  return typeof v === 'string' && isMac(v) ? undefined : 'is not a valid MAC address';
}

/** Linux interface names: 1..15 characters, no slash, colon or whitespace. */
export function checkInterfaceName(v: unknown): string | undefined {
  return typeof v === 'string' && /^[a-zA-Z0-9_.@+-]{1,15}$/.test(v)
    ? undefined
    : 'is not a valid interface name (1 to 15 letters, digits, "_", "-", ".")';
}

/**
 * AS numbers: 1..4294967295, or the RFC 5396 "asdot" form `high.low` (`1.10` = 65546). Returns the
 * numeric value, or undefined when the text is not an AS number.
 */
export function parseAsNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 1 && v <= 4294967295 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const plain = /^\d+$/.exec(v);
  if (plain) return parseAsNumber(Number(v));
  const dotted = /^(\d+)\.(\d+)$/.exec(v);
  if (!dotted) return undefined;
  const high = Number(dotted[1]);
  const low = Number(dotted[2]);
  if (high > 65535 || low > 65535) return undefined;
  return parseAsNumber(high * 65536 + low);
}

export function checkAsNumber(v: unknown): string | undefined {
  return parseAsNumber(v) === undefined
    ? 'is not an AS number (1 to 4294967295, or the dotted form such as 1.10)'
    : undefined;
}

const NAMED_PORT = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

/** A port, a "from:to" range or a named port (an IANA service name, which must contain a letter). */
export function checkPort(v: unknown): string | undefined {
  const bad = 'is not a port or port range';
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= 65535 ? undefined : bad;
  if (typeof v !== 'string') return bad;
  if (/^\d+$/.test(v)) return checkPort(Number(v));
  const range = /^(\d+):(\d+)$/.exec(v);
  if (range) {
    const lo = Number(range[1]);
    const hi = Number(range[2]);
    return lo <= 65535 && hi <= 65535 && lo <= hi ? undefined : bad;
  }
  return NAMED_PORT.test(v) && /[a-z]/.test(v) && !v.includes('--') ? undefined : bad;
}

/** Protocol names in Calico's spelling; input is matched case-insensitively. */
export const PROTOCOL_NAMES = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'] as const;

/** The canonical spelling of a protocol (`tcp` → `TCP`), the number itself, or undefined. */
export function canonicalProtocol(v: unknown): string | number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 1 && v <= 255 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  if (/^\d+$/.test(v)) return canonicalProtocol(Number(v));
  return PROTOCOL_NAMES.find((p) => p.toLowerCase() === v.toLowerCase());
}

export function checkProtocol(v: unknown): string | undefined {
  return canonicalProtocol(v) === undefined
    ? `is not a protocol (one of ${PROTOCOL_NAMES.join(', ')}, or a number 1 to 255)`
    : undefined;
}

/** Go-style durations as Calico's FelixConfiguration uses them: `90s`, `1m30s`, `500ms`. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v !== 'string' || v.length === 0) return undefined;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    total += Number(m[1]) * (unit[m[2] ?? 's'] ?? 0);
    consumed = re.lastIndex;
  }
  return consumed === v.length ? total : undefined;
}

export function checkDuration(v: unknown): string | undefined {
  return parseDuration(v) === undefined ? 'is not a duration (such as 90s, 1m30s or 500ms)' : undefined;
}
