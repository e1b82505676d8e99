import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  GlobalNetworkPolicy,
  GlobalNetworkPolicySpec,
  HostEndpoint,
  NetworkPolicy,
  NetworkPolicySpec,
  Profile,
  ProfileSpec,
  Protocol,
  WorkloadEndpoint,
} from '../../../src/api/index.js';
import {
  describeDecision,
  explainTraffic,
  type Explanation,
  type PolicyResources,
  type Verdict,
} from '../../../src/policy/index.js';

const V3 = 'projectcalico.org/v3' as const;

function wep(
  namespace: string,
  name: string,
  labels: Record<string, string>,
  ip: string,
  extra: Partial<WorkloadEndpoint['spec']> = {},
): WorkloadEndpoint {
  return {
    apiVersion: V3,
    kind: 'WorkloadEndpoint',
    metadata: { name, namespace, labels },
    spec: { orchestrator: 'k8s', node: 'node1', ipNetworks: [ip], ...extra },
  };
}
function hep(
  name: string,
  labels: Record<string, string>,
  ip: string,
  profiles: string[] = [],
): HostEndpoint {
  return {
    apiVersion: V3,
    kind: 'HostEndpoint',
    metadata: { name, labels },
    spec: { node: 'node1', interfaceName: 'eth0', expectedIPs: [ip], profiles },
  };
}
function gnp(name: string, spec: GlobalNetworkPolicySpec): GlobalNetworkPolicy {
  return { apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name }, spec };
}
function np(namespace: string, name: string, spec: NetworkPolicySpec): NetworkPolicy {
  return { apiVersion: V3, kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}
function profile(name: string, spec: ProfileSpec): Profile {
  return { apiVersion: V3, kind: 'Profile', metadata: { name }, spec };
}

/**
 * The world every scenario starts from. Sources that are our endpoints carry the `open-egress`
 * profile, so their egress is allowed unless a scenario adds an egress policy for them.
 */
const BASE: Required<
  Pick<PolicyResources, 'workloadEndpoints' | 'hostEndpoints' | 'profiles' | 'namespaces'>
> = {
  workloadEndpoints: [
    wep('prod', 'web', { app: 'web' }, '10.0.0.1/32', { profiles: ['open-egress'] }),
    wep('prod', 'db', { app: 'db' }, '10.0.0.2/32', {
      ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    }),
    wep('dev', 'client', { app: 'client' }, '10.0.1.1/32', { profiles: ['open-egress'] }),
    wep('prod', 'web6', { app: 'web6' }, 'fd00::1/128', { profiles: ['open-egress'] }),
    wep('prod', 'db6', { app: 'db6' }, 'fd00::2/128'),
  ],
  hostEndpoints: [hep('h1', { role: 'host' }, '192.168.0.10')],
  profiles: [
    profile('open-egress', { egress: [{ action: 'Allow' }] }),
    profile('allow-all', { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] }),
  ],
  namespaces: [
    { name: 'prod', labels: { env: 'production' } },
    { name: 'dev', labels: { env: 'development' } },
  ],
};

const EXTERNAL = '203.0.113.5';
const EXTERNAL6 = '2001:db8::5';
const dbSel = "app == 'db'";

interface Scenario {
  readonly name: string;
  readonly add: PolicyResources;
  /** Replace BASE's workload endpoints (for scenarios that change an endpoint). */
  readonly endpoints?: WorkloadEndpoint[];
  readonly from: string;
  readonly to: string;
  readonly protocol: Protocol;
  readonly port?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly verdict: Verdict;
  /** `<direction>: <describeDecision of the step that decided>` */
  readonly decided: string;
}

const allowFromWeb = { action: 'Allow' as const, source: { selector: "app == 'web'" } };

