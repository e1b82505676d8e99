import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { API_VERSION, type Resource } from '../../../src/api/index.js';
import { FelixCalculator } from '../../../src/felix/calc/graph.js';
import { canonicalNetworkText, memberTextsOf } from '../../../src/felix/calc/members.js';
import { renderDataplane } from '../../../src/felix/rules/render.js';
import { canonicalCidr, formatCidr, parseIpOrCidr } from '../../../src/net/ip.js';

const HOST = 'h1';

function wep(name: string, ns: string, host: string, ip: string, labels: Record<string, string>): Resource {
  return {
    apiVersion: API_VERSION,
    kind: 'WorkloadEndpoint',
    metadata: { name, namespace: ns, labels },
    spec: {
      node: host,
      orchestrator: 'k8s',
      workload: name,
      endpoint: 'eth0',
      interfaceName: `cali-${name}`,
      ipNetworks: [ip],
    },
  };
}

/** One local endpoint selected by a policy whose rule admits `role == "db"` in namespace ns2 only. */
const policy: Resource = {
  apiVersion: API_VERSION,
  kind: 'GlobalNetworkPolicy',
  metadata: { name: 'from-ns2-db' },
  spec: {
    selector: 'app == "front"',
    ingress: [
      {
        action: 'Allow',
        source: { selector: 'role == "db"', namespaceSelector: 'projectcalico.org/name == "ns2"' },
      },
    ],
  },
};

const membersOfOnlySet = (calc: FelixCalculator): readonly string[] => {
  const sets = calc.state().selectorSets;
  assert.equal(sets.length, 1, 'the rule needs one selector set');
  return (sets[0] as (typeof sets)[number]).members[4];
};

describe('a rule with a namespaceSelector: its set lists matching endpoints of the whole cluster', () => {
  const cases: { name: string; endpoints: Resource[]; expected: string[] }[] = [
    {
      name: 'remote and local endpoints in the admitted namespace with the label',
      endpoints: [
        wep('a', 'ns2', 'h2', '10.0.0.1/32', { role: 'db' }),
        wep('b', 'ns2', HOST, '10.0.0.2/32', { role: 'db' }),
        wep('c', 'default', 'h2', '10.0.0.3/32', { role: 'db' }),
        wep('d', 'ns2', 'h3', '10.0.0.4/32', { role: 'web' }),
      ],
      expected: ['10.0.0.1/32', '10.0.0.2/32'],
    },
    {
      name: 'no endpoint in the admitted namespace',
      endpoints: [wep('c', 'default', 'h2', '10.0.0.3/32', { role: 'db' })],
      expected: [],
    },
  ];
  for (const c of cases)
    test(c.name, () => {
      const calc = new FelixCalculator(HOST);
      for (const resource of [
        wep('front', 'default', HOST, '10.9.9.9/32', { app: 'front' }),
        policy,
        ...c.endpoints,
      ])
        calc.apply({ type: 'set', resource });
      assert.deepEqual(membersOfOnlySet(calc), c.expected);
    });

  test('a remote endpoint relabelled or readdressed after the set exists moves in and out of it', () => {
    const calc = new FelixCalculator(HOST);
    for (const resource of [
      wep('front', 'default', HOST, '10.9.9.9/32', { app: 'front' }),
      policy,
      wep('a', 'ns2', 'h2', '10.0.0.1/32', { role: 'web' }),
    ])
      calc.apply({ type: 'set', resource });
    assert.deepEqual(membersOfOnlySet(calc), []);
    const steps: { endpoint: Resource; expected: string[] }[] = [
      { endpoint: wep('a', 'ns2', 'h2', '10.0.0.1/32', { role: 'db' }), expected: ['10.0.0.1/32'] },
      { endpoint: wep('a', 'ns2', 'h2', '10.0.0.7/32', { role: 'db' }), expected: ['10.0.0.7/32'] },
      { endpoint: wep('a', 'ns2', 'h2', '10.0.0.7/32', { role: 'web' }), expected: [] },
    ];
    for (const s of steps) {
      calc.apply({ type: 'set', resource: s.endpoint });
      assert.deepEqual(membersOfOnlySet(calc), s.expected);
    }
  });
});

