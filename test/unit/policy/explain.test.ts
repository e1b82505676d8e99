import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { GlobalNetworkPolicy, Profile, WorkloadEndpoint } from '../../../src/api/index.js';
import {
  ExplainInputError,
  explainTraffic,
  formatExplanation,
  type PolicyResources,
} from '../../../src/policy/index.js';

const V3 = 'projectcalico.org/v3' as const;
const wep = (
  name: string,
  labels: Record<string, string>,
  ips: string[],
  profiles: string[] = [],
): WorkloadEndpoint => ({
  apiVersion: V3,
  kind: 'WorkloadEndpoint',
  metadata: { name, namespace: 'default', labels },
  spec: { ipNetworks: ips, profiles },
});
const open: Profile = {
  apiVersion: V3,
  kind: 'Profile',
  metadata: { name: 'open' },
  spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
};
const world = (policies: GlobalNetworkPolicy[] = []): PolicyResources => ({
  workloadEndpoints: [
    wep('a', { app: 'a' }, ['10.0.0.1/32', 'fd00::1/128'], ['open']),
    wep('b', { app: 'b' }, ['10.0.0.2/32', 'fd00::2/128'], ['open']),
    wep('v6only', { app: 'v6' }, ['fd00::3/128'], ['open']),
    wep('dup', { app: 'x' }, ['10.0.0.8/32']),
  ],
  profiles: [open],
  globalNetworkPolicies: policies,
});
const gnp = (name: string, spec: GlobalNetworkPolicy['spec']): GlobalNetworkPolicy => ({
  apiVersion: V3,
  kind: 'GlobalNetworkPolicy',
  metadata: { name },
  spec,
});

describe('explain input', () => {
  /** Each row: request parts, the message the error must contain. */
  const BAD: ReadonlyArray<
    [from: string, to: string, protocol: string, port: number | undefined, message: RegExp]
  > = [
    ['nobody', 'b', 'tcp', 80, /--from "nobody" is neither an IP address nor the name/],
    ['a', 'nobody', 'tcp', 80, /--to "nobody" is neither/],
    ['a', 'b', 'gre-ish', 80, /--protocol "gre-ish" is not a protocol/],
    ['a', 'b', 'tcp', undefined, /--port is required for tcp/],
    ['10.0.0.1', 'fd00::2', 'tcp', 80, /different IP versions/],
  ];
  for (const [from, to, protocol, port, message] of BAD) {
    test(`${from} -> ${to} ${protocol}/${port ?? '-'} is refused with ${message}`, () => {
      assert.throws(
        () => explainTraffic(world(), { from, to, protocol, ...(port !== undefined ? { port } : {}) }),
        (e: unknown) => e instanceof ExplainInputError && message.test(e.message),
      );
    });
  }
});

