/**
 * Validation of v3 resources: one schema per kind (field names and value types, unknown fields
 * rejected) plus the cross-field rules Calico enforces (ports only with TCP/UDP/SCTP, ICMP fields
 * only with ICMP, block sizes that fit the pool, a host endpoint needs an interface or IPs...).
 * `validateResource` returns every problem, each naming the field path and the value.
 */
import { parseSelector } from '../selector/index.js';
import { validateLabelKey, validateLabelValue } from '../selector/index.js';
import { parseCidr, parseIpOrCidr } from '../net/ip.js';
import { kindInfo, lookupKind } from './kinds.js';
import {
  type FieldError,
  type Schema,
  bool,
  checkAgainst,
  int,
  list,
  map,
  num,
  obj,
  oneOf,
  str,
  val,
} from './schema.js';
import type { Resource, ResourceKind, Rule } from './types.js';
import { API_VERSION } from './types.js';
import {
  canonicalProtocol,
  checkAsNumber,
  checkCidr,
  checkDuration,
  checkInterfaceName,
  checkIp,
  checkIpOrCidr,
  checkMac,
  checkNamespaceName,
  checkPort,
  checkProtocol,
  checkResourceName,
} from './values.js';

function checkSelector(v: unknown): string | undefined {
  if (typeof v !== 'string') return 'is not a selector (expected a string)';
  try {
    parseSelector(v);
    return undefined;
  } catch (e) {
    return `is not a valid selector: ${(e as Error).message}`;
  }
}

function checkLabelMap(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'is not a map of labels';
  const problems: string[] = [];
  for (const [k, value] of Object.entries(v)) {
    const keyProblem = validateLabelKey(k);
    if (keyProblem) problems.push(keyProblem);
    if (typeof value !== 'string') problems.push(`label "${k}" must have a string value`);
    else {
      const valueProblem = validateLabelValue(value);
      if (valueProblem) problems.push(valueProblem);
    }
  }
  return problems.length ? `has invalid labels: ${problems.join('; ')}` : undefined;
}

const labels = val(checkLabelMap);
const selector = str(checkSelector);
const port = val(checkPort);
const protocol = val(checkProtocol);
const asNumber = val(checkAsNumber);
const icmp = obj({ type: int(0, 254), code: int(0, 255) });

const entityRule = obj({
  nets: list(str(checkIpOrCidr)),
  notNets: list(str(checkIpOrCidr)),
  selector,
  notSelector: selector,
  namespaceSelector: selector,
  ports: list(port),
  notPorts: list(port),
});

const rule = obj(
  {
    action: oneOf('Allow', 'Deny', 'Log', 'Pass'),
    ipVersion: val((v) => (v === 4 || v === 6 ? undefined : 'is not an IP version (4 or 6)')),
    protocol,
    notProtocol: protocol,
    icmp,
    notICMP: icmp,
    source: entityRule,
    destination: entityRule,
    metadata: obj({ annotations: map(str()) }),
  },
  ['action'],
);

const endpointPort = obj({ name: str(), protocol, port: int(0, 65535) }, ['name', 'protocol', 'port']);
const policyTypes = list(oneOf('Ingress', 'Egress'));

const metadataFields = {
  name: str(checkResourceName),
  namespace: str(checkNamespaceName),
  labels,
  annotations: map(str()),
  resourceVersion: str(),
  uid: str(),
  creationTimestamp: str(),
};

