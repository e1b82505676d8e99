/**
 * `calicoctl policy explain`: the whole path of one packet through Calico policy, from the full
 * resource set. Egress at the source (if the source is one of our endpoints), then ingress at the
 * destination (if it is one of ours); each side is evaluated by `evaluatePacket`, and the packet
 * is allowed only if both sides allow it. Pure: the CLI reads the datastore and prints the lines.
 */
import { createRequire } from 'node:module';
import type {
  GlobalNetworkPolicy,
  HostEndpoint,
  NetworkPolicy,
  Profile,
  Protocol,
  Resource,
  Rule,
  WorkloadEndpoint,
} from '../api/index.js';
import { cidrContainsIp, formatIp, parseIp, type IpAddress } from '../net/ip.js';
import {
  endpointAddress,
  hostEndpointView,
  profileMap,
  workloadEndpointView,
  type PolicyEndpoint,
} from './endpoint.js';
import {
  describeDecision,
  evaluatePacket,
  type DirectionResult,
  type SkippedRule,
  type TraceStep,
  type Verdict,
} from './evaluate.js';
import { protocolHasPorts, protocolIsIcmp, protocolName, protocolNumber } from './protocol.js';
import {
  resolveEndpointPolicies,
  type NamespaceInfo,
  type PolicyEnvironment,
  type TierInfo,
} from './resolve.js';
import type { Flow } from './rulematch.js';

/** Every resource the explanation may need, by kind. */
export interface PolicyResources {
  readonly globalNetworkPolicies?: readonly GlobalNetworkPolicy[];
  readonly networkPolicies?: readonly NetworkPolicy[];
  readonly profiles?: readonly Profile[];
  readonly workloadEndpoints?: readonly WorkloadEndpoint[];
  readonly hostEndpoints?: readonly HostEndpoint[];
  readonly namespaces?: readonly NamespaceInfo[];
  readonly tiers?: readonly TierInfo[];
}

/** Sorts a flat list of resources (as a datastore listing returns them) into `PolicyResources`. */
export function policyResourcesFrom(resources: readonly Resource[]): PolicyResources {
  const pick = <K extends Resource['kind']>(kind: K) =>
    resources.filter((r): r is Extract<Resource, { kind: K }> => r.kind === kind);
  return {
    globalNetworkPolicies: pick('GlobalNetworkPolicy'),
    networkPolicies: pick('NetworkPolicy'),
    profiles: pick('Profile'),
    workloadEndpoints: pick('WorkloadEndpoint'),
    hostEndpoints: pick('HostEndpoint'),
  };
}

export interface ExplainRequest {
  /** An endpoint name (`name`, `namespace/name`, a workload's `spec.endpoint`) or an IP address. */
  readonly from: string;
  readonly to: string;
  /** A protocol name (`tcp`) or number. */
  readonly protocol: Protocol;
  /** Destination port, for protocols with ports. */
  readonly port?: number;
  readonly srcPort?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
}

/** The user asked about something that cannot be explained; the message says what to change. */
export class ExplainInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExplainInputError';
  }
}

export interface ExplainedPeer {
  /** What the user typed. */
  readonly given: string;
  readonly address: IpAddress;
  readonly endpoint: PolicyEndpoint | undefined;
}

export interface Explanation {
  readonly request: ExplainRequest;
  readonly source: ExplainedPeer;
  readonly destination: ExplainedPeer;
  readonly flow: Flow;
  /** Undefined when the source is not one of our endpoints (nothing polices its egress). */
  readonly egress: DirectionResult | undefined;
  /** Undefined when egress already denied, or the destination is not one of our endpoints. */
  readonly ingress: DirectionResult | undefined;
  readonly verdict: Verdict;
}

function allEndpoints(resources: PolicyResources): PolicyEndpoint[] {
  const profiles = profileMap(resources.profiles ?? []);
  return [
    ...(resources.workloadEndpoints ?? []).map((w) => workloadEndpointView(w, profiles)),
    ...(resources.hostEndpoints ?? []).map((h) => hostEndpointView(h, profiles)),
  ];
}

function findByName(endpoints: readonly PolicyEndpoint[], name: string): PolicyEndpoint | undefined {
  const exact = endpoints.filter((e) => e.name === name);
  const candidates = exact.length > 0 ? exact : endpoints.filter((e) => e.aliases.includes(name));
  if (candidates.length > 1) {
    throw new ExplainInputError(
      `${JSON.stringify(name)} names ${candidates.length} endpoints (${candidates.map((c) => `${c.kind} ${c.namespace ?? ''}${c.namespace ? '/' : ''}${c.name}`).join(', ')}); give namespace/name or an IP address`,
    );
  }
  return candidates[0];
}

