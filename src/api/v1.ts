/**
 * The seed's v1 format (calicoctl 1.x, `apiVersion: v1`) and its conversion to v3, following what
 * Calico's own upgrade tool did: v1 `policy` becomes a GlobalNetworkPolicy, `ipNetworks` gain a
 * prefix length, `expectedIPs` and `peerIP` move into the spec, `scope` decides between a global and
 * a node-scoped BGPPeer, names that v1 took from fields (a pool's CIDR, a peer's IP) are derived,
 * lowercase actions and protocols take their v3 spelling. The v1 document is checked against its
 * own schema first, so an unknown v1 field is reported in v1 terms.
 */
import { canonicalCidr, parseIp } from '../net/ip.js';
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
  str,
  val,
} from './schema.js';
import type {
  BGPPeer,
  EntityRule,
  GlobalNetworkPolicy,
  HostEndpoint,
  IPPool,
  Node,
  Port,
  Profile,
  Resource,
  Rule,
  RuleAction,
  WorkloadEndpoint,
} from './types.js';
import { API_VERSION } from './types.js';
import { parseAsNumber } from './values.js';

export const V1_KINDS = [
  'bgpPeer',
  'ipPool',
  'node',
  'policy',
  'profile',
  'workloadEndpoint',
  'hostEndpoint',
];

const anyValue = val(() => undefined);
/** v1 ports: a number, a string (`"1000:2000"`, a name) or the `{int: 3306}` / `{str: "http"}` form of the seed. */
const v1Port = val((v) => {
  if (typeof v === 'number' || typeof v === 'string') return undefined;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && (keys[0] === 'int' || keys[0] === 'str')) return undefined;
  }
  return 'is not a port (a number, "from:to", a name, or {int: N})';
});
const v1Entity = obj({
  tag: str(),
  notTag: str(),
  net: str(),
  notNet: str(),
  nets: list(str()),
  notNets: list(str()),
  selector: str(),
  notSelector: str(),
  ports: list(v1Port),
  notPorts: list(v1Port),
});
const v1Icmp = obj({ type: int(), code: int() });
const v1Rule = obj(
  {
    action: str(),
    ipVersion: int(),
    protocol: anyValue,
    notProtocol: anyValue,
    icmp: v1Icmp,
    notICMP: v1Icmp,
    source: v1Entity,
    destination: v1Entity,
  },
  ['action'],
);
const labels = map(str());
const ports = list(obj({ name: str(), protocol: anyValue, port: int() }));

const V1_SCHEMAS: Record<string, { metadata: Schema; spec: Schema }> = {
  bgpPeer: {
    metadata: obj({ scope: str(), node: str(), peerIP: str() }, ['peerIP']),
    spec: obj({ asNumber: anyValue }),
  },
  ipPool: {
    metadata: obj({ cidr: str() }, ['cidr']),
    spec: obj({
      ipip: obj({ enabled: bool, mode: str() }),
      'nat-outgoing': bool,
      disabled: bool,
    }),
  },
  node: {
    metadata: obj({ name: str() }, ['name']),
    spec: obj({
      bgp: obj({ asNumber: anyValue, ipv4Address: str(), ipv6Address: str() }),
      orchRefs: list(obj({ nodeName: str(), orchestrator: str() })),
    }),
  },
  policy: {
    metadata: obj({ name: str(), annotations: map(str()) }, ['name']),
    spec: obj({
      order: num,
      selector: str(),
      ingress: list(v1Rule),
      egress: list(v1Rule),
      doNotTrack: bool,
      preDNAT: bool,
      applyOnForward: bool,
      types: list(str()),
    }),
  },
  profile: {
    metadata: obj({ name: str(), labels, tags: list(str()) }, ['name']),
    spec: obj({ ingress: list(v1Rule), egress: list(v1Rule), tags: list(str()) }),
  },
  workloadEndpoint: {
    metadata: obj(
      {
        name: str(),
        workload: str(),
        orchestrator: str(),
        node: str(),
        hostname: str(),
        activeInstanceID: str(),
        labels,
      },
      ['name'],
    ),
    spec: obj({
      interfaceName: str(),
      mac: str(),
      ipNetworks: list(str()),
      ipNATs: list(obj({ internalIP: str(), externalIP: str() })),
      ipv4Gateway: str(),
      ipv6Gateway: str(),
      profiles: list(str()),
      ports,
    }),
  },
  hostEndpoint: {
    metadata: obj({ name: str(), node: str(), hostname: str(), labels }, ['name']),
    spec: obj({ interfaceName: str(), expectedIPs: list(str()), profiles: list(str()), ports }),
  },
};

