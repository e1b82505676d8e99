import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { API_VERSION, type Resource } from '../../../src/api/index.js';
import { FelixCalculator, type ResourceUpdate } from '../../../src/felix/calc/graph.js';
import { renderDataplane } from '../../../src/felix/rules/render.js';
import type { DesiredDataplane } from '../../../src/felix/model.js';
import {
  profileMap,
  resolveEndpointPolicies,
  workloadEndpointView,
  type PolicyResource,
} from '../../../src/policy/index.js';
import type { FelixState } from '../../../src/felix/calc/graph.js';
import type { Profile, WorkloadEndpoint } from '../../../src/api/index.js';

const HOST = 'h1';

/** A small cluster vocabulary, so random updates often collide with each other's selectors. */
const APPS = ['a', 'b', 'c'];
const ROLES = ['x', 'y'];
const NAMESPACES = ['default', 'ns2'];

function wep(i: number, opts: { host: string; app: string; role: string; ip: number; profile?: string }) {
  const ns = NAMESPACES[i % 2] as string;
  return {
    apiVersion: API_VERSION,
    kind: 'WorkloadEndpoint',
    metadata: { name: `w${i}`, namespace: ns, labels: { app: opts.app, role: opts.role } },
    spec: {
      node: opts.host,
      orchestrator: 'k8s',
      workload: `w${i}`,
      endpoint: 'eth0',
      interfaceName: `cali${String(i).padStart(4, '0')}`,
      ipNetworks: [`10.0.${opts.ip}.${i + 1}/32`],
      ...(opts.profile ? { profiles: [opts.profile] } : {}),
    },
  } as Resource;
}

function policy(
  p: number,
  opts: { app: string; role: string; order: number; namespaced: boolean; nsSelector?: boolean },
) {
  const spec = {
    order: opts.order,
    selector: `app == "${opts.app}"`,
    ...(opts.nsSelector && !opts.namespaced ? { namespaceSelector: 'projectcalico.org/name == "ns2"' } : {}),
    ingress: [
      { action: 'Allow', protocol: 'TCP', source: { selector: `role == "${opts.role}"` } },
      { action: 'Deny', source: { notSelector: `app == "${opts.app}"` } },
      // A rule namespaceSelector: a set the calculation fills by scanning every endpoint's view.
      ...(opts.nsSelector
        ? [
            {
              action: 'Allow',
              protocol: 'UDP',
              source: { namespaceSelector: 'projectcalico.org/name == "ns2"' },
            },
          ]
        : []),
    ],
    egress: [{ action: 'Allow', destination: { nets: ['192.168.0.0/24', '172.16.0.0/12'] } }],
  };
  return (
    opts.namespaced
      ? {
          apiVersion: API_VERSION,
          kind: 'NetworkPolicy',
          metadata: { name: `p${p}`, namespace: 'ns2' },
          spec,
        }
      : { apiVersion: API_VERSION, kind: 'GlobalNetworkPolicy', metadata: { name: `p${p}` }, spec }
  ) as Resource;
}

function profile(name: string, role: string) {
  return {
    apiVersion: API_VERSION,
    kind: 'Profile',
    metadata: { name },
    spec: {
      labelsToApply: { role },
      ingress: [{ action: 'Allow', source: { selector: `role == "${role}"` } }],
    },
  } as Resource;
}

type Op =
  | { op: 'wep'; i: number; local: boolean; app: number; role: number; ip: number; profile: boolean }
  | { op: 'delWep'; i: number }
  | {
      op: 'policy';
      p: number;
      app: number;
      role: number;
      order: number;
      namespaced: boolean;
      nsSelector: boolean;
    }
  | { op: 'delPolicy'; p: number; namespaced: boolean }
  | { op: 'profile'; role: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  // Few endpoints and apps, so endpoints often share labels across namespaces and policies.
  fc.record({
    op: fc.constant('wep' as const),
    i: fc.nat(5),
    local: fc.boolean(),
    app: fc.nat(1),
    role: fc.nat(1),
    ip: fc.nat(1),
    profile: fc.boolean(),
  }),
  fc.record({ op: fc.constant('delWep' as const), i: fc.nat(5) }),
  fc.record({
    op: fc.constant('policy' as const),
    p: fc.nat(3),
    app: fc.nat(2),
    role: fc.nat(1),
    order: fc.nat(3),
    namespaced: fc.boolean(),
    nsSelector: fc.boolean(),
  }),
  fc.record({ op: fc.constant('delPolicy' as const), p: fc.nat(3), namespaced: fc.boolean() }),
  fc.record({ op: fc.constant('profile' as const), role: fc.nat(1) }),
);