function resolvePeer(
  given: string,
  role: 'from' | 'to',
  endpoints: readonly PolicyEndpoint[],
  family: 4 | 6 | undefined,
): ExplainedPeer {
  const ip = parseIp(given);
  if (ip !== undefined) {
    const owner =
      endpoints.find((e) =>
        e.networks.some((n) => cidrContainsIp(n, ip) && n.prefixLength === (ip.family === 4 ? 32 : 128)),
      ) ?? endpoints.find((e) => e.networks.some((n) => cidrContainsIp(n, ip)));
    return { given, address: ip, endpoint: owner };
  }
  const endpoint = findByName(endpoints, given);
  if (endpoint === undefined) {
    throw new ExplainInputError(
      `--${role} ${JSON.stringify(given)} is neither an IP address nor the name of a WorkloadEndpoint or HostEndpoint (see calicoctl get workloadendpoints)`,
    );
  }
  const address = endpointAddress(endpoint, family) ?? endpointAddress(endpoint);
  if (address === undefined) {
    throw new ExplainInputError(
      `--${role} endpoint ${endpoint.name} has no IP address (spec.ipNetworks / spec.expectedIPs is empty)`,
    );
  }
  return { given, address, endpoint };
}

function firstFamily(given: string, endpoints: readonly PolicyEndpoint[]): 4 | 6 | undefined {
  const ip = parseIp(given);
  if (ip !== undefined) return ip.family;
  try {
    const ep = findByName(endpoints, given);
    return ep?.networks.some((n) => n.family === 4) ? 4 : ep?.networks[0]?.family;
  } catch {
    return undefined;
  }
}

/** Explains the fate of one packet from `request.from` to `request.to`. */
export function explainTraffic(resources: PolicyResources, request: ExplainRequest): Explanation {
  const protocol = protocolNumber(request.protocol);
  if (protocol === undefined) {
    throw new ExplainInputError(
      `--protocol ${JSON.stringify(String(request.protocol))} is not a protocol (tcp, udp, icmp, icmpv6, sctp, udplite, or a number 0-255)`,
    );
  }
  if (protocolHasPorts(protocol) && request.port === undefined) {
    throw new ExplainInputError(`--port is required for ${protocolName(protocol)}`);
  }
  const endpoints = allEndpoints(resources);
  // Pick the family both ends can use: the destination's if it is an address, else IPv4 first.
  const family = firstFamily(request.to, endpoints) ?? firstFamily(request.from, endpoints);
  const source = resolvePeer(request.from, 'from', endpoints, family);
  const destination = resolvePeer(request.to, 'to', endpoints, source.address.family);
  if (source.address.family !== destination.address.family) {
    throw new ExplainInputError(
      `source ${formatIp(source.address)} and destination ${formatIp(destination.address)} are different IP versions`,
    );
  }
  const flow: Flow = {
    source,
    destination,
    protocol,
    ...(protocolHasPorts(protocol) && request.port !== undefined ? { dstPort: request.port } : {}),
    ...(protocolHasPorts(protocol) ? { srcPort: request.srcPort ?? 40000 } : {}),
    ...(protocolIsIcmp(protocol)
      ? { icmpType: request.icmpType ?? (protocol === 1 ? 8 : 128), icmpCode: request.icmpCode ?? 0 }
      : {}),
  };
  const env: PolicyEnvironment = {
    ...(resources.namespaces ? { namespaces: resources.namespaces } : {}),
    ...(resources.tiers ? { tiers: resources.tiers } : {}),
  };
  const policies = [...(resources.globalNetworkPolicies ?? []), ...(resources.networkPolicies ?? [])];
  const profiles = resources.profiles ?? [];
  const side = (endpoint: PolicyEndpoint, direction: 'ingress' | 'egress'): DirectionResult =>
    evaluatePacket(resolveEndpointPolicies(endpoint, policies, profiles, direction, env), flow, env);

  const egress = source.endpoint ? side(source.endpoint, 'egress') : undefined;
  const ingress =
    destination.endpoint && egress?.verdict !== 'deny' ? side(destination.endpoint, 'ingress') : undefined;
  const verdict: Verdict = egress?.verdict === 'deny' || ingress?.verdict === 'deny' ? 'deny' : 'allow';
  return { request, source, destination, flow, egress, ingress, verdict };
}

// ---- formatting ------------------------------------------------------------------------------------

// The YAML printer is loaded when an explanation is formatted: Felix loads this folder (policy
// resolution) and has no use for it (~1.5 MB of calico-node's RSS with the api codecs; bench/node-memory).
const requireModule = createRequire(import.meta.url);

