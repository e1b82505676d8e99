import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  GlobalNetworkPolicy,
  GlobalNetworkPolicySpec,
  HostEndpoint,
  NetworkPolicy,
  Profile,
  WorkloadEndpoint,
} from '../../../src/api/index.js';
import {
  hostEndpointView,
  policyTypes,
  profileMap,
  resolveEndpointPolicies,
  workloadEndpointView,
} from '../../../src/policy/index.js';

const V3 = 'projectcalico.org/v3' as const;
const gnp = (name: string, spec: GlobalNetworkPolicySpec): GlobalNetworkPolicy => ({
  apiVersion: V3,
  kind: 'GlobalNetworkPolicy',
  metadata: { name },
  spec,
});
const np = (namespace: string, name: string, spec: GlobalNetworkPolicySpec): NetworkPolicy => ({
  apiVersion: V3,
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
});
const profile = (name: string, labelsToApply?: Record<string, string>): Profile => ({
  apiVersion: V3,
  kind: 'Profile',
  metadata: { name },
  spec: labelsToApply ? { labelsToApply } : {},
});
const wep: WorkloadEndpoint = {
  apiVersion: V3,
  kind: 'WorkloadEndpoint',
  metadata: { name: 'node1-k8s-db-eth0', namespace: 'prod', labels: { app: 'db', team: 'own' } },
  spec: {
    orchestrator: 'k8s',
    endpoint: 'eth0',
    ipNetworks: ['10.0.0.2/32'],
    profiles: ['p1', 'p2', 'gone'],
  },
};
const profiles = [profile('p1', { team: 'p1', tier: 'p1' }), profile('p2', { tier: 'p2', zone: 'p2' })];
const endpoint = workloadEndpointView(wep, profileMap(profiles));

describe('endpoint view', () => {
  test('own labels win over profile labels, and the first profile wins over later ones', () => {
    assert.deepEqual(endpoint.labels, {
      app: 'db',
      team: 'own',
      tier: 'p1',
      zone: 'p2',
      'projectcalico.org/namespace': 'prod',
      'projectcalico.org/orchestrator': 'k8s',
    });
  });
  test('a workload endpoint stored without namespace is in default', () => {
    const { namespace: _ns, ...metadata } = wep.metadata;
    assert.equal(workloadEndpointView({ ...wep, metadata }, new Map()).namespace, 'default');
  });
  test('a workload can be named by namespace/name or by spec.endpoint', () => {
    assert.deepEqual(endpoint.aliases, ['prod/node1-k8s-db-eth0', 'eth0']);
  });
  test('a host endpoint is not namespaced and its expectedIPs are host prefixes', () => {
    const hep: HostEndpoint = {
      apiVersion: V3,
      kind: 'HostEndpoint',
      metadata: { name: 'h1', labels: { role: 'host' } },
      spec: { node: 'n1', interfaceName: 'eth0', expectedIPs: ['192.168.0.1', 'fd00::1'] },
    };
    const view = hostEndpointView(hep, new Map());
    assert.equal(view.namespace, undefined);
    assert.deepEqual(
      view.networks.map((n) => [n.family, n.prefixLength]),
      [
        [4, 32],
        [6, 128],
      ],
    );
  });
});

/** Each row: spec rules, explicit types, inferred types. */
const TYPES: ReadonlyArray<[string, GlobalNetworkPolicySpec, string[]]> = [
  ['no rules', {}, ['Ingress']],
  ['ingress rules only', { ingress: [{ action: 'Allow' }] }, ['Ingress']],
  ['egress rules only', { egress: [{ action: 'Allow' }] }, ['Egress']],
  ['both', { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] }, ['Ingress', 'Egress']],
  ['explicit types win', { types: ['Egress'], ingress: [{ action: 'Allow' }] }, ['Egress']],
];

describe('policy types', () => {
  for (const [name, spec, expected] of TYPES) {
    test(`${name}: ${expected.join(', ')}`, () => assert.deepEqual(policyTypes(gnp('p', spec)), expected));
  }
});

describe('resolveEndpointPolicies', () => {
  const policies = [
    gnp('z-no-order', { selector: "app == 'db'" }),
    gnp('b-order-10', { order: 10, selector: "app == 'db'" }),
    gnp('a-order-10', { order: 10, selector: "app == 'db'" }),
    gnp('c-order-1', { order: 1, selector: 'all()' }),
    gnp('other-app', { order: 1, selector: "app == 'web'" }),
    gnp('egress-only', { order: 1, selector: 'all()', types: ['Egress'] }),
    np('prod', 'ns-policy', { order: 5, selector: "app == 'db'" }),
    np('dev', 'other-ns', { order: 5, selector: 'all()' }),
    gnp('sec.first', { tier: 'security', selector: 'all()' }),
    gnp('late.x', { tier: 'late', selector: 'all()' }),
    gnp('early.x', { tier: 'early', selector: 'all()' }),
    gnp('ns-selected', { namespaceSelector: "projectcalico.org/name == 'prod'", selector: 'all()' }),
    gnp('ns-other', { namespaceSelector: "projectcalico.org/name == 'dev'", selector: 'all()' }),
    gnp('global-only', { namespaceSelector: 'global()', selector: 'all()' }),
  ];
  const resolved = resolveEndpointPolicies(endpoint, policies, profiles, 'ingress', {
    tiers: [
      { name: 'security', order: 100 },
      { name: 'early', order: 1 },
    ],
  });

  test('tiers sort by order (default tier 1,000,000, unordered last), then name', () => {
    assert.deepEqual(
      resolved.tiers.map((t) => t.name),
      ['early', 'security', 'default', 'late'],
    );
  });
  test('inside a tier policies sort by order, unordered last, then by name', () => {
    const tier = resolved.tiers.find((t) => t.name === 'default');
    assert.deepEqual(
      tier?.policies.map((p) => p.key),
      ['c-order-1', 'prod/ns-policy', 'a-order-10', 'b-order-10', 'ns-selected', 'z-no-order'],
    );
  });
  test('profiles keep the endpoint order, a missing one is kept as missing', () => {
    assert.deepEqual(
      resolved.profiles.map((p) => [p.name, p.profile !== undefined]),
      [
        ['p1', true],
        ['p2', true],
        ['gone', false],
      ],
    );
  });
  test('egress sees only policies whose types include Egress', () => {
    const egress = resolveEndpointPolicies(endpoint, policies, profiles, 'egress');
    assert.deepEqual(
      egress.tiers.flatMap((t) => t.policies.map((p) => p.key)),
      ['egress-only'],
    );
  });
});