const SPEC_SCHEMAS: Record<ResourceKind, Schema> = {
  Node: obj({
    bgp: obj({
      asNumber,
      ipv4Address: str(checkIpOrCidr),
      ipv6Address: str(checkIpOrCidr),
      ipv4IPIPTunnelAddr: str(checkIp),
      routeReflectorClusterID: str(checkIp),
    }),
    ipv4VXLANTunnelAddr: str(checkIp),
    vxlanTunnelMACAddr: str(checkMac),
    orchRefs: list(obj({ nodeName: str(), orchestrator: str() }, ['orchestrator'])),
  }),
  BGPConfiguration: obj({
    logSeverityScreen: oneOf('Debug', 'Info', 'Warning', 'Error', 'Fatal'),
    nodeToNodeMeshEnabled: bool,
    asNumber,
    listenPort: int(1, 65535),
    serviceClusterIPs: list(obj({ cidr: str(checkCidr) }, ['cidr'])),
    serviceExternalIPs: list(obj({ cidr: str(checkCidr) }, ['cidr'])),
    communities: list(obj({ name: str(), value: str() }, ['name', 'value'])),
  }),
  BGPPeer: obj({
    node: str(),
    peerIP: str(checkIp),
    asNumber,
    nodeSelector: selector,
    peerSelector: selector,
    keepOriginalNextHop: bool,
    sourceAddress: oneOf('UseNodeIP', 'None'),
    maxRestartTime: str(checkDuration),
  }),
  IPPool: obj(
    {
      cidr: str(checkCidr),
      blockSize: int(0, 128),
      ipipMode: oneOf('Never', 'Always', 'CrossSubnet'),
      vxlanMode: oneOf('Never', 'Always', 'CrossSubnet'),
      natOutgoing: bool,
      disabled: bool,
      nodeSelector: selector,
      allowedUses: list(oneOf('Workload', 'Tunnel')),
    },
    ['cidr'],
  ),
  GlobalNetworkPolicy: obj({
    tier: str(checkResourceName),
    order: num,
    selector,
    namespaceSelector: selector,
    types: policyTypes,
    ingress: list(rule),
    egress: list(rule),
    doNotTrack: bool,
    preDNAT: bool,
    applyOnForward: bool,
  }),
  NetworkPolicy: obj({
    tier: str(checkResourceName),
    order: num,
    selector,
    types: policyTypes,
    ingress: list(rule),
    egress: list(rule),
  }),
  Profile: obj({ ingress: list(rule), egress: list(rule), labelsToApply: labels }),
  WorkloadEndpoint: obj({
    orchestrator: str(),
    workload: str(),
    node: str(),
    containerID: str(),
    pod: str(),
    endpoint: str(),
    ipNetworks: list(str(checkIpOrCidr)),
    ipNATs: list(obj({ internalIP: str(checkIp), externalIP: str(checkIp) }, ['internalIP', 'externalIP'])),
    ipv4Gateway: str(checkIp),
    ipv6Gateway: str(checkIp),
    profiles: list(str()),
    interfaceName: str(checkInterfaceName),
    mac: str(checkMac),
    ports: list(endpointPort),
  }),
  HostEndpoint: obj(
    {
      node: str(),
      interfaceName: str((v) => (v === '*' ? undefined : checkInterfaceName(v))),
      expectedIPs: list(str(checkIp)),
      profiles: list(str()),
      ports: list(endpointPort),
    },
    ['node'],
  ),
  FelixConfiguration: obj({
    logSeverityScreen: oneOf('Debug', 'Info', 'Warning', 'Error', 'Fatal'),
    logSeverityFile: oneOf('Debug', 'Info', 'Warning', 'Error', 'Fatal'),
    iptablesRefreshInterval: str(checkDuration),
    routeRefreshInterval: str(checkDuration),
    ipipEnabled: bool,
    vxlanEnabled: bool,
    defaultEndpointToHostAction: oneOf('Drop', 'Accept', 'Return'),
    iptablesMarkMask: int(1, 0xffffffff),
    failsafeInboundHostPorts: list(obj({ protocol: oneOf('TCP', 'UDP'), port: int(0, 65535) })),
    failsafeOutboundHostPorts: list(obj({ protocol: oneOf('TCP', 'UDP'), port: int(0, 65535) })),
    healthPort: int(1, 65535),
    prometheusMetricsEnabled: bool,
    prometheusMetricsPort: int(1, 65535),
  }),
  ClusterInformation: obj({
    clusterGUID: str(),
    clusterType: str(),
    calicoVersion: str(),
    datastoreReady: bool,
  }),
};

const PORT_PROTOCOLS = new Set(['TCP', 'UDP', 'SCTP', 'UDPLite']);

/** Calico's per-rule consistency rules (libcalico-go's validator, rule section). */
function checkRule(r: Rule, path: string, errors: FieldError[]): void {
  const proto = r.protocol === undefined ? undefined : canonicalProtocol(r.protocol);
  const hasPorts = [r.source, r.destination].some((e) => e?.ports?.length || e?.notPorts?.length);
  if (hasPorts && (proto === undefined || !PORT_PROTOCOLS.has(String(proto)))) {
    errors.push({
      path: `${path}.protocol`,
      message: `${path}: ports are only valid with protocol TCP, UDP, SCTP or UDPLite (protocol is ${
        r.protocol === undefined ? 'not set' : `"${r.protocol}"`
      })`,
    });
  }
  if ((r.icmp || r.notICMP) && proto !== 'ICMP' && proto !== 'ICMPv6') {
    errors.push({
      path: `${path}.icmp`,
      message: `${path}: icmp is only valid with protocol ICMP or ICMPv6`,
    });
  }
  for (const side of ['source', 'destination'] as const) {
    for (const field of ['nets', 'notNets'] as const) {
      for (const [i, n] of (r[side]?.[field] ?? []).entries()) {
        const family = parseIpOrCidr(n)?.family;
        if (r.ipVersion && family && family !== r.ipVersion) {
          errors.push({
            path: `${path}.${side}.${field}[${i}]`,
            message: `${path}.${side}.${field}[${i}]: "${n}" is IPv${family} but the rule has ipVersion ${r.ipVersion}`,
          });
        }
      }
    }
  }
}

