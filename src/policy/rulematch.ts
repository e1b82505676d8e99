/**
 * Does one rule match one packet? Calico v3's rule semantics, as a pure function that also says
 * *why not*: the explain tool prints the reason a rule was skipped, which is most of what a user
 * needs when a packet is dropped by a rule further down.
 *
 * A rule matches when every field it sets matches:
 *  - `ipVersion`, `protocol`/`notProtocol` (names or numbers), `icmp`/`notICMP` (type, and code
 *    when given);
 *  - for `source` and `destination`: `nets`/`notNets` against the packet's address on that side,
 *    `selector`/`notSelector` against the labels of the endpoint owning that address (an address
 *    that is not one of our endpoints matches no selector, so it passes every notSelector),
 *    `namespaceSelector` against that endpoint's namespace, and `ports`/`notPorts` (numbers,
 *    `"from:to"` ranges, and named ports looked up in that endpoint's `ports`).
 *  - In a namespaced NetworkPolicy, a `selector` or `notSelector` without `namespaceSelector` only
 *    sees endpoints in the policy's own namespace.
 */
import type { EntityRule, Port, Rule } from '../api/index.js';
import { cidrContainsIp, parseIpOrCidr, type IpAddress } from '../net/ip.js';
import type { PolicyEndpoint } from './endpoint.js';
import { protocolHasPorts, protocolIsIcmp, protocolName, protocolNumber } from './protocol.js';
import { cachedSelector, namespaceSelectorAdmits, type PolicyEnvironment } from './resolve.js';

/** One end of a flow: its address, and the endpoint that owns it if it is one of ours. */
export interface Peer {
  readonly address: IpAddress;
  readonly endpoint: PolicyEndpoint | undefined;
}

/** The packet a rule is matched against (addresses and endpoints of both ends, L4 details). */
export interface Flow {
  readonly source: Peer;
  readonly destination: Peer;
  /** IANA protocol number. */
  readonly protocol: number;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
}

export interface RuleScope {
  /** The namespace of the NetworkPolicy holding the rule; undefined for global policies and profiles. */
  readonly policyNamespace: string | undefined;
  readonly env: PolicyEnvironment;
}

/** Why the rule does not match this flow, or undefined when it matches. */
export function ruleMismatch(rule: Rule, flow: Flow, scope: RuleScope): string | undefined {
  const family = flow.source.address.family;
  if (rule.ipVersion !== undefined && rule.ipVersion !== family) {
    return `ipVersion ${rule.ipVersion} (packet is IPv${family})`;
  }
  if (rule.protocol !== undefined && protocolNumber(rule.protocol) !== flow.protocol) {
    return `protocol ${String(rule.protocol)} (packet is ${protocolName(flow.protocol)})`;
  }
  if (rule.notProtocol !== undefined && protocolNumber(rule.notProtocol) === flow.protocol) {
    return `notProtocol ${String(rule.notProtocol)}`;
  }
  if (rule.icmp !== undefined) {
    if (!protocolIsIcmp(flow.protocol)) return `icmp match (packet is ${protocolName(flow.protocol)})`;
    if (!icmpMatches(rule.icmp, flow))
      return `icmp ${icmpText(rule.icmp)} (packet has ${icmpText({ type: flow.icmpType, code: flow.icmpCode })})`;
  }
  if (rule.notICMP !== undefined && protocolIsIcmp(flow.protocol) && icmpMatches(rule.notICMP, flow)) {
    return `notICMP ${icmpText(rule.notICMP)}`;
  }
  return (
    entityMismatch('source', rule.source, flow.source, flow.srcPort, flow, scope) ??
    entityMismatch('destination', rule.destination, flow.destination, flow.dstPort, flow, scope)
  );
}

export function ruleMatches(rule: Rule, flow: Flow, scope: RuleScope): boolean {
  return ruleMismatch(rule, flow, scope) === undefined;
}

function icmpMatches(m: { type?: number; code?: number }, flow: Flow): boolean {
  if (m.type !== undefined && m.type !== flow.icmpType) return false;
  if (m.code !== undefined && m.code !== flow.icmpCode) return false;
  return true;
}

function icmpText(m: { type?: number | undefined; code?: number | undefined }): string {
  return `type ${m.type ?? 'any'} code ${m.code ?? 'any'}`;
}

