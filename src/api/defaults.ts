/**
 * Defaults, as Calico v3 applies them. Some are written into the stored resource when it is created
 * (an IPPool's blockSize and encapsulation modes, a policy's inferred `types`, canonical spelling of
 * protocols and actions); others are the effective value when a resource or field is absent (the
 * global AS number 64512 and the node-to-node mesh), read through the `effective*` functions.
 */
import { parseCidr } from '../net/ip.js';
import type {
  BGPConfigurationSpec,
  EntityRule,
  FelixConfigurationSpec,
  PolicyType,
  Resource,
  Rule,
  RuleAction,
} from './types.js';
import { canonicalProtocol } from './values.js';

export const DEFAULT_AS_NUMBER = 64512;
export const DEFAULT_IPV4_BLOCK_SIZE = 26;
export const DEFAULT_IPV6_BLOCK_SIZE = 122;
export const DEFAULT_BGP_PORT = 179;

const ACTIONS: Record<string, RuleAction> = { allow: 'Allow', deny: 'Deny', log: 'Log', pass: 'Pass' };

function normalizeEntity(e: EntityRule | undefined): EntityRule | undefined {
  if (!e) return e;
  const out: EntityRule = { ...e };
  // Numeric strings become numbers so `"6379"` and `6379` are one port.
  if (e.ports) out.ports = e.ports.map((p) => (typeof p === 'string' && /^\d+$/.test(p) ? Number(p) : p));
  if (e.notPorts)
    out.notPorts = e.notPorts.map((p) => (typeof p === 'string' && /^\d+$/.test(p) ? Number(p) : p));
  return out;
}

/** Canonical spelling of a rule (`allow` → `Allow`, `tcp` → `TCP`); meaning unchanged. */
export function normalizeRule(r: Rule): Rule {
  const out: Rule = { ...r, action: ACTIONS[String(r.action).toLowerCase()] ?? r.action };
  if (r.protocol !== undefined) out.protocol = canonicalProtocol(r.protocol) ?? r.protocol;
  if (r.notProtocol !== undefined) out.notProtocol = canonicalProtocol(r.notProtocol) ?? r.notProtocol;
  const src = normalizeEntity(r.source);
  const dst = normalizeEntity(r.destination);
  if (src) out.source = src;
  if (dst) out.destination = dst;
  return out;
}

/**
 * Calico's rule for a policy without `types`: Ingress, plus Egress when it has egress rules; an
 * egress-only policy (egress rules, no ingress rules) is Egress only.
 */
export function inferPolicyTypes(spec: { ingress?: Rule[]; egress?: Rule[] }): PolicyType[] {
  const hasIngress = (spec.ingress?.length ?? 0) > 0;
  const hasEgress = (spec.egress?.length ?? 0) > 0;
  if (hasEgress && !hasIngress) return ['Egress'];
  return hasEgress ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** Calico's spelling of an enum value typed in another case (`always` → `Always`). */
function titleCase<T extends string>(v: T | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return v;
  return allowed.find((a) => a.toLowerCase() === String(v).toLowerCase()) ?? v;
}

/** The resource with its write-time defaults applied. Input is not modified. */
export function withDefaults<R extends Resource>(res: R): R {
  const r = structuredClone(res) as Resource;
  switch (r.kind) {
    case 'IPPool': {
      const cidr = parseCidr(r.spec.cidr);
      if (cidr && r.spec.blockSize === undefined)
        r.spec.blockSize = cidr.family === 4 ? DEFAULT_IPV4_BLOCK_SIZE : DEFAULT_IPV6_BLOCK_SIZE;
      r.spec.ipipMode = titleCase(r.spec.ipipMode, ['Never', 'Always', 'CrossSubnet']) ?? 'Never';
      r.spec.vxlanMode = titleCase(r.spec.vxlanMode, ['Never', 'Always', 'CrossSubnet']) ?? 'Never';
      r.spec.natOutgoing ??= false;
      break;
    }
    case 'GlobalNetworkPolicy':
    case 'NetworkPolicy':
      if (r.spec.ingress) r.spec.ingress = r.spec.ingress.map(normalizeRule);
      if (r.spec.egress) r.spec.egress = r.spec.egress.map(normalizeRule);
      r.spec.types ??= inferPolicyTypes(r.spec);
      if (r.kind === 'NetworkPolicy') r.metadata.namespace ??= 'default';
      break;
    case 'Profile':
      if (r.spec.ingress) r.spec.ingress = r.spec.ingress.map(normalizeRule);
      if (r.spec.egress) r.spec.egress = r.spec.egress.map(normalizeRule);
      break;
    case 'WorkloadEndpoint':
      r.metadata.namespace ??= 'default';
      break;
    default:
      break;
  }
  return r as R;
}

/** Rule input normalisation before validation, so `action: allow` validates as `Allow`. */
export function normalizeBeforeValidation(doc: Record<string, unknown>): void {
  const spec = doc.spec as { ingress?: unknown; egress?: unknown } | undefined;
  if (!spec || typeof spec !== 'object') return;
  for (const dir of ['ingress', 'egress'] as const) {
    const rules = spec[dir];
    if (!Array.isArray(rules)) continue;
    spec[dir] = rules.map((r: unknown) =>
      r && typeof r === 'object' && !Array.isArray(r) && 'action' in r ? normalizeRule(r as Rule) : r,
    );
  }
}

export interface EffectiveBgpConfig {
  asNumber: number;
  nodeToNodeMeshEnabled: boolean;
  listenPort: number;
  logSeverityScreen: string;
}

/** The global BGP settings with Calico's defaults for whatever the `default` BGPConfiguration leaves out. */
export function effectiveBgpConfig(spec: BGPConfigurationSpec | undefined): EffectiveBgpConfig {
  return {
    asNumber: spec?.asNumber ?? DEFAULT_AS_NUMBER,
    nodeToNodeMeshEnabled: spec?.nodeToNodeMeshEnabled ?? true,
    listenPort: spec?.listenPort ?? DEFAULT_BGP_PORT,
    logSeverityScreen: spec?.logSeverityScreen ?? 'Info',
  };
}

export interface EffectiveFelixConfig {
  logSeverityScreen: string;
  iptablesRefreshInterval: string;
  ipipEnabled: boolean;
  defaultEndpointToHostAction: 'Drop' | 'Accept' | 'Return';
}

export function effectiveFelixConfig(spec: FelixConfigurationSpec | undefined): EffectiveFelixConfig {
  return {
    logSeverityScreen: spec?.logSeverityScreen ?? 'Info',
    iptablesRefreshInterval: spec?.iptablesRefreshInterval ?? '90s',
    ipipEnabled: spec?.ipipEnabled ?? false,
    defaultEndpointToHostAction: spec?.defaultEndpointToHostAction ?? 'Drop',
  };
}