/** Checks a v1 document against the v1 field names; the problems use v1 paths. */
export function validateV1(doc: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  const schema = V1_SCHEMAS[String(doc.kind)];
  if (!schema) {
    return [
      {
        path: 'kind',
        message: `kind: "${String(doc.kind)}" is not a v1 resource kind (one of ${V1_KINDS.join(', ')})`,
      },
    ];
  }
  for (const k of Object.keys(doc)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(k))
      errors.push({
        path: k,
        message: `${k}: unknown field "${k}" (known fields: apiVersion, kind, metadata, spec)`,
      });
  }
  checkAgainst(schema.metadata, doc.metadata ?? {}, 'metadata', errors);
  checkAgainst(schema.spec, doc.spec ?? {}, 'spec', errors);
  return errors;
}

/** The name v3 derives from an address or CIDR: `10.1.0.0/16` → `10-1-0-0-16`. */
export function nameFromAddress(text: string): string {
  return text.toLowerCase().replace(/[.:/]/g, '-');
}

/** Calico's workload endpoint name: node, orchestrator, workload, endpoint, with `-` doubled inside each. */
export function workloadEndpointName(
  node: string,
  orchestrator: string,
  workload: string,
  endpoint: string,
): string {
  return [node, orchestrator, workload, endpoint].map((p) => p.replace(/-/g, '--')).join('-');
}

const V1_ACTIONS: Record<string, RuleAction> = {
  allow: 'Allow',
  deny: 'Deny',
  log: 'Log',
  'next-tier': 'Pass',
  pass: 'Pass',
};

function v1PortValue(p: unknown): Port {
  if (p && typeof p === 'object') {
    const o = p as { int?: number; str?: string };
    return o.int ?? o.str ?? '';
  }
  return p as Port;
}

function convertEntity(e: Record<string, unknown> | undefined): EntityRule | undefined {
  if (!e) return undefined;
  const out: EntityRule = {};
  const nets = [...(e.net ? [String(e.net)] : []), ...((e.nets as string[] | undefined) ?? [])];
  const notNets = [...(e.notNet ? [String(e.notNet)] : []), ...((e.notNets as string[] | undefined) ?? [])];
  if (nets.length) out.nets = nets;
  if (notNets.length) out.notNets = notNets;
  // v1 tags became labels with the tag as key, so a tag match is has(tag).
  const selectors = [
    e.tag ? `has(${String(e.tag)})` : '',
    e.selector ? `(${String(e.selector)})` : '',
  ].filter(Boolean);
  if (selectors.length === 1) out.selector = e.selector ? String(e.selector) : selectors[0];
  else if (selectors.length > 1) out.selector = selectors.join(' && ');
  const notSelectors = [
    e.notTag ? `has(${String(e.notTag)})` : '',
    e.notSelector ? String(e.notSelector) : '',
  ].filter(Boolean);
  if (notSelectors.length) out.notSelector = notSelectors.join(' || ');
  if (Array.isArray(e.ports)) out.ports = e.ports.map(v1PortValue);
  if (Array.isArray(e.notPorts)) out.notPorts = e.notPorts.map(v1PortValue);
  return Object.keys(out).length ? out : undefined;
}

