/**
 * Lab scenarios: a whole cluster described in one YAML file (examples/lab/*.yaml) that a user can
 * copy and change. Hosts are network namespaces running calico-node; routers (ToR and core switches
 * of the rack topologies, route reflectors) are namespaces running BIRD 2; workloads are namespaces
 * attached to their host. Checked with the same schema walker as resources, so a mistake names its
 * field (`hosts[2].networks[0]: "fabrik" is not a network of this scenario`).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import YAML from 'yaml';
import { checkAgainst, list, map, obj, oneOf, str, int, bool, val, type FieldError } from '../api/schema.js';
import { checkAsNumber, checkCidr, checkIp, parseAsNumber } from '../api/values.js';

export interface LabNetwork {
  readonly name: string;
  readonly cidr: string;
}

export interface LabHost {
  readonly name: string;
  /** Networks this host is attached to, in order; its node address is its address on the first. */
  readonly networks: readonly string[];
  readonly asNumber?: number;
  /** Makes the node a route reflector with this cluster ID. */
  readonly routeReflectorClusterID?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface LabRouterPeer {
  /** A host or router name of this scenario. */
  readonly peer: string;
  /** The network whose addresses the session uses (default: the first one both share). */
  readonly network?: string;
  /** Export only a default route to this peer (the seed's "Downward Default" model). */
  readonly defaultOnly?: boolean;
  /** Reflect routes to this peer (it is a route-reflector client). */
  readonly rrClient?: boolean;
}

export interface LabRouter {
  readonly name: string;
  readonly asNumber: number;
  readonly networks: readonly string[];
  readonly peers: readonly LabRouterPeer[];
  /** Originate a default route (a core switch that is the way out). */
  readonly originateDefault?: boolean;
}

export interface LabWorkload {
  readonly name: string;
  readonly host: string;
  /**
   * A fixed address, which the lab asks the CNI plugin for with `IP=` (so it must lie in one of the
   * scenario's pools); without it IPAM picks one.
   */
  readonly ip?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly profiles?: readonly string[];
}

export interface LabScenario {
  readonly name: string;
  readonly description: string;
  readonly networks: readonly LabNetwork[];
  readonly hosts: readonly LabHost[];
  readonly routers: readonly LabRouter[];
  readonly pools: readonly {
    readonly cidr: string;
    readonly blockSize?: number;
    readonly natOutgoing?: boolean;
  }[];
  /** How hosts learn each other's workloads: our BGP speaker, or static routes the lab adds. */
  readonly routing: 'bgp' | 'static';
  readonly bgp: { readonly mesh: boolean; readonly asNumber?: number };
  readonly workloads: readonly LabWorkload[];
  /** Resource files (v1 or v3 YAML), relative to the scenario file, loaded into the lab's datastore. */
  readonly resources: readonly string[];
  readonly probe: { readonly icmp: boolean; readonly tcp: readonly number[] };
  /** A sentence the probe prints under the matrix, and the cell it is about. */
  readonly lesson?: {
    readonly text: string;
    readonly from: string;
    readonly to: string;
    readonly port: number;
  };
  /** The directory of the scenario file (resource paths are relative to it). */
  readonly baseDir: string;
}

const labelMap = map(str());
const schema = obj(
  {
    name: str(),
    description: str(),
    networks: list(obj({ name: str(), cidr: str(checkCidr) }, ['name', 'cidr'])),
    hosts: list(
      obj(
        {
          name: str(),
          networks: list(str()),
          asNumber: val(checkAsNumber),
          routeReflectorClusterID: str(checkIp),
          labels: labelMap,
        },
        ['name', 'networks'],
      ),
    ),
    routers: list(
      obj(
        {
          name: str(),
          asNumber: val(checkAsNumber),
          networks: list(str()),
          originateDefault: bool,
          peers: list(obj({ peer: str(), network: str(), defaultOnly: bool, rrClient: bool }, ['peer'])),
        },
        ['name', 'asNumber', 'networks'],
      ),
    ),
    pools: list(obj({ cidr: str(checkCidr), blockSize: int(20, 128), natOutgoing: bool }, ['cidr'])),
    routing: oneOf('bgp', 'static'),
    bgp: obj({ mesh: bool, asNumber: val(checkAsNumber) }),
    workloads: list(
      obj({ name: str(), host: str(), ip: str(checkIp), labels: labelMap, profiles: list(str()) }, [
        'name',
        'host',
      ]),
    ),
    resources: list(str()),
    probe: obj({ icmp: bool, tcp: list(int(1, 65535)) }),
    lesson: obj({ text: str(), from: str(), to: str(), port: int(1, 65535) }, ['text', 'from', 'to', 'port']),
  },
  ['name', 'networks', 'hosts'],
);