function ruleYaml(rule: Rule, indent: string): string[] {
  const { stringify } = requireModule('yaml') as typeof import('yaml');
  return stringify(rule, { lineWidth: 0 })
    .trimEnd()
    .split('\n')
    .map((l) => `${indent}${l}`);
}

function skippedLines(skipped: readonly SkippedRule[], indent: string): string[] {
  return skipped.map((s) => `${indent}rule ${s.ruleIndex} does not match: ${s.reason}`);
}

function peerText(p: ExplainedPeer): string {
  const ip = formatIp(p.address);
  return p.endpoint ? `${p.endpoint.name} (${ip})` : ip;
}

function stepLines(step: TraceStep, direction: string): string[] {
  const i = '    ';
  switch (step.kind) {
    case 'policy-rule':
      return [
        ...skippedLines(step.skipped, `  tier ${step.tier}: ${step.policy.kind} ${step.policy.name}: `),
        `  tier ${step.tier}: ${step.policy.kind} ${step.policy.name} ${direction} rule ${step.ruleIndex} matches: ${step.action}${step.action === 'Log' ? ' (logged, evaluation continues)' : step.action === 'Pass' ? ' (skip to the next tier)' : ''}`,
        ...ruleYaml(step.rule, i),
      ];
    case 'policy-no-match':
      return [
        ...skippedLines(step.skipped, `  tier ${step.tier}: ${step.policy.kind} ${step.policy.name}: `),
        `  tier ${step.tier}: ${step.policy.kind} ${step.policy.name}: no ${direction} rule matches, next policy`,
      ];
    case 'end-of-tier':
      return [
        `  end of tier ${step.tier}: a policy in this tier applies but none allowed, passed or denied: deny`,
      ];
    case 'no-policy':
      return [
        `  no policy applied, profiles${step.profiles.length ? `: ${step.profiles.join(', ')}` : ': (none)'}`,
      ];
    case 'all-tiers-passed':
      return [
        `  every tier passed, profiles${step.profiles.length ? `: ${step.profiles.join(', ')}` : ': (none)'}`,
      ];
    case 'profile-rule':
      return [
        ...skippedLines(step.skipped, `  Profile ${step.profile}: `),
        `  Profile ${step.profile} ${direction} rule ${step.ruleIndex} matches: ${step.action}${step.action === 'Log' ? ' (logged, evaluation continues)' : ''}`,
        ...ruleYaml(step.rule, i),
      ];
    case 'profile-no-match':
      return [
        ...skippedLines(step.skipped, `  Profile ${step.profile}: `),
        `  Profile ${step.profile}: no ${direction} rule allows or denies, next profile`,
      ];
    case 'profile-missing':
      return [`  Profile ${step.profile} does not exist, skipped`];
    case 'no-profile-matched':
      return [`  no profile matched: deny`];
    case 'profiles-not-consulted':
      return [`  a policy applied, so profiles were not consulted: ${step.profiles.join(', ')}`];
    default: {
      const unknown: never = step;
      throw new Error(`unknown step ${JSON.stringify(unknown)}`);
    }
  }
}

function directionLines(title: string, result: DirectionResult): string[] {
  return [
    title,
    ...result.steps.flatMap((s) => stepLines(s, result.direction)),
    `  => ${result.direction} ${result.verdict}, decided by ${describeDecision(result.decision)}`,
  ];
}

/** The explanation as lines of text; the last line is `verdict: allow` or `verdict: deny`. */
export function formatExplanation(e: Explanation): string[] {
  const f = e.flow;
  const l4 = protocolHasPorts(f.protocol)
    ? `${protocolName(f.protocol)} port ${f.dstPort}`
    : protocolIsIcmp(f.protocol)
      ? `${protocolName(f.protocol)} type ${f.icmpType} code ${f.icmpCode}`
      : protocolName(f.protocol);
  const lines = [`packet: ${peerText(e.source)} -> ${peerText(e.destination)}, ${l4}`];
  if (e.egress) {
    lines.push(
      ...directionLines(`egress at source ${e.source.endpoint?.kind} ${e.egress.endpoint}:`, e.egress),
    );
  } else {
    lines.push(`egress: source ${formatIp(e.source.address)} is not one of our endpoints, no egress policy`);
  }
  if (e.ingress) {
    lines.push(
      ...directionLines(
        `ingress at destination ${e.destination.endpoint?.kind} ${e.ingress.endpoint}:`,
        e.ingress,
      ),
    );
  } else if (e.egress?.verdict === 'deny') {
    lines.push('ingress: not evaluated, the packet never leaves the source');
  } else {
    lines.push(
      `ingress: destination ${formatIp(e.destination.address)} is not one of our endpoints, no ingress policy`,
    );
  }
  lines.push(`verdict: ${e.verdict}`);
  return lines;
}