function convertRule(r: Record<string, unknown>): Rule {
  const action = V1_ACTIONS[String(r.action).toLowerCase()] ?? (String(r.action) as RuleAction);
  const out: Rule = { action };
  if (r.ipVersion !== undefined) out.ipVersion = r.ipVersion as 4 | 6;
  if (r.protocol !== undefined) out.protocol = r.protocol as string | number;
  if (r.notProtocol !== undefined) out.notProtocol = r.notProtocol as string | number;
  if (r.icmp) out.icmp = r.icmp as Rule['icmp'] & object;
  if (r.notICMP) out.notICMP = r.notICMP as Rule['notICMP'] & object;
  const src = convertEntity(r.source as Record<string, unknown> | undefined);
  const dst = convertEntity(r.destination as Record<string, unknown> | undefined);
  if (src) out.source = src;
  if (dst) out.destination = dst;
  return out;
}

const rules = (v: unknown): Rule[] | undefined =>
  Array.isArray(v) ? v.map((r) => convertRule(r as Record<string, unknown>)) : undefined;

/** A bare address in ipNetworks means one host: v3 stores it with /32 or /128, as calicoctl printed it. */
function withPrefix(ip: string): string {
  if (ip.includes('/')) return ip;
  const parsed = parseIp(ip);
  return parsed ? `${ip}/${parsed.family === 4 ? 32 : 128}` : ip;
}

function compact<T extends object>(o: T): T {
  for (const [k, v] of Object.entries(o)) if (v === undefined) delete (o as Record<string, unknown>)[k];
  return o;
}

type V1Doc = { kind: string; metadata?: Record<string, unknown>; spec?: Record<string, unknown> };