export class ScenarioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}

/** Cross-references: every name a field points at must exist; names must be unique and short. */
function checkReferences(s: LabScenario): string[] {
  const problems: string[] = [];
  const nets = new Set(s.networks.map((n) => n.name));
  const nodes = new Set<string>();
  const dup = (kind: string, name: string) => {
    if (nodes.has(name)) problems.push(`${kind} "${name}": the name is used twice`);
    nodes.add(name);
    if (!/^[a-z0-9][a-z0-9-]{0,11}$/.test(name))
      problems.push(
        `${kind} "${name}": names are 1 to 12 lowercase letters, digits or "-" (they become namespace and link names)`,
      );
  };
  s.hosts.forEach((h, i) => {
    dup('hosts', h.name);
    h.networks.forEach((n, j) => {
      if (!nets.has(n)) problems.push(`hosts[${i}].networks[${j}]: "${n}" is not a network of this scenario`);
    });
    if (h.networks.length === 0) problems.push(`hosts[${i}]: a host needs at least one network`);
  });
  s.routers.forEach((r, i) => {
    dup('routers', r.name);
    r.networks.forEach((n, j) => {
      if (!nets.has(n))
        problems.push(`routers[${i}].networks[${j}]: "${n}" is not a network of this scenario`);
    });
  });
  s.routers.forEach((r, i) =>
    r.peers.forEach((p, j) => {
      if (!nodes.has(p.peer))
        problems.push(`routers[${i}].peers[${j}].peer: "${p.peer}" is not a host or router`);
    }),
  );
  const hosts = new Set(s.hosts.map((h) => h.name));
  const wl = new Set<string>();
  s.workloads.forEach((w, i) => {
    if (!hosts.has(w.host)) problems.push(`workloads[${i}].host: "${w.host}" is not a host of this scenario`);
    if (wl.has(w.name)) problems.push(`workloads[${i}]: the name "${w.name}" is used twice`);
    wl.add(w.name);
  });
  return problems;
}

export function parseScenario(text: string, baseDir: string, source = 'scenario'): LabScenario {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new ScenarioError(`${source}: malformed YAML: ${(e as Error).message}`);
  }
  const errors: FieldError[] = [];
  checkAgainst(schema, doc ?? {}, '', errors);
  if (errors.length)
    throw new ScenarioError(`${source} is invalid:\n${errors.map((e) => `  ${e.message}`).join('\n')}`);
  const d = doc as Record<string, unknown> & Partial<LabScenario>;
  const asn = (v: unknown) => (v === undefined ? undefined : parseAsNumber(v));
  const scenario: LabScenario = {
    name: String(d.name),
    description: d.description ?? '',
    networks: d.networks ?? [],
    hosts: (d.hosts ?? []).map((h) => ({ ...h, asNumber: asn(h.asNumber) })),
    routers: (d.routers ?? []).map((r) => ({ ...r, asNumber: asn(r.asNumber) ?? 0, peers: r.peers ?? [] })),
    pools: d.pools ?? [],
    routing: d.routing ?? 'bgp',
    bgp: {
      mesh: d.bgp?.mesh ?? true,
      ...(d.bgp?.asNumber !== undefined ? { asNumber: asn(d.bgp.asNumber) } : {}),
    },
    workloads: d.workloads ?? [],
    resources: d.resources ?? [],
    probe: { icmp: d.probe?.icmp ?? true, tcp: d.probe?.tcp ?? [] },
    ...(d.lesson ? { lesson: d.lesson } : {}),
    baseDir,
  };
  const problems = checkReferences(scenario);
  if (problems.length)
    throw new ScenarioError(`${source} is invalid:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return scenario;
}

export function loadScenarioFile(path: string): LabScenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ScenarioError(`no scenario file ${path}`);
  }
  return parseScenario(text, dirname(resolve(path)), path);
}