function inAnyNet(nets: readonly string[], ip: IpAddress): boolean {
  return nets.some((n) => {
    const cidr = parseIpOrCidr(n);
    return cidr !== undefined && cidrContainsIp(cidr, ip);
  });
}

function entityMismatch(
  side: 'source' | 'destination',
  entity: EntityRule | undefined,
  peer: Peer,
  port: number | undefined,
  flow: Flow,
  scope: RuleScope,
): string | undefined {
  if (entity === undefined) return undefined;
  const where = `${side} rule`;
  const who =
    peer.endpoint === undefined ? 'an address outside our endpoints' : `endpoint ${peer.endpoint.name}`;
  if (entity.nets !== undefined && entity.nets.length > 0 && !inAnyNet(entity.nets, peer.address)) {
    return `${side}.nets ${entity.nets.join(', ')}`;
  }
  if (entity.notNets !== undefined && entity.notNets.length > 0 && inAnyNet(entity.notNets, peer.address)) {
    return `${side}.notNets ${entity.notNets.join(', ')}`;
  }
  const hasSelector = entity.selector !== undefined && entity.selector.trim() !== '';
  const hasNotSelector = entity.notSelector !== undefined && entity.notSelector.trim() !== '';
  const hasNsSelector = entity.namespaceSelector !== undefined && entity.namespaceSelector.trim() !== '';
  if (hasNsSelector) {
    const nsSel = cachedSelector(entity.namespaceSelector, `${where} namespaceSelector`);
    if (peer.endpoint === undefined || !namespaceSelectorAdmits(nsSel, peer.endpoint, scope.env)) {
      return `${side}.namespaceSelector ${nsSel.toString()} (${who})`;
    }
  } else if (scope.policyNamespace !== undefined && (hasSelector || hasNotSelector)) {
    if (peer.endpoint === undefined || peer.endpoint.namespace !== scope.policyNamespace) {
      return `${side}.selector only sees namespace ${scope.policyNamespace} (${who})`;
    }
  }
  if (hasSelector) {
    const sel = cachedSelector(entity.selector, `${where} selector`);
    if (peer.endpoint === undefined || !sel.evaluate(peer.endpoint.labels)) {
      return `${side}.selector ${sel.toString()} (${who})`;
    }
  }
  if (hasNotSelector) {
    const notSel = cachedSelector(entity.notSelector, `${where} notSelector`);
    if (peer.endpoint !== undefined && notSel.evaluate(peer.endpoint.labels)) {
      return `${side}.notSelector ${notSel.toString()} (${who})`;
    }
  }
  if (entity.ports !== undefined && entity.ports.length > 0) {
    if (port === undefined || !protocolHasPorts(flow.protocol)) return `${side}.ports (packet has no ports)`;
    if (!entity.ports.some((p) => portMatches(p, port, flow.protocol, peer.endpoint))) {
      return `${side}.ports ${entity.ports.join(', ')} (packet ${side} port ${port})`;
    }
  }
  if (entity.notPorts !== undefined && entity.notPorts.length > 0) {
    if (port === undefined || !protocolHasPorts(flow.protocol))
      return `${side}.notPorts (packet has no ports)`;
    if (entity.notPorts.some((p) => portMatches(p, port, flow.protocol, peer.endpoint))) {
      return `${side}.notPorts ${entity.notPorts.join(', ')} (packet ${side} port ${port})`;
    }
  }
  return undefined;
}

/** A number, a `"from:to"` range, a number written as text, or a named port of the endpoint. */
export function portMatches(
  spec: Port,
  port: number,
  protocol: number,
  endpoint: PolicyEndpoint | undefined,
): boolean {
  if (typeof spec === 'number') return spec === port;
  const range = /^(\d+):(\d+)$/.exec(spec);
  if (range !== null) return Number(range[1]) <= port && port <= Number(range[2]);
  if (/^\d+$/.test(spec)) return Number(spec) === port;
  // A named port: the endpoint on this side must declare it, for this protocol, with this number.
  return (endpoint?.ports ?? []).some(
    (p) => p.name === spec && p.port === port && protocolNumber(p.protocol) === protocol,
  );
}
