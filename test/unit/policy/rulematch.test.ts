import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Port, Rule, WorkloadEndpoint } from '../../../src/api/index.js';
import { parseIp } from '../../../src/net/ip.js';
import { portMatches, ruleMismatch, workloadEndpointView, type Flow } from '../../../src/policy/index.js';

const wep = (name: string, ns: string, labels: Record<string, string>, ip: string): WorkloadEndpoint => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'WorkloadEndpoint',
  metadata: { name, namespace: ns, labels },
  spec: { ipNetworks: [ip], ports: [{ name: 'metrics', protocol: 'TCP', port: 9090 }] },
});
const web = workloadEndpointView(wep('web', 'prod', { app: 'web' }, '10.0.0.1/32'), new Map());
const db = workloadEndpointView(wep('db', 'prod', { app: 'db' }, '10.0.0.2/32'), new Map());
const addr = (s: string) => parseIp(s) ?? assert.fail(s);

const tcp = (dstPort: number): Flow => ({
  source: { address: addr('10.0.0.1'), endpoint: web },
  destination: { address: addr('10.0.0.2'), endpoint: db },
  protocol: 6,
  srcPort: 40000,
  dstPort,
});

/** Each row: port spec, packet port, protocol, expected. */
const PORTS: ReadonlyArray<[Port, number, number, boolean]> = [
  [80, 80, 6, true],
  [80, 81, 6, false],
  ['80', 80, 6, true],
  ['1000:2000', 1000, 6, true],
  ['1000:2000', 2000, 6, true],
  ['1000:2000', 2001, 6, false],
  ['1000:2000', 999, 6, false],
  ['metrics', 9090, 6, true],
  ['metrics', 9091, 6, false],
  ['metrics', 9090, 17, false],
  ['nope', 9090, 6, false],
];

describe('port matching', () => {
  for (const [spec, port, protocol, expected] of PORTS) {
    test(`${JSON.stringify(spec)} ${expected ? 'matches' : 'does not match'} ${protocol}/${port}`, () => {
      assert.equal(portMatches(spec, port, protocol, db), expected);
    });
  }
});

/** Each row: rule, flow, the reason it does not match (undefined = matches). */
const REASONS: ReadonlyArray<[string, Rule, Flow, string | undefined]> = [
  ['empty rule', { action: 'Allow' }, tcp(80), undefined],
  ['protocol', { action: 'Allow', protocol: 'UDP' }, tcp(80), 'protocol UDP (packet is tcp)'],
  ['ipVersion', { action: 'Allow', ipVersion: 6 }, tcp(80), 'ipVersion 6 (packet is IPv4)'],
  [
    'destination ports',
    { action: 'Allow', protocol: 'TCP', destination: { ports: [3306] } },
    tcp(80),
    'destination.ports 3306 (packet destination port 80)',
  ],
  [
    'source selector',
    { action: 'Allow', source: { selector: "app=='db'" } },
    tcp(80),
    'source.selector app == "db" (endpoint web)',
  ],
  [
    'destination notSelector',
    { action: 'Allow', destination: { notSelector: "app == 'db'" } },
    tcp(80),
    'destination.notSelector app == "db" (endpoint db)',
  ],
  [
    'source nets',
    { action: 'Allow', source: { nets: ['192.168.0.0/16'] } },
    tcp(80),
    'source.nets 192.168.0.0/16',
  ],
  ['icmp on tcp', { action: 'Allow', icmp: { type: 8 } }, tcp(80), 'icmp match (packet is tcp)'],
];

describe('rule mismatch reasons', () => {
  for (const [name, rule, flow, reason] of REASONS) {
    test(`${name}: ${reason ?? 'matches'}`, () => {
      assert.equal(ruleMismatch(rule, flow, { policyNamespace: undefined, env: {} }), reason);
    });
  }
  test('a namespaced rule selector names the namespace it is limited to', () => {
    const other = workloadEndpointView(wep('x', 'dev', { app: 'web' }, '10.0.1.1/32'), new Map());
    const flow: Flow = { ...tcp(80), source: { address: addr('10.0.1.1'), endpoint: other } };
    assert.equal(
      ruleMismatch({ action: 'Allow', source: { selector: "app == 'web'" } }, flow, {
        policyNamespace: 'prod',
        env: {},
      }),
      'source.selector only sees namespace prod (endpoint x)',
    );
  });
});
