/**
 * The network configuration a runtime passes on stdin, read into checked values. Two readers:
 *
 * - `parseCalicoConfig` for the `calico` plugin reads the whole document strictly: a field it does not
 *   know is a CNI error (code 2) naming the field, a bad value is code 7 naming field, value and fix.
 * - `parseCalicoIpamConfig` for `calico-ipam`, which may sit under another main plugin (`bridge`,
 *   `ptp`), reads only the top-level fields it needs (datastore, node name) and its own `ipam` section
 *   strictly; the rest of the document belongs to the main plugin.
 *
 * Field names follow Calico's CNI configuration (`datastore_type`, `etcd_endpoints`, `nodename`,
 * `ipam.assign_ipv4`, `ipam.ipv4_pools`...), plus our `sqlite_path` for the embedded store.
 */
import { checkResourceName } from '../api/values.js';
import type { DatastoreConfig } from '../datastore/config.js';
import {
  CniError,
  CniErrorCode,
  isSupportedCniVersion,
  SUPPORTED_CNI_VERSIONS,
  type CniDns,
  type CniVersion,
} from './spec.js';

export type CniLogLevel = 'debug' | 'info' | 'warning' | 'error' | 'none';

/** Where the datastore is: given in the configuration, or resolved as calicoctl does (environment, calicoctl.cfg). */
export type DatastoreChoice =
  { readonly kind: 'configured'; readonly config: DatastoreConfig } | { readonly kind: 'environment' };

/** How the node name is found: Calico's order is `nodename`, then the node name file, then the host name. */
export interface NodeNameSource {
  readonly nodename?: string;
  readonly nodenameFile: string;
  /** When false (Calico's default), a missing node name file is an error rather than a fall back to the host name. */
  readonly nodenameFileOptional: boolean;
}

export interface CalicoIpamSection {
  readonly kind: 'calico-ipam';
  readonly assignIpv4: boolean;
  readonly assignIpv6: boolean;
  readonly ipv4Pools: readonly string[];
  readonly ipv6Pools: readonly string[];
}

/** Any other IPAM plugin (`host-local`, `static`...): run as an executable from CNI_PATH. */
export interface DelegatedIpamSection {
  readonly kind: 'delegated';
  readonly type: string;
}

export type IpamSection = CalicoIpamSection | DelegatedIpamSection;

/** What both plugins read: identity of the network, the datastore and the node. */
export interface SharedConfig {
  readonly cniVersion: CniVersion;
  readonly name: string;
  readonly datastore: DatastoreChoice;
  readonly node: NodeNameSource;
  readonly logLevel: CniLogLevel;
}

export interface CalicoNetworkConfig extends SharedConfig {
  readonly mtu: number;
  readonly ipam: IpamSection;
  readonly dns: CniDns;
  /** The previous plugin's result (CHECK and DEL receive ADD's result here). */
  readonly prevResult?: unknown;
}

export interface CalicoIpamConfig extends SharedConfig {
  readonly ipam: CalicoIpamSection;
}

export const DEFAULT_NODENAME_FILE = '/var/lib/calico/nodename';
export const DEFAULT_MTU = 1500;

const CONVENTION_FIELDS = [
  'cniVersion',
  'name',
  'type',
  'ipam',
  'dns',
  'prevResult',
  'runtimeConfig',
  'args',
  'capabilities',
];
const DATASTORE_FIELDS = [
  'datastore_type',
  'etcd_endpoints',
  'etcd_key_file',
  'etcd_cert_file',
  'etcd_ca_cert_file',
  'etcd_username',
  'etcd_password',
  'sqlite_path',
];
const NODE_FIELDS = ['nodename', 'nodename_file', 'nodename_file_optional', 'log_level'];
const CALICO_FIELDS = new Set([...CONVENTION_FIELDS, ...DATASTORE_FIELDS, ...NODE_FIELDS, 'mtu']);
const CALICO_IPAM_FIELDS = new Set(['type', 'assign_ipv4', 'assign_ipv6', 'ipv4_pools', 'ipv6_pools']);

/** Calico fields we deliberately do not implement, with what to do instead. */
const UNSUPPORTED_HINTS: Record<string, string> = {
  log_file_path: 'logs go to stderr, which the runtime records; remove log_file_path',
  kubernetes: 'there is no Kubernetes API here; pod and namespace come from CNI_ARGS',
  policy: 'policy comes from the datastore (calicoctl); remove the policy section',
};

type Doc = Record<string, unknown>;