const SCENARIOS: Scenario[] = [
  // ---- ordering -------------------------------------------------------------------------------
  {
    name: 'a lower order policy decides before a higher one (deny first)',
    add: {
      globalNetworkPolicies: [
        gnp('deny-tcp', { order: 10, selector: dbSel, ingress: [{ action: 'Deny', protocol: 'TCP' }] }),
        gnp('allow-all', { order: 20, selector: dbSel, ingress: [{ action: 'Allow' }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 5432,
    verdict: 'deny',
    decided: 'ingress: GlobalNetworkPolicy deny-tcp rule 0 (Deny)',
  },
  {
    name: 'a lower order policy decides before a higher one (allow first)',
    add: {
      globalNetworkPolicies: [
        gnp('deny-tcp', { order: 20, selector: dbSel, ingress: [{ action: 'Deny', protocol: 'TCP' }] }),
        gnp('allow-all', { order: 10, selector: dbSel, ingress: [{ action: 'Allow' }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 5432,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy allow-all rule 0 (Allow)',
  },
  {
    name: 'a policy without order comes after every ordered policy',
    add: {
      globalNetworkPolicies: [
        gnp('aaa-unordered-allow', { selector: dbSel, ingress: [{ action: 'Allow' }] }),
        gnp('zzz-ordered-deny', { order: 1000, selector: dbSel, ingress: [{ action: 'Deny' }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 5432,
    verdict: 'deny',
    decided: 'ingress: GlobalNetworkPolicy zzz-ordered-deny rule 0 (Deny)',
  },
  {
    name: 'equal orders are broken by name',
    add: {
      globalNetworkPolicies: [
        gnp('b-deny', { order: 5, selector: dbSel, ingress: [{ action: 'Deny' }] }),
        gnp('a-allow', { order: 5, selector: dbSel, ingress: [{ action: 'Allow' }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 5432,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy a-allow rule 0 (Allow)',
  },
  {
    name: 'inside a policy the first matching rule wins: deny before allow closes the port',
    add: {
      globalNetworkPolicies: [
        gnp('db', { selector: dbSel, ingress: [{ action: 'Deny' }, { ...allowFromWeb, protocol: 'TCP' }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Deny)',
  },
  {
    name: 'a rule that does not match is skipped and the next one decides',
    add: {
      globalNetworkPolicies: [gnp('db', { selector: dbSel, ingress: [allowFromWeb, { action: 'Deny' }] })],
    },
    from: 'client',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: GlobalNetworkPolicy db rule 1 (Deny)',
  },
  {
    name: 'a policy with no matching rule hands over to the next policy in the tier',
    add: {
      globalNetworkPolicies: [
        gnp('first', { order: 1, selector: dbSel, ingress: [{ action: 'Deny', protocol: 'UDP' }] }),
        gnp('second', { order: 2, selector: dbSel, ingress: [allowFromWeb] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy second rule 0 (Allow)',
  },
  // ---- default deny, types --------------------------------------------------------------------
  {
    name: 'a policy applies but no rule matches: end of tier denies',
    add: { globalNetworkPolicies: [gnp('db', { selector: dbSel, ingress: [allowFromWeb] })] },
    from: EXTERNAL,
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  {
    name: 'a policy with no rules (types inferred Ingress) denies all ingress at end of tier',
    add: { globalNetworkPolicies: [gnp('isolate', { selector: dbSel })] },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  {
    name: 'an Egress-only policy does not apply to ingress: profiles decide (none: deny)',
    add: {
      globalNetworkPolicies: [
        gnp('egress', { selector: dbSel, types: ['Egress'], egress: [{ action: 'Allow' }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: no profile matched (the endpoint has no profiles)',
  },
  {
    name: 'egress rules only: types inferred Egress, so ingress goes to the profiles',
    add: {
      globalNetworkPolicies: [gnp('egress-only', { selector: dbSel, egress: [{ action: 'Deny' }] })],
    },
    endpoints: [
      wep('prod', 'web', { app: 'web' }, '10.0.0.1/32', { profiles: ['open-egress'] }),
      wep('prod', 'db', { app: 'db' }, '10.0.0.2/32', { profiles: ['allow-all'] }),
    ],
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: Profile allow-all rule 0 (Allow)',
  },
  {
    name: 'ingress and egress rules: types inferred both, so egress from the selected endpoint is policed',
    add: {
      globalNetworkPolicies: [
        gnp('web-both', {
          selector: "app == 'web'",
          ingress: [{ action: 'Allow' }],
          egress: [{ action: 'Deny', protocol: 'TCP' }],
        }),
      ],
    },
    from: 'web',
    to: EXTERNAL,
    protocol: 'tcp',
    port: 443,
    verdict: 'deny',
    decided: 'egress: GlobalNetworkPolicy web-both rule 0 (Deny)',
  },
  {
    name: 'explicit types Ingress ignore the egress rules',
    add: {
      globalNetworkPolicies: [
        gnp('web-in', { selector: "app == 'web'", types: ['Ingress'], egress: [{ action: 'Deny' }] }),
      ],
    },
    from: 'web',
    to: EXTERNAL,
    protocol: 'tcp',
    port: 443,
    verdict: 'allow',
    decided: 'egress: Profile open-egress rule 0 (Allow)',
  },
  // ---- profiles -------------------------------------------------------------------------------
  {
    name: 'no policy: the profile with deny before allow denies (the seed mistake)',
    add: {
      profiles: [
        profile('p-db', {
          ingress: [{ action: 'Deny' }, { ...allowFromWeb, protocol: 'TCP', destination: { ports: [3306] } }],
        }),
      ],
    },
    endpoints: [
      wep('prod', 'web', { app: 'web' }, '10.0.0.1/32', { profiles: ['open-egress'] }),
      wep('prod', 'db', { app: 'db' }, '10.0.0.2/32', { profiles: ['p-db'] }),
    ],
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: Profile p-db rule 0 (Deny)',
  },
  {
    name: 'no policy: the profile with allow before deny allows 3306',
    add: {
      profiles: [
        profile('p-db', {
          ingress: [{ ...allowFromWeb, protocol: 'TCP', destination: { ports: [3306] } }, { action: 'Deny' }],
        }),
      ],
    },
    endpoints: [
      wep('prod', 'web', { app: 'web' }, '10.0.0.1/32', { profiles: ['open-egress'] }),
      wep('prod', 'db', { app: 'db' }, '10.0.0.2/32', { profiles: ['p-db'] }),
    ],
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: Profile p-db rule 0 (Allow)',
  },
  {
    name: 'profiles are tried in order: the second profile allows when the first has no match',
    add: {
      profiles: [
        profile('p1', { ingress: [{ action: 'Allow', protocol: 'UDP' }] }),
        profile('p2', { ingress: [{ action: 'Allow', protocol: 'TCP' }] }),
      ],
    },
    endpoints: [
      wep('prod', 'web', { app: 'web' }, '10.0.0.1/32', { profiles: ['open-egress'] }),
      wep('prod', 'db', { app: 'db' }, '10.0.0.2/32', { profiles: ['p1', 'p2'] }),
    ],
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: Profile p2 rule 0 (Allow)',
  },
  {
    name: 'a profile Log rule continues to the next rule',
    add: { profiles: [profile('p-log', { ingress: [{ action: 'Log' }, { action: 'Allow' }] })] },
    endpoints: [
      wep('prod', 'web', { app: 'web' }, '10.0.0.1/32', { profiles: ['open-egress'] }),
      wep('prod', 'db', { app: 'db' }, '10.0.0.2/32', { profiles: ['p-log'] }),
    ],
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: Profile p-log rule 1 (Allow)',
  },
  {
    name: 'a missing profile is skipped and the next one decides',
    add: {},
    endpoints: [
      wep('prod', 'web', { app: 'web' }, '10.0.0.1/32', { profiles: ['open-egress'] }),
      wep('prod', 'db', { app: 'db' }, '10.0.0.2/32', { profiles: ['no-such-profile', 'allow-all'] }),
    ],
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: Profile allow-all rule 0 (Allow)',
  },
  {
    name: 'no policy and no profile: deny',
    add: {},
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: no profile matched (the endpoint has no profiles)',
  },
  {
    name: 'profiles with no matching rule: no profile matched',
    add: { profiles: [profile('p-udp', { ingress: [{ action: 'Allow', protocol: 'UDP' }] })] },
    endpoints: [
      wep('prod', 'web', { app: 'web' }, '10.0.0.1/32', { profiles: ['open-egress'] }),
      wep('prod', 'db', { app: 'db' }, '10.0.0.2/32', { profiles: ['p-udp'] }),
    ],
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: no profile matched',
  },
  {
    name: 'a policy that applies hides the profiles, even one that would allow',
    add: { globalNetworkPolicies: [gnp('db', { selector: dbSel, ingress: [{ action: 'Deny' }] })] },
    endpoints: [
      wep('prod', 'web', { app: 'web' }, '10.0.0.1/32', { profiles: ['open-egress'] }),
      wep('prod', 'db', { app: 'db' }, '10.0.0.2/32', { profiles: ['allow-all'] }),
    ],
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Deny)',
  },
  // ---- Pass and tiers -------------------------------------------------------------------------
  {
    name: 'Pass in the last tier falls through to the profiles',
    add: { globalNetworkPolicies: [gnp('pass', { selector: dbSel, ingress: [{ action: 'Pass' }] })] },
    endpoints: [
      wep('prod', 'web', { app: 'web' }, '10.0.0.1/32', { profiles: ['open-egress'] }),
      wep('prod', 'db', { app: 'db' }, '10.0.0.2/32', { profiles: ['allow-all'] }),
    ],
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: Profile allow-all rule 0 (Allow)',
  },
  {
    name: 'Pass in the last tier with no profile denies',
    add: { globalNetworkPolicies: [gnp('pass', { selector: dbSel, ingress: [{ action: 'Pass' }] })] },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: no profile matched (the endpoint has no profiles)',
  },
  {
    name: 'Pass skips the rest of its tier, including later policies that would deny',
    add: {
      tiers: [{ name: 'security', order: 100 }],
      globalNetworkPolicies: [
        gnp('security.pass-web', {
          tier: 'security',
          order: 1,
          selector: dbSel,
          ingress: [{ ...allowFromWeb, action: 'Pass' }],
        }),
        gnp('security.deny', { tier: 'security', order: 2, selector: dbSel, ingress: [{ action: 'Deny' }] }),
        gnp('allow-db', { selector: dbSel, ingress: [{ action: 'Allow' }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy allow-db rule 0 (Allow)',
  },
  {
    name: 'an earlier tier denies before the default tier is reached',
    add: {
      tiers: [{ name: 'security', order: 100 }],
      globalNetworkPolicies: [
        gnp('security.block-dev', {
          tier: 'security',
          selector: dbSel,
          ingress: [
            { action: 'Deny', source: { namespaceSelector: "env == 'development'" } },
            { action: 'Pass' },
          ],
        }),
        gnp('allow-db', { selector: dbSel, ingress: [{ action: 'Allow' }] }),
      ],
    },
    from: 'client',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: GlobalNetworkPolicy security.block-dev rule 0 (Deny)',
  },
  {
    name: 'a tier whose policy applies but does not match ends in deny even if a later tier allows',
    add: {
      tiers: [{ name: 'security', order: 100 }],
      globalNetworkPolicies: [
        gnp('security.web-only', { tier: 'security', selector: dbSel, ingress: [allowFromWeb] }),
        gnp('allow-db', { selector: dbSel, ingress: [{ action: 'Allow' }] }),
      ],
    },
    from: 'client',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: end of tier security',
  },
  {
    name: 'a tier with no order sorts after the default tier',
    add: {
      tiers: [{ name: 'late' }],
      globalNetworkPolicies: [
        gnp('late.deny', { tier: 'late', selector: dbSel, ingress: [{ action: 'Deny' }] }),
        gnp('allow-db', { selector: dbSel, ingress: [{ action: 'Allow' }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy allow-db rule 0 (Allow)',
  },
  {
    name: 'a tier none of whose policies select the endpoint is skipped',
    add: {
      tiers: [{ name: 'security', order: 100 }],
      globalNetworkPolicies: [
        gnp('security.web', { tier: 'security', selector: "app == 'web'", ingress: [{ action: 'Deny' }] }),
        gnp('allow-db', { selector: dbSel, ingress: [{ action: 'Allow' }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy allow-db rule 0 (Allow)',
  },
  {
    name: 'a tier whose defaultAction is Pass hands an undecided packet to the next tier',
    add: {
      tiers: [{ name: 'security', order: 100, defaultAction: 'Pass' }],
      globalNetworkPolicies: [
        gnp('security.web-only', { tier: 'security', selector: dbSel, ingress: [allowFromWeb] }),
        gnp('deny-db', { selector: dbSel, ingress: [{ action: 'Deny' }] }),
      ],
    },
    from: 'client',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: GlobalNetworkPolicy deny-db rule 0 (Deny)',
  },
  {
    name: 'doNotTrack and preDNAT policies are not part of the filter evaluation',
    add: {
      globalNetworkPolicies: [
        gnp('untracked', {
          order: 1,
          selector: dbSel,
          doNotTrack: true,
          applyOnForward: true,
          ingress: [{ action: 'Deny' }],
        }),
        gnp('prednat', {
          order: 2,
          selector: dbSel,
          preDNAT: true,
          applyOnForward: true,
          ingress: [{ action: 'Deny' }],
        }),
        gnp('allow-db', { order: 3, selector: dbSel, ingress: [{ action: 'Allow' }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy allow-db rule 0 (Allow)',
  },
  // ---- Log ------------------------------------------------------------------------------------
  {
    name: 'a policy Log rule is noted and evaluation continues',
    add: {
      globalNetworkPolicies: [gnp('db', { selector: dbSel, ingress: [{ action: 'Log' }, allowFromWeb] })],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db rule 1 (Allow)',
  },
  {
    name: 'a policy with only a Log rule reaches the end of the tier',
    add: { globalNetworkPolicies: [gnp('db', { selector: dbSel, ingress: [{ action: 'Log' }] })] },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  // ---- namespaced policies --------------------------------------------------------------------
  {
    name: 'a NetworkPolicy selector sees endpoints in its own namespace',
    add: { networkPolicies: [np('prod', 'db', { selector: dbSel, ingress: [allowFromWeb] })] },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: NetworkPolicy prod/db rule 0 (Allow)',
  },
  {
    name: 'a NetworkPolicy rule selector does not see another namespace',
    add: {
      networkPolicies: [
        np('prod', 'db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', source: { selector: "app == 'client'" } }],
        }),
      ],
    },
    from: 'client',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  {
    name: 'a NetworkPolicy rule with namespaceSelector reaches the named namespace',
    add: {
      networkPolicies: [
        np('prod', 'db', {
          selector: dbSel,
          ingress: [
            {
              action: 'Allow',
              source: { namespaceSelector: "projectcalico.org/name == 'dev'", selector: "app == 'client'" },
            },
          ],
        }),
      ],
    },
    from: 'client',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: NetworkPolicy prod/db rule 0 (Allow)',
  },
  {
    name: 'a NetworkPolicy in another namespace does not apply',
    add: { networkPolicies: [np('dev', 'deny-db', { selector: dbSel, ingress: [{ action: 'Deny' }] })] },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: no profile matched (the endpoint has no profiles)',
  },
  {
    name: 'a NetworkPolicy rule with only nets matches addresses outside the namespace',
    add: {
      networkPolicies: [
        np('prod', 'db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', source: { nets: ['203.0.113.0/24'] } }],
        }),
      ],
    },
    from: EXTERNAL,
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: NetworkPolicy prod/db rule 0 (Allow)',
  },
  {
    name: 'a GlobalNetworkPolicy namespaceSelector selects endpoints by namespace labels',
    add: {
      globalNetworkPolicies: [
        gnp('prod-lockdown', {
          namespaceSelector: "env == 'production'",
          selector: 'all()',
          ingress: [{ action: 'Deny' }],
        }),
      ],
    },
    from: 'client',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: GlobalNetworkPolicy prod-lockdown rule 0 (Deny)',
  },
  {
    name: 'a rule namespaceSelector global() admits host endpoints only',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', source: { namespaceSelector: 'global()' } }],
        }),
      ],
    },
    endpoints: [...BASE.workloadEndpoints],
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  {
    name: 'a rule namespaceSelector all() admits workloads of every namespace',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', source: { namespaceSelector: 'all()' } }],
        }),
      ],
    },
    from: 'client',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Allow)',
  },
  {
    name: 'a rule namespaceSelector all() does not admit host endpoints',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', source: { namespaceSelector: 'all()' } }],
        }),
      ],
      hostEndpoints: [hep('h2', { role: 'host' }, '192.168.0.11', ['open-egress'])],
    },
    from: 'h2',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  {
    name: 'global() inside a larger namespaceSelector still means "not namespaced"',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [
            { action: 'Allow', source: { namespaceSelector: "global() || projectcalico.org/name == 'dev'" } },
          ],
        }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  {
    name: 'a namespaceSelector on a missing namespace label admits host endpoints (they have no namespace labels)',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', source: { namespaceSelector: "env != 'production'" } }],
        }),
      ],
      hostEndpoints: [hep('h2', { role: 'host' }, '192.168.0.11', ['open-egress'])],
    },
    from: 'h2',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Allow)',
  },
  // ---- nets -----------------------------------------------------------------------------------
  {
    name: 'source nets admit an address inside the CIDR',
    add: {
      globalNetworkPolicies: [
        gnp('db', { selector: dbSel, ingress: [{ action: 'Allow', source: { nets: ['10.0.0.0/24'] } }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Allow)',
  },
  {
    name: 'source notNets: an outside address is denied by the first rule',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Deny', source: { notNets: ['10.0.0.0/16'] } }, { action: 'Allow' }],
        }),
      ],
    },
    from: EXTERNAL,
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Deny)',
  },
  {
    name: 'source notNets: an inside address skips the deny and is allowed',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Deny', source: { notNets: ['10.0.0.0/16'] } }, { action: 'Allow' }],
        }),
      ],
    },
    from: 'client',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db rule 1 (Allow)',
  },
  {
    name: 'egress destination nets: traffic to an address outside is not allowed',
    add: {
      globalNetworkPolicies: [
        gnp('web-out', {
          selector: "app == 'web'",
          types: ['Egress'],
          egress: [{ action: 'Allow', destination: { nets: ['10.0.0.0/16'] } }],
        }),
      ],
    },
    from: 'web',
    to: EXTERNAL,
    protocol: 'tcp',
    port: 443,
    verdict: 'deny',
    decided: 'egress: end of tier default',
  },
  // ---- ports ----------------------------------------------------------------------------------
  {
    name: 'a port range admits a port inside it',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['3000:4000'] } }],
        }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Allow)',
  },
  {
    name: 'a port range does not admit a port outside it',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['3000:4000'] } }],
        }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 4001,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  {
    name: 'notPorts excludes the listed port',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', protocol: 'TCP', destination: { notPorts: [22] } }],
        }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 22,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  {
    name: 'a named port matches the number the destination endpoint declares',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] } }],
        }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 8080,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Allow)',
  },
  {
    name: 'a named port does not match another number',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] } }],
        }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 8081,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  {
    name: 'a named port declared for TCP does not match UDP',
    add: {
      globalNetworkPolicies: [
        gnp('db', { selector: dbSel, ingress: [{ action: 'Allow', destination: { ports: ['http'] } }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'udp',
    port: 8080,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  // ---- protocols ------------------------------------------------------------------------------
  {
    name: 'a protocol number matches the named protocol',
    add: {
      globalNetworkPolicies: [gnp('db', { selector: dbSel, ingress: [{ action: 'Allow', protocol: 6 }] })],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Allow)',
  },
  {
    name: 'notProtocol UDP admits TCP',
    add: {
      globalNetworkPolicies: [
        gnp('db', { selector: dbSel, ingress: [{ action: 'Allow', notProtocol: 'UDP' }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 53,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Allow)',
  },
  {
    name: 'notProtocol UDP rejects UDP',
    add: {
      globalNetworkPolicies: [
        gnp('db', { selector: dbSel, ingress: [{ action: 'Allow', notProtocol: 'UDP' }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'udp',
    port: 53,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  // ---- ICMP -----------------------------------------------------------------------------------
  {
    name: 'icmp type 8 admits an echo request',
    add: {
      globalNetworkPolicies: [
        gnp('db', { selector: dbSel, ingress: [{ action: 'Allow', protocol: 'ICMP', icmp: { type: 8 } }] }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'icmp',
    icmpType: 8,
    icmpCode: 0,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Allow)',
  },
  {
    name: 'icmp type and code must both match',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', protocol: 'ICMP', icmp: { type: 3, code: 4 } }],
        }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'icmp',
    icmpType: 3,
    icmpCode: 1,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  {
    name: 'notICMP type 8 skips echo requests',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', protocol: 'ICMP', notICMP: { type: 8 } }],
        }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'icmp',
    icmpType: 8,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  {
    name: 'notICMP type 8 admits other ICMP types',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', protocol: 'ICMP', notICMP: { type: 8 } }],
        }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'icmp',
    icmpType: 0,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Allow)',
  },
  // ---- IPv6 -----------------------------------------------------------------------------------
  {
    name: 'ipVersion 6 admits IPv6 traffic',
    add: {
      globalNetworkPolicies: [
        gnp('db6', { selector: "app == 'db6'", ingress: [{ action: 'Allow', ipVersion: 6 }] }),
      ],
    },
    from: 'web6',
    to: 'db6',
    protocol: 'tcp',
    port: 5432,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db6 rule 0 (Allow)',
  },
  {
    name: 'ipVersion 4 does not admit IPv6 traffic',
    add: {
      globalNetworkPolicies: [
        gnp('db6', { selector: "app == 'db6'", ingress: [{ action: 'Allow', ipVersion: 4 }] }),
      ],
    },
    from: 'web6',
    to: 'db6',
    protocol: 'tcp',
    port: 5432,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  {
    name: 'IPv6 nets match an IPv6 source and ICMPv6',
    add: {
      globalNetworkPolicies: [
        gnp('db6', {
          selector: "app == 'db6'",
          ingress: [{ action: 'Allow', protocol: 'ICMPv6', source: { nets: ['2001:db8::/64'] } }],
        }),
      ],
    },
    from: EXTERNAL6,
    to: 'db6',
    protocol: 'icmpv6',
    icmpType: 128,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db6 rule 0 (Allow)',
  },
  {
    name: 'IPv4 nets never match an IPv6 address',
    add: {
      globalNetworkPolicies: [
        gnp('db6', {
          selector: "app == 'db6'",
          ingress: [{ action: 'Allow', source: { nets: ['0.0.0.0/0'] } }],
        }),
      ],
    },
    from: EXTERNAL6,
    to: 'db6',
    protocol: 'tcp',
    port: 5432,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  // ---- selectors on both sides, host endpoints ------------------------------------------------
  {
    name: 'egress policy with a destination selector denies at the source',
    add: {
      globalNetworkPolicies: [
        gnp('web-no-db', {
          selector: "app == 'web'",
          egress: [{ action: 'Deny', destination: { selector: dbSel } }, { action: 'Allow' }],
        }),
      ],
    },
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'egress: GlobalNetworkPolicy web-no-db rule 0 (Deny)',
  },
  {
    name: 'source notSelector excludes matching endpoints only',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', source: { notSelector: "app == 'client'" } }],
        }),
      ],
    },
    from: 'client',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'deny',
    decided: 'ingress: end of tier default',
  },
  {
    name: 'source notSelector admits an address that is not an endpoint',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', source: { notSelector: "app == 'client'" } }],
        }),
      ],
    },
    from: EXTERNAL,
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Allow)',
  },
  {
    name: 'a host endpoint is policed by the same engine',
    add: {
      globalNetworkPolicies: [
        gnp('ssh', {
          selector: "role == 'host'",
          ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [22] } }],
        }),
      ],
    },
    from: EXTERNAL,
    to: 'h1',
    protocol: 'tcp',
    port: 22,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy ssh rule 0 (Allow)',
  },
  {
    name: 'a host endpoint with no policy and no profile denies',
    add: {},
    from: EXTERNAL,
    to: '192.168.0.10',
    protocol: 'tcp',
    port: 22,
    verdict: 'deny',
    decided: 'ingress: no profile matched (the endpoint has no profiles)',
  },
  {
    name: 'a host endpoint source matches rule namespaceSelector global()',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', source: { namespaceSelector: 'global()' } }],
        }),
      ],
    },
    from: 'h1',
    to: 'db',
    protocol: 'icmp',
    verdict: 'deny', // egress from h1 is denied first: it has no policy and no profile
    decided: 'egress: no profile matched (the endpoint has no profiles)',
  },
  {
    name: 'a host endpoint with a profile reaches a workload admitted by global()',
    add: {
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', source: { namespaceSelector: 'global()' } }],
        }),
      ],
      hostEndpoints: [hep('h2', { role: 'host' }, '192.168.0.11', ['open-egress'])],
    },
    from: 'h2',
    to: 'db',
    protocol: 'icmp',
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Allow)',
  },
  {
    name: 'profile labelsToApply are inherited and seen by policy selectors',
    add: {
      profiles: [profile('tagged', { labelsToApply: { team: 'payments' }, egress: [{ action: 'Allow' }] })],
      globalNetworkPolicies: [
        gnp('db', {
          selector: dbSel,
          ingress: [{ action: 'Allow', source: { selector: "team == 'payments'" } }],
        }),
      ],
    },
    endpoints: [
      wep('prod', 'web', { app: 'web' }, '10.0.0.1/32', { profiles: ['tagged'] }),
      wep('prod', 'db', { app: 'db' }, '10.0.0.2/32'),
    ],
    from: 'web',
    to: 'db',
    protocol: 'tcp',
    port: 3306,
    verdict: 'allow',
    decided: 'ingress: GlobalNetworkPolicy db rule 0 (Allow)',
  },
];

function decidedBy(e: Explanation): string {
  if (e.egress?.verdict === 'deny' || e.ingress === undefined) {
    return e.egress ? `egress: ${describeDecision(e.egress.decision)}` : 'nothing (no endpoint involved)';
  }
  return `ingress: ${describeDecision(e.ingress.decision)}`;
}

describe('policy scenarios (Calico v3 semantics)', () => {
  test('there are at least 40 scenarios', () => {
    assert.ok(SCENARIOS.length >= 40, `only ${SCENARIOS.length}`);
  });
  for (const s of SCENARIOS) {
    test(`${s.name}: ${s.verdict} by ${s.decided}`, () => {
      const resources: PolicyResources = {
        ...s.add,
        workloadEndpoints: s.endpoints ?? BASE.workloadEndpoints,
        hostEndpoints: [...BASE.hostEndpoints, ...(s.add.hostEndpoints ?? [])],
        profiles: [...BASE.profiles, ...(s.add.profiles ?? [])],
        namespaces: BASE.namespaces,
      };
      const e = explainTraffic(resources, {
        from: s.from,
        to: s.to,
        protocol: s.protocol,
        ...(s.port !== undefined ? { port: s.port } : {}),
        ...(s.icmpType !== undefined ? { icmpType: s.icmpType } : {}),
        ...(s.icmpCode !== undefined ? { icmpCode: s.icmpCode } : {}),
      });
      assert.equal(e.verdict, s.verdict);
      assert.equal(decidedBy(e), s.decided);
    });
  }
});
