/**
 * The CNI protocol itself (specification 1.0.0, with the 0.3.x and 0.4.0 forms runtimes still send):
 * the versions we speak, the error codes and error object a plugin prints, and the result a plugin
 * prints after ADD. Pure: the process edge (invocation.ts) does the printing.
 *
 * Why a result type per spec version: 0.3.x and 0.4.0 results tag each IP with `"version": "4"`,
 * 1.0.0 dropped the tag; a plugin must answer in the version the configuration asked for, and must
 * read a `prevResult` written in that version.
 */

export const CNI_SPEC_VERSION = '1.0.0';
export const SUPPORTED_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;
export type CniVersion = (typeof SUPPORTED_CNI_VERSIONS)[number];

export function isSupportedCniVersion(v: string): v is CniVersion {
  return (SUPPORTED_CNI_VERSIONS as readonly string[]).includes(v);
}

/** CHECK exists from 0.4.0 on; older configurations must not be CHECKed (CNI SPEC, "CHECK"). */
export function versionAllowsCheck(v: CniVersion): boolean {
  return v !== '0.3.0' && v !== '0.3.1';
}

/** Well-known error codes (CNI SPEC "Error"); 100 and above are ours. */
export const CniErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  /** Our own: IPAM could not give the addresses asked for (no pool, pool full). */
  AddressesUnavailable: 100,
  /** Our own: CHECK found the container's network not as ADD left it. */
  CheckFailed: 101,
  /** Our own: a kernel operation (veth, address, route) failed. */
  DataplaneFailure: 102,
  /** Our own: the datastore refused or failed a read or write. */
  DatastoreFailure: 103,
  /** Our own: a delegated IPAM plugin failed without a CNI error of its own. */
  DelegateFailure: 104,
} as const;
export type CniErrorCodeValue = (typeof CniErrorCode)[keyof typeof CniErrorCode];

/** A failure the plugin reports as the spec's error object; `details` says where and what to do. */
export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details = '',
  ) {
    super(message);
    this.name = 'CniError';
  }
}

export interface CniErrorObject {
  readonly cniVersion: string;
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

export function errorObject(error: CniError, cniVersion: string): CniErrorObject {
  return {
    cniVersion,
    code: error.code,
    msg: error.message,
    ...(error.details ? { details: error.details } : {}),
  };
}

export interface CniInterface {
  readonly name: string;
  readonly mac?: string;
  /** The namespace path for an interface inside the container; absent for host-side interfaces. */
  readonly sandbox?: string;
}

export interface CniIpConfig {
  /** Address with prefix length, `10.77.0.5/32`. */
  readonly address: string;
  readonly gateway?: string;
  /** Index into `interfaces`. */
  readonly interface?: number;
}

export interface CniRoute {
  readonly dst: string;
  readonly gw?: string;
}

export interface CniDns {
  readonly nameservers?: readonly string[];
  readonly domain?: string;
  readonly search?: readonly string[];
  readonly options?: readonly string[];
}

/** The 1.0.0 result, our internal form; `encodeResult` turns it into the configured version's form. */
export interface CniResult {
  readonly interfaces: readonly CniInterface[];
  readonly ips: readonly CniIpConfig[];
  readonly routes: readonly CniRoute[];
  readonly dns: CniDns;
}

export const ipFamilyOf = (address: string): '4' | '6' => (address.includes(':') ? '6' : '4');

/** The result as printed on stdout for the configuration's `cniVersion`. */
export function encodeResult(result: CniResult, cniVersion: CniVersion): Record<string, unknown> {
  const tagged = cniVersion !== '1.0.0';
  return {
    cniVersion,
    interfaces: result.interfaces,
    ips: result.ips.map((ip) => (tagged ? { version: ipFamilyOf(ip.address), ...ip } : ip)),
    routes: result.routes,
    dns: result.dns,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads a result in any supported version (a `prevResult`, or what a delegated IPAM plugin printed)
 * into our form. Throws a CniError naming `where` when it is not a result.
 */
export function decodeResult(value: unknown, where: string): CniResult {
  const bad = (why: string) =>
    new CniError(CniErrorCode.DecodingFailure, `${where} is not a CNI result: ${why}`);
  if (!isRecord(value)) throw bad('expected an object');
  const ipsRaw = value.ips ?? [];
  if (!Array.isArray(ipsRaw)) throw bad('"ips" must be a list');
  const ips: CniIpConfig[] = ipsRaw.map((ip, i) => {
    if (!isRecord(ip) || typeof ip.address !== 'string') throw bad(`ips[${i}] has no "address"`);
    return {
      address: ip.address,
      ...(typeof ip.gateway === 'string' ? { gateway: ip.gateway } : {}),
      ...(typeof ip.interface === 'number' ? { interface: ip.interface } : {}),
    };
  });
  const interfacesRaw = value.interfaces ?? [];
  if (!Array.isArray(interfacesRaw)) throw bad('"interfaces" must be a list');
  const interfaces: CniInterface[] = interfacesRaw.map((iface, i) => {
    if (!isRecord(iface) || typeof iface.name !== 'string') throw bad(`interfaces[${i}] has no "name"`);
    return {
      name: iface.name,
      ...(typeof iface.mac === 'string' ? { mac: iface.mac } : {}),
      ...(typeof iface.sandbox === 'string' ? { sandbox: iface.sandbox } : {}),
    };
  });
  const routesRaw = value.routes ?? [];
  if (!Array.isArray(routesRaw)) throw bad('"routes" must be a list');
  const routes: CniRoute[] = routesRaw.map((r, i) => {
    if (!isRecord(r) || typeof r.dst !== 'string') throw bad(`routes[${i}] has no "dst"`);
    return { dst: r.dst, ...(typeof r.gw === 'string' ? { gw: r.gw } : {}) };
  });
  return { interfaces, ips, routes, dns: isRecord(value.dns) ? (value.dns as CniDns) : {} };
}