/** Converts a v1 document (already checked by validateV1) to its v3 resource. */
export function convertV1(doc: V1Doc): Resource {
  const m = doc.metadata ?? {};
  const s = doc.spec ?? {};
  const base = { apiVersion: API_VERSION } as const;
  const labelsOf = (l: unknown) => (l && typeof l === 'object' ? (l as Record<string, string>) : undefined);
  switch (doc.kind) {
    case 'bgpPeer': {
      const peerIP = String(m.peerIP);
      const nodeScoped = m.scope === 'node' || (m.scope === undefined && m.node !== undefined);
      const name = nodeScoped ? `${String(m.node)}.${nameFromAddress(peerIP)}` : nameFromAddress(peerIP);
      const asn = parseAsNumber(s.asNumber);
      const r: BGPPeer = {
        ...base,
        kind: 'BGPPeer',
        metadata: { name },
        spec: compact({
          node: nodeScoped ? String(m.node) : undefined,
          peerIP,
          asNumber: asn ?? (s.asNumber as number | undefined),
        }),
      };
      return r;
    }
    case 'ipPool': {
      const cidr = String(m.cidr);
      const ipip = s.ipip as { enabled?: boolean; mode?: string } | undefined;
      const ipipMode = ipip?.enabled ? (ipip.mode === 'cross-subnet' ? 'CrossSubnet' : 'Always') : 'Never';
      const r: IPPool = {
        ...base,
        kind: 'IPPool',
        metadata: { name: nameFromAddress(canonicalCidr(cidr) ?? cidr) },
        spec: compact({
          cidr,
          ipipMode,
          natOutgoing: s['nat-outgoing'] as boolean | undefined,
          disabled: s.disabled as boolean | undefined,
        }),
      };
      return r;
    }
    case 'node': {
      const bgp = s.bgp as { asNumber?: unknown; ipv4Address?: string; ipv6Address?: string } | undefined;
      const r: Node = {
        ...base,
        kind: 'Node',
        metadata: { name: String(m.name) },
        spec: compact({
          bgp: bgp
            ? compact({
                asNumber:
                  bgp.asNumber === undefined
                    ? undefined
                    : (parseAsNumber(bgp.asNumber) ?? (bgp.asNumber as number)),
                ipv4Address: bgp.ipv4Address,
                ipv6Address: bgp.ipv6Address,
              })
            : undefined,
          orchRefs: s.orchRefs as Node['spec']['orchRefs'],
        }),
      };
      return r;
    }
    case 'policy': {
      const r: GlobalNetworkPolicy = {
        ...base,
        kind: 'GlobalNetworkPolicy',
        metadata: compact({
          name: String(m.name),
          annotations: m.annotations as Record<string, string> | undefined,
        }),
        spec: compact({
          order: s.order as number | undefined,
          selector: s.selector as string | undefined,
          ingress: rules(s.ingress),
          egress: rules(s.egress),
          doNotTrack: s.doNotTrack as boolean | undefined,
          preDNAT: s.preDNAT as boolean | undefined,
          applyOnForward: s.applyOnForward as boolean | undefined,
          types: s.types as GlobalNetworkPolicy['spec']['types'],
        }),
      };
      return r;
    }
    case 'profile': {
      const tags = [...((m.tags as string[] | undefined) ?? []), ...((s.tags as string[] | undefined) ?? [])];
      const labelsToApply = { ...Object.fromEntries(tags.map((t) => [t, ''])), ...labelsOf(m.labels) };
      const r: Profile = {
        ...base,
        kind: 'Profile',
        metadata: { name: String(m.name) },
        spec: compact({
          ingress: rules(s.ingress),
          egress: rules(s.egress),
          labelsToApply: Object.keys(labelsToApply).length ? labelsToApply : undefined,
        }),
      };
      return r;
    }
    case 'workloadEndpoint': {
      const node = String(m.node ?? m.hostname ?? '');
      const orchestrator = String(m.orchestrator ?? 'cni');
      const workload = String(m.workload ?? '');
      const endpoint = String(m.name);
      // Kubernetes workloads were `namespace.pod` in v1; others live in the default namespace.
      const dot = workload.indexOf('.');
      const k8s = orchestrator === 'k8s';
      const namespace = k8s && dot > 0 ? workload.slice(0, dot) : 'default';
      const pod = k8s ? (dot > 0 ? workload.slice(dot + 1) : workload) : undefined;
      const r: WorkloadEndpoint = {
        ...base,
        kind: 'WorkloadEndpoint',
        metadata: {
          name: workloadEndpointName(node, orchestrator, workload, endpoint),
          namespace,
          labels: {
            ...labelsOf(m.labels),
            'projectcalico.org/namespace': namespace,
            'projectcalico.org/orchestrator': orchestrator,
          },
        },
        spec: compact({
          orchestrator,
          workload,
          node,
          pod,
          endpoint,
          interfaceName: s.interfaceName as string | undefined,
          mac: s.mac as string | undefined,
          ipNetworks: (s.ipNetworks as string[] | undefined)?.map(withPrefix),
          ipNATs: s.ipNATs as WorkloadEndpoint['spec']['ipNATs'],
          ipv4Gateway: s.ipv4Gateway as string | undefined,
          ipv6Gateway: s.ipv6Gateway as string | undefined,
          profiles: s.profiles as string[] | undefined,
          ports: s.ports as WorkloadEndpoint['spec']['ports'],
        }),
      };
      return r;
    }
    case 'hostEndpoint': {
      const node = String(m.node ?? m.hostname ?? '');
      const r: HostEndpoint = {
        ...base,
        kind: 'HostEndpoint',
        metadata: compact({ name: `${node}.${String(m.name)}`, labels: labelsOf(m.labels) }),
        spec: compact({
          node,
          interfaceName: s.interfaceName as string | undefined,
          expectedIPs: s.expectedIPs as string[] | undefined,
          profiles: s.profiles as string[] | undefined,
          ports: s.ports as HostEndpoint['spec']['ports'],
        }),
      };
      return r;
    }
    default:
      throw new Error(`internal: convertV1 called with kind ${doc.kind}`);
  }
}