describe('explain paths', () => {
  test('an address that belongs to an endpoint is treated as that endpoint', () => {
    const e = explainTraffic(world(), { from: '10.0.0.1', to: '10.0.0.2', protocol: 'tcp', port: 80 });
    assert.equal(e.source.endpoint?.name, 'a');
    assert.equal(e.destination.endpoint?.name, 'b');
  });
  test('an IPv6-only destination makes the source use its IPv6 address', () => {
    const e = explainTraffic(world(), { from: 'a', to: 'v6only', protocol: 'tcp', port: 80 });
    assert.equal(e.source.address.family, 6);
  });
  test('a source outside our endpoints has no egress step', () => {
    const lines = formatExplanation(
      explainTraffic(world(), { from: '198.51.100.1', to: 'b', protocol: 'udp', port: 53 }),
    );
    assert.ok(
      lines.includes('egress: source 198.51.100.1 is not one of our endpoints, no egress policy'),
      lines.join('\n'),
    );
    assert.equal(lines.at(-1), 'verdict: allow');
  });
  test('a denied egress stops before ingress', () => {
    const e = explainTraffic(world(), { from: 'dup', to: 'b', protocol: 'tcp', port: 80 });
    assert.equal(e.egress?.verdict, 'deny');
    assert.equal(e.ingress, undefined);
    const lines = formatExplanation(e);
    assert.ok(lines.includes('  no profile matched: deny'), lines.join('\n'));
    assert.ok(lines.includes('ingress: not evaluated, the packet never leaves the source'), lines.join('\n'));
    assert.equal(lines.at(-1), 'verdict: deny');
  });
  test('Log, Pass, end of tier and skipped rules each get a line', () => {
    const policies = [
      gnp('log-then-pass', {
        order: 1,
        selector: "app == 'b'",
        ingress: [{ action: 'Log' }, { action: 'Pass', protocol: 'UDP' }],
      }),
      gnp('web-only', {
        order: 2,
        selector: "app == 'b'",
        ingress: [{ action: 'Allow', source: { selector: "app == 'web'" } }],
      }),
    ];
    const lines = formatExplanation(
      explainTraffic(world(policies), { from: 'a', to: 'b', protocol: 'tcp', port: 80 }),
    );
    const expected = [
      '  tier default: GlobalNetworkPolicy log-then-pass ingress rule 0 matches: Log (logged, evaluation continues)',
      '  tier default: GlobalNetworkPolicy log-then-pass: rule 1 does not match: protocol UDP (packet is tcp)',
      '  tier default: GlobalNetworkPolicy log-then-pass: no ingress rule matches, next policy',
      '  tier default: GlobalNetworkPolicy web-only: rule 0 does not match: source.selector app == "web" (endpoint a)',
      '  end of tier default: a policy in this tier applies but none allowed, passed or denied: deny',
      '  a policy applied, so profiles were not consulted: open',
      '  => ingress deny, decided by end of tier default',
      'verdict: deny',
    ];
    for (const line of expected)
      assert.ok(lines.includes(line), `missing ${JSON.stringify(line)} in\n${lines.join('\n')}`);
  });
  test('skipped and Log rules are printed in rule order', () => {
    const policies = [
      gnp('mixed', {
        selector: "app == 'b'",
        ingress: [
          { action: 'Deny', protocol: 'UDP' },
          { action: 'Log' },
          { action: 'Deny', protocol: 'SCTP' },
          { action: 'Allow' },
        ],
      }),
    ];
    const lines = formatExplanation(
      explainTraffic(world(policies), { from: 'a', to: 'b', protocol: 'tcp', port: 80 }),
    );
    const ruleLines = lines.filter((l) => l.includes('GlobalNetworkPolicy mixed') && !l.includes('=>'));
    assert.deepEqual(ruleLines, [
      '  tier default: GlobalNetworkPolicy mixed: rule 0 does not match: protocol UDP (packet is tcp)',
      '  tier default: GlobalNetworkPolicy mixed ingress rule 1 matches: Log (logged, evaluation continues)',
      '  tier default: GlobalNetworkPolicy mixed: rule 2 does not match: protocol SCTP (packet is tcp)',
      '  tier default: GlobalNetworkPolicy mixed ingress rule 3 matches: Allow',
    ]);
  });
  test('Pass out of the last tier is reported before the profiles', () => {
    const policies = [gnp('pass', { selector: "app == 'b'", ingress: [{ action: 'Pass' }] })];
    const lines = formatExplanation(
      explainTraffic(world(policies), { from: 'a', to: 'b', protocol: 'tcp', port: 80 }),
    );
    assert.ok(lines.includes('  every tier passed, profiles: open'), lines.join('\n'));
    assert.ok(lines.includes('  => ingress allow, decided by Profile open rule 0 (Allow)'), lines.join('\n'));
  });
  test('ICMP packets default to an echo request and print type and code', () => {
    const lines = formatExplanation(explainTraffic(world(), { from: 'a', to: 'b', protocol: 'icmp' }));
    assert.equal(lines[0], 'packet: a (10.0.0.1) -> b (10.0.0.2), icmp type 8 code 0');
  });
});