function checkCrossFields(res: Resource, errors: FieldError[]): void {
  const push = (path: string, message: string) => errors.push({ path, message: `${path}: ${message}` });
  switch (res.kind) {
    case 'IPPool': {
      const cidr = parseCidr(res.spec.cidr ?? '');
      if (!cidr) return;
      const bs = res.spec.blockSize;
      if (bs !== undefined) {
        const [lo, hi] = cidr.family === 4 ? [20, 32] : [116, 128];
        if (bs < lo || bs > hi)
          push('spec.blockSize', `"${bs}" is out of range for IPv${cidr.family} (${lo} to ${hi})`);
        else if (bs < cidr.prefixLength)
          push('spec.blockSize', `"${bs}" is larger than the pool itself (/${cidr.prefixLength})`);
      }
      if (cidr.family === 6 && res.spec.ipipMode && res.spec.ipipMode !== 'Never')
        push('spec.ipipMode', `"${res.spec.ipipMode}" is not possible: IPIP is IPv4 only`);
      if (
        res.spec.ipipMode &&
        res.spec.ipipMode !== 'Never' &&
        res.spec.vxlanMode &&
        res.spec.vxlanMode !== 'Never'
      )
        push('spec.vxlanMode', 'IPIP and VXLAN cannot both be enabled on one pool');
      return;
    }
    case 'BGPPeer':
      if (res.spec.node && res.spec.nodeSelector)
        push('spec.nodeSelector', 'node and nodeSelector cannot both be set');
      if (!res.spec.peerSelector && !res.spec.peerIP)
        push('spec.peerIP', 'required unless peerSelector is set');
      if (res.spec.peerIP && !res.spec.peerSelector && res.spec.asNumber === undefined)
        push('spec.asNumber', 'required field is missing');
      return;
    case 'HostEndpoint':
      if (!res.spec.interfaceName && !res.spec.expectedIPs?.length)
        push('spec', 'a host endpoint needs an interfaceName or expectedIPs');
      return;
    case 'GlobalNetworkPolicy':
    case 'NetworkPolicy':
    case 'Profile':
      for (const dir of ['ingress', 'egress'] as const) {
        (res.spec[dir] ?? []).forEach((r, i) => {
          if (r && typeof r === 'object') checkRule(r, `spec.${dir}[${i}]`, errors);
        });
      }
      return;
    case 'WorkloadEndpoint':
      for (const [i, n] of (res.spec.ipNetworks ?? []).entries()) {
        if (!parseIpOrCidr(n)) continue;
        if (n.includes('/') && !parseCidr(n)) push(`spec.ipNetworks[${i}]`, `"${n}" is not a valid CIDR`);
      }
      return;
    default:
      return;
  }
}

/** Short human description of a document, for error messages: `WorkloadEndpoint "default/x"`. */
export function describeResource(doc: unknown): string {
  if (typeof doc !== 'object' || doc === null) return 'document';
  const d = doc as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  const kind = typeof d.kind === 'string' ? d.kind : 'resource';
  const name = typeof d.metadata?.name === 'string' ? d.metadata.name : undefined;
  const ns = typeof d.metadata?.namespace === 'string' ? `${d.metadata.namespace}/` : '';
  return name ? `${kind} "${ns}${name}"` : kind;
}

/** Every problem with a v3 document; an empty list means it is valid. Does not apply defaults. */
export function validateResource(doc: unknown): FieldError[] {
  const errors: FieldError[] = [];
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return [{ path: '', message: 'a resource must be a map with apiVersion, kind, metadata and spec' }];
  }
  const d = doc as Record<string, unknown>;
  if (d.apiVersion !== API_VERSION)
    errors.push({
      path: 'apiVersion',
      message: `apiVersion: "${String(d.apiVersion)}" is not supported here (expected ${API_VERSION})`,
    });
  const info = typeof d.kind === 'string' ? lookupKind(d.kind) : undefined;
  if (!info || info.kind !== d.kind) {
    errors.push({ path: 'kind', message: `kind: "${String(d.kind)}" is not a known v3 resource kind` });
    return errors;
  }
  const ns = kindInfo(info.kind).namespaced;
  const metaSchema = obj(
    ns
      ? metadataFields
      : { ...metadataFields, namespace: val(() => 'is not allowed: this kind is not namespaced') },
    ['name'],
  );
  checkAgainst(metaSchema, d.metadata ?? {}, 'metadata', errors);
  const top = obj({ apiVersion: str(), kind: str(), metadata: obj({}), spec: obj({}) });
  for (const k of Object.keys(d)) {
    if (!(k in (top as { fields: object }).fields))
      errors.push({
        path: k,
        message: `${k}: unknown field "${k}" (known fields: apiVersion, kind, metadata, spec)`,
      });
  }
  checkAgainst(SPEC_SCHEMAS[info.kind], d.spec ?? {}, 'spec', errors);
  if (errors.length === 0) checkCrossFields(doc as Resource, errors);
  return errors;
}

/** Throws `ValidationError` with every problem when the document is not a valid v3 resource. */
export class ValidationError extends Error {
  constructor(
    readonly document: string,
    readonly problems: readonly FieldError[],
  ) {
    super(`${document} is invalid:\n${problems.map((p) => `  ${p.message}`).join('\n')}`);
    this.name = 'ValidationError';
  }
}

export function assertValidResource(doc: unknown, label = describeResource(doc)): asserts doc is Resource {
  const problems = validateResource(doc);
  if (problems.length) throw new ValidationError(label, problems);
}