const invalid = (field: string, value: unknown, fix: string) =>
  new CniError(
    CniErrorCode.InvalidNetworkConfig,
    `network configuration: ${field} ${JSON.stringify(value)} is not valid`,
    fix,
  );

function isRecord(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses stdin into an object; code 6 if it is not JSON, code 7 if it is not an object. */
export function decodeConfigText(text: string): Doc {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CniError(
      CniErrorCode.DecodingFailure,
      'network configuration on stdin is not JSON',
      (e as Error).message,
    );
  }
  if (!isRecord(doc))
    throw new CniError(
      CniErrorCode.InvalidNetworkConfig,
      'network configuration on stdin must be a JSON object',
    );
  return doc;
}

function rejectUnknown(doc: Doc, known: ReadonlySet<string>, where: string): void {
  for (const key of Object.keys(doc)) {
    if (known.has(key)) continue;
    const hint = UNSUPPORTED_HINTS[key];
    throw new CniError(
      CniErrorCode.UnsupportedField,
      `network configuration: ${where}${key} is not a field the calico plugin understands`,
      hint ?? `known fields: ${[...known].sort().join(', ')}`,
    );
  }
}

function optionalString(doc: Doc, field: string, where = ''): string | undefined {
  const v = doc[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw invalid(`${where}${field}`, v, 'expected a non-empty string');
  return v;
}

/** Calico writes these as the strings "true"/"false"; booleans are accepted too. */
function optionalFlag(doc: Doc, field: string, fallback: boolean, where = ''): boolean {
  const v = doc[field];
  if (v === undefined) return fallback;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw invalid(`${where}${field}`, v, 'expected "true" or "false"');
}

function optionalStringList(doc: Doc, field: string, where = ''): string[] {
  const v = doc[field];
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((e) => typeof e !== 'string' || e === ''))
    throw invalid(
      `${where}${field}`,
      v,
      'expected a list of pool names or CIDRs, e.g. ["default-ipv4-ippool"]',
    );
  return v as string[];
}

function readVersion(doc: Doc): CniVersion {
  const v = doc.cniVersion;
  if (typeof v !== 'string' || v === '')
    throw new CniError(CniErrorCode.InvalidNetworkConfig, 'network configuration: cniVersion is missing');
  if (!isSupportedCniVersion(v))
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `network configuration: cniVersion "${v}" is not supported`,
      `supported versions: ${SUPPORTED_CNI_VERSIONS.join(', ')}`,
    );
  return v;
}

// CNI SPEC: a network name starts with an alphanumeric and holds alphanumerics, "_", "." and "-".
// Ours also names the network's Profile, so it must be a valid resource name (lowercase).
function readName(doc: Doc): string {
  const name = doc.name;
  if (typeof name !== 'string' || name === '') throw invalid('name', name, 'give the network a name');
  const problem = checkResourceName(name);
  if (problem) throw invalid('name', name, `the name also names the network's Profile, and it ${problem}`);
  return name;
}

const LOG_LEVELS: Record<string, CniLogLevel> = {
  debug: 'debug',
  info: 'info',
  warning: 'warning',
  warn: 'warning',
  error: 'error',
  none: 'none',
};

function readLogLevel(doc: Doc): CniLogLevel {
  const v = doc.log_level;
  if (v === undefined) return 'warning';
  const level = typeof v === 'string' ? LOG_LEVELS[v.toLowerCase()] : undefined;
  if (!level) throw invalid('log_level', v, `use one of ${Object.keys(LOG_LEVELS).join(', ')}`);
  return level;
}