describe('endpoint addresses as ipset members', () => {
  const reference = (texts: readonly string[]) => {
    const out: { 4: string[]; 6: string[] } = { 4: [], 6: [] };
    for (const t of texts) {
      const c = parseIpOrCidr(t);
      if (c) out[c.family].push(formatCidr(c));
    }
    return out;
  };

  test('examples: canonical text as it is, the rest as parsed and printed, invalid text left out', () => {
    const cases: { networks: string[]; v4: string[]; v6: string[] }[] = [
      { networks: ['10.0.3.7/32'], v4: ['10.0.3.7/32'], v6: [] },
      { networks: ['10.0.3.7'], v4: ['10.0.3.7/32'], v6: [] },
      { networks: ['10.0.3.7/08', '10.0.3.07/32'], v4: ['10.0.3.7/8'], v6: [] },
      { networks: ['10.0.3.256/32', '10.0.3.7/33', 'x'], v4: [], v6: [] },
      { networks: ['FD00::1/128', '192.168.0.0/16'], v4: ['192.168.0.0/16'], v6: ['fd00::1/128'] },
    ];
    for (const c of cases) {
      const got = memberTextsOf(c.networks);
      assert.deepEqual({ v4: [...got[4]], v6: [...got[6]] }, { v4: c.v4, v6: c.v6 }, c.networks.join(' '));
    }
  });

  test('always the same text as parsing and printing each address', () => {
    const octet = fc.oneof(fc.nat(300).map(String), fc.constantFrom('00', '01', '010', '255', '256'));
    const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
    const prefix = fc.oneof(fc.nat(40).map(String), fc.constantFrom('', '08', '032'));
    const text = fc.oneof(
      fc.tuple(ipv4, prefix).map(([ip, p]) => (p === '' ? ip : `${ip}/${p}`)),
      fc.constantFrom('fd00::1/128', '::ffff:10.0.0.1/128', '2001:DB8::/32', '10.0.0.1/32/1', ''),
    );
    fc.assert(
      fc.property(fc.array(text, { maxLength: 4 }), (texts) => {
        const got = memberTextsOf(texts);
        const want = reference(texts);
        assert.deepEqual([...got[4]], want[4]);
        assert.deepEqual([...got[6]], want[6]);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the same rule in several policies', () => {
  const rule = { action: 'Allow' as const, protocol: 'TCP' as const, source: { selector: 'role == "db"' } };
  const np = (ns: string): Resource => ({
    apiVersion: API_VERSION,
    kind: 'NetworkPolicy',
    metadata: { name: 'allow-db', namespace: ns },
    spec: { selector: 'all()', ingress: [rule] },
  });
  const gnp = (name: string): Resource => ({
    apiVersion: API_VERSION,
    kind: 'GlobalNetworkPolicy',
    metadata: { name },
    spec: { selector: 'all()', ingress: [rule] },
  });
  const cases: { name: string; policies: Resource[]; distinctSets: number }[] = [
    { name: 'two global policies match one set', policies: [gnp('a'), gnp('b')], distinctSets: 1 },
    {
      name: 'namespaced policies in two namespaces match a set each (the namespace scopes it)',
      policies: [np('ns1'), np('ns2')],
      distinctSets: 2,
    },
  ];
  for (const c of cases)
    test(c.name, () => {
      const calc = new FelixCalculator(HOST);
      for (const resource of [
        wep('x1', 'ns1', HOST, '10.0.0.1/32', { role: 'db' }),
        wep('x2', 'ns2', HOST, '10.0.0.2/32', { role: 'db' }),
        ...c.policies,
      ])
        calc.apply({ type: 'set', resource });
      const dp = renderDataplane(calc.state(), { ipVersions: [4] });
      const used = new Set(
        dp.iptables[4].chains.filter
          .filter((ch) => ch.name.startsWith('cali-pi-'))
          .flatMap((ch) => ch.rules.map((r) => /--match-set (\S+)/.exec(r.match)?.[1]))
          .filter((x) => x !== undefined),
      );
      assert.equal(used.size, c.distinctSets);
      for (const name of used) assert.ok(dp.ipsets.some((s) => s.name === name && s.members.length > 0));
    });
});

describe("a local endpoint's networks in canonical form", () => {
  test('always the text canonicalCidr gives (the input text where it does not parse)', () => {
    const octet = fc.oneof(fc.nat(300).map(String), fc.constantFrom('00', '01', '255', '256'));
    const text = fc.oneof(
      fc
        .tuple(octet, octet, octet, octet, fc.oneof(fc.nat(40).map(String), fc.constantFrom('032', '')))
        .map(([a, b, c, d, p]) => `${a}.${b}.${c}.${d}${p === '' ? '' : `/${p}`}`),
      fc.constantFrom('fd00::1/128', 'fd00::1/64', '10.0.0.1/8', 'x/32', ''),
    );
    fc.assert(
      fc.property(text, (t) => assert.equal(canonicalNetworkText(t), canonicalCidr(t) ?? t)),
      { numRuns: 3000 },
    );
  });
});