/** Applies an op to the incremental calculator and to the plain record of current resources. */
function toUpdate(o: Op): { key: string; update: ResourceUpdate } {
  switch (o.op) {
    case 'wep': {
      const r = wep(o.i, {
        host: o.local ? HOST : 'h2',
        app: APPS[o.app] as string,
        role: ROLES[o.role] as string,
        ip: o.ip,
        ...(o.profile ? { profile: 'prof' } : {}),
      });
      return { key: `wep/${o.i}`, update: { type: 'set', resource: r } };
    }
    case 'delWep':
      return {
        key: `wep/${o.i}`,
        update: {
          type: 'delete',
          kind: 'WorkloadEndpoint',
          name: `w${o.i}`,
          namespace: NAMESPACES[o.i % 2] as string,
        },
      };
    case 'policy': {
      const r = policy(o.p, {
        app: APPS[o.app] as string,
        role: ROLES[o.role] as string,
        order: o.order,
        namespaced: o.namespaced,
        nsSelector: o.nsSelector,
      });
      return { key: `${o.namespaced ? 'np' : 'gnp'}/${o.p}`, update: { type: 'set', resource: r } };
    }
    case 'delPolicy':
      return {
        key: `${o.namespaced ? 'np' : 'gnp'}/${o.p}`,
        update: o.namespaced
          ? { type: 'delete', kind: 'NetworkPolicy', name: `p${o.p}`, namespace: 'ns2' }
          : { type: 'delete', kind: 'GlobalNetworkPolicy', name: `p${o.p}` },
      };
    case 'profile':
      return {
        key: 'profile/prof',
        update: { type: 'set', resource: profile('prof', ROLES[o.role] as string) },
      };
    default: {
      const never: never = o;
      throw new Error(`unknown op ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The oracle the calculator's shortcuts (policy index, plans shared per group) must agree with:
 * every local endpoint resolved against every policy by the policy module itself.
 */
function resolvedDirectly(resources: readonly Resource[], state: FelixState): unknown[] {
  const policies = resources.filter(
    (r): r is PolicyResource => r.kind === 'GlobalNetworkPolicy' || r.kind === 'NetworkPolicy',
  );
  const profiles = resources.filter((r): r is Profile => r.kind === 'Profile');
  const byKey = new Map(
    resources
      .filter((r): r is WorkloadEndpoint => r.kind === 'WorkloadEndpoint')
      .map((w) => [`${w.metadata.namespace}/${w.metadata.name}`, w]),
  );
  return state.endpoints.map((e) => {
    const wep = byKey.get(e.key);
    assert.ok(wep, `endpoint ${e.key} exists`);
    const view = workloadEndpointView(wep, profileMap(profiles));
    return (['ingress', 'egress'] as const).map((dir) =>
      resolveEndpointPolicies(view, policies, profiles, dir).tiers.map((t) => t.policies.map((p) => p.key)),
    );
  });
}

/** Plain data, so deepEqual compares contents and not the memoised objects' identities. */
const plain = (d: DesiredDataplane): unknown => JSON.parse(JSON.stringify(d));

describe('the incremental calculation graph', () => {
  test('after any sequence of updates it renders exactly what a fresh calculation renders', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 25 }), (ops) => {
        const incremental = new FelixCalculator(HOST);
        const current = new Map<string, Resource>();
        for (const o of ops) {
          const { key, update } = toUpdate(o);
          incremental.apply(update);
          if (update.type === 'set') current.set(key, update.resource);
          else current.delete(key);
          // Render after every step, so stale caches from earlier steps would show.
          const state = incremental.state();
          assert.deepEqual(
            state.endpoints.map((e) =>
              [e.ingress, e.egress].map((plan) => plan.tiers.map((t) => t.policies)),
            ),
            resolvedDirectly([...current.values()], state),
          );
          const got = renderDataplane(state);
          const fresh = new FelixCalculator(HOST);
          for (const resource of current.values()) fresh.apply({ type: 'set', resource });
          assert.deepEqual(plain(got), plain(renderDataplane(fresh.state())));
        }
      }),
      {
        numRuns: 60,
        // A shape random sequences seldom reach: same labels, different namespaces, and a policy
        // whose namespaceSelector admits only one of them (plans must not be shared between them).
        examples: [
          [
            [
              { op: 'policy', p: 0, app: 0, role: 0, order: 0, namespaced: false, nsSelector: true },
              { op: 'wep', i: 0, local: true, app: 0, role: 0, ip: 0, profile: false },
              { op: 'wep', i: 1, local: true, app: 0, role: 0, ip: 0, profile: false },
            ],
          ],
        ],
      },
    );
  });

  test('endpoints with the same labels in different namespaces get only the policies their namespace admits', () => {
    const calc = new FelixCalculator(HOST);
    const nsPolicy = policy(0, { app: 'a', role: 'x', order: 1, namespaced: false, nsSelector: true });
    calc.apply({ type: 'set', resource: nsPolicy });
    // w0 is in `default`, w1 in `ns2`; both app a, resolved one after the other.
    calc.apply({ type: 'set', resource: wep(0, { host: HOST, app: 'a', role: 'x', ip: 0 }) });
    calc.state();
    calc.apply({ type: 'set', resource: wep(1, { host: HOST, app: 'a', role: 'x', ip: 0 }) });
    const tiers = calc.state().endpoints.map((e) => [e.key, e.ingress.tiers.flatMap((t) => t.policies)]);
    assert.deepEqual(tiers, [
      ['default/w0', []],
      ['ns2/w1', ['p0']],
    ]);
  });

  const base = (): FelixCalculator => {
    const calc = new FelixCalculator(HOST);
    for (let i = 0; i < 6; i++)
      calc.apply({
        type: 'set',
        resource: wep(i, { host: i < 3 ? HOST : 'h2', app: APPS[i % 3] as string, role: 'x', ip: 0 }),
      });
    for (let p = 0; p < 3; p++)
      calc.apply({
        type: 'set',
        resource: policy(p, { app: APPS[p] as string, role: 'y', order: p, namespaced: false }),
      });
    return calc;
  };
  const relabel = (i: number, role: string): ResourceUpdate => ({
    type: 'set',
    resource: wep(i, { host: i < 3 ? HOST : 'h2', app: APPS[i % 3] as string, role, ip: 0 }),
  });

  const identityCases: {
    name: string;
    update: ResourceUpdate;
    sameChains: boolean;
    changedSets: number;
  }[] = [
    {
      name: "a remote endpoint's role change keeps every chain object and changes only the role's set",
      update: relabel(4, 'y'),
      sameChains: true,
      changedSets: 1,
    },
    {
      name: "a local endpoint's role change (its policies stay) keeps every chain object",
      update: relabel(1, 'y'),
      sameChains: true,
      changedSets: 1,
    },
    {
      name: 'a policy order change re-renders chains',
      update: {
        type: 'set',
        resource: policy(0, { app: 'a', role: 'y', order: 9, namespaced: false }),
      },
      sameChains: false,
      changedSets: 0,
    },
  ];
  for (const c of identityCases)
    test(c.name, () => {
      const calc = base();
      const before = renderDataplane(calc.state());
      calc.apply(c.update);
      const after = renderDataplane(calc.state());
      const same = after.iptables[4].chains.filter.every((chain) =>
        before.iptables[4].chains.filter.includes(chain),
      );
      assert.equal(same, c.sameChains);
      // IPv4 and IPv6 halves of a changed selector set both get a new member array.
      const changed = after.ipsets.filter((s) => !before.ipsets.some((b) => b.members === s.members));
      assert.equal(changed.length, c.changedSets * 2);
    });
});