function readDatastore(doc: Doc): DatastoreChoice {
  const given = DATASTORE_FIELDS.filter((f) => doc[f] !== undefined);
  if (given.length === 0) return { kind: 'environment' };
  const source = 'CNI network configuration';
  const typeText = optionalString(doc, 'datastore_type');
  const endpointsText = optionalString(doc, 'etcd_endpoints');
  const datastoreType = typeText ?? (endpointsText ? 'etcdv3' : 'sqlite');
  if (datastoreType !== 'sqlite' && datastoreType !== 'etcdv3')
    throw invalid(
      'datastore_type',
      typeText,
      datastoreType === 'etcdv2' ? 'the etcd v2 API is gone; use "etcdv3"' : 'use "sqlite" or "etcdv3"',
    );
  const config: DatastoreConfig = { datastoreType, source };
  if (datastoreType === 'sqlite') {
    const path = optionalString(doc, 'sqlite_path');
    if (!path)
      throw invalid(
        'sqlite_path',
        doc.sqlite_path,
        'datastore_type sqlite needs sqlite_path, the store file',
      );
    config.sqlitePath = path;
    return { kind: 'configured', config };
  }
  const endpoints = (endpointsText ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (!endpoints.length)
    throw invalid(
      'etcd_endpoints',
      doc.etcd_endpoints,
      'datastore_type etcdv3 needs etcd_endpoints, e.g. "http://127.0.0.1:2379"',
    );
  config.etcdEndpoints = endpoints;
  const set = (
    field: string,
    key: 'etcdKeyFile' | 'etcdCertFile' | 'etcdCACertFile' | 'etcdUsername' | 'etcdPassword',
  ) => {
    const v = optionalString(doc, field);
    if (v) config[key] = v;
  };
  set('etcd_key_file', 'etcdKeyFile');
  set('etcd_cert_file', 'etcdCertFile');
  set('etcd_ca_cert_file', 'etcdCACertFile');
  set('etcd_username', 'etcdUsername');
  set('etcd_password', 'etcdPassword');
  return { kind: 'configured', config };
}

function readNode(doc: Doc): NodeNameSource {
  const nodename = optionalString(doc, 'nodename');
  return {
    ...(nodename ? { nodename } : {}),
    nodenameFile: optionalString(doc, 'nodename_file') ?? DEFAULT_NODENAME_FILE,
    nodenameFileOptional: optionalFlag(doc, 'nodename_file_optional', false),
  };
}

function readShared(doc: Doc): SharedConfig {
  return {
    cniVersion: readVersion(doc),
    name: readName(doc),
    datastore: readDatastore(doc),
    node: readNode(doc),
    logLevel: readLogLevel(doc),
  };
}

function readCalicoIpam(ipam: Doc): CalicoIpamSection {
  rejectUnknown(ipam, CALICO_IPAM_FIELDS, 'ipam.');
  const section: CalicoIpamSection = {
    kind: 'calico-ipam',
    assignIpv4: optionalFlag(ipam, 'assign_ipv4', true, 'ipam.'),
    assignIpv6: optionalFlag(ipam, 'assign_ipv6', false, 'ipam.'),
    ipv4Pools: optionalStringList(ipam, 'ipv4_pools', 'ipam.'),
    ipv6Pools: optionalStringList(ipam, 'ipv6_pools', 'ipam.'),
  };
  if (!section.assignIpv4 && !section.assignIpv6)
    throw invalid(
      'ipam.assign_ipv4',
      ipam.assign_ipv4,
      'at least one of ipam.assign_ipv4 and ipam.assign_ipv6 must be "true"',
    );
  return section;
}

function readIpamObject(doc: Doc): Doc {
  const ipam = doc.ipam;
  if (!isRecord(ipam) || typeof ipam.type !== 'string' || ipam.type === '')
    throw invalid(
      'ipam',
      ipam,
      'add an ipam section, e.g. {"type": "calico-ipam"} or {"type": "host-local", ...}',
    );
  return ipam;
}

export function parseCalicoConfig(doc: Doc): CalicoNetworkConfig {
  rejectUnknown(doc, CALICO_FIELDS, '');
  const shared = readShared(doc);
  if (doc.type !== 'calico') throw invalid('type', doc.type, 'the calico plugin is run for "type": "calico"');
  const mtuRaw = doc.mtu ?? DEFAULT_MTU;
  if (typeof mtuRaw !== 'number' || !Number.isInteger(mtuRaw) || mtuRaw < 68 || mtuRaw > 65535)
    throw invalid('mtu', doc.mtu, 'a whole number from 68 to 65535 (1500 on plain Ethernet)');
  const ipamDoc = readIpamObject(doc);
  const ipam: IpamSection =
    ipamDoc.type === 'calico-ipam'
      ? readCalicoIpam(ipamDoc)
      : { kind: 'delegated', type: ipamDoc.type as string };
  if (doc.dns !== undefined && !isRecord(doc.dns)) throw invalid('dns', doc.dns, 'expected an object');
  return {
    ...shared,
    mtu: mtuRaw,
    ipam,
    dns: (doc.dns as CniDns | undefined) ?? {},
    ...(doc.prevResult !== undefined ? { prevResult: doc.prevResult } : {}),
  };
}

export function parseCalicoIpamConfig(doc: Doc): CalicoIpamConfig {
  const shared = readShared(doc);
  const ipamDoc = readIpamObject(doc);
  if (ipamDoc.type !== 'calico-ipam')
    throw invalid(
      'ipam.type',
      ipamDoc.type,
      'the calico-ipam plugin is run for "ipam": {"type": "calico-ipam"}',
    );
  return { ...shared, ipam: readCalicoIpam(ipamDoc) };
}
