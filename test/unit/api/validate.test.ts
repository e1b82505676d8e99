import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDocument, validateResource, parseAsNumber, checkPort } from '../../../src/api/index.js';

const v3 = (kind: string, spec: unknown, metadata: Record<string, unknown> = { name: 'x' }) => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata,
  spec,
});

/** Each case: a document and the exact message expected among its problems (or none). */
const cases: { name: string; doc: unknown; expect: string | null }[] = [
  {
    name: 'a port out of range names the path and the value',
    doc: v3('GlobalNetworkPolicy', {
      ingress: [{ action: 'Allow' }, { action: 'Allow', protocol: 'TCP', destination: { ports: ['70000'] } }],
    }),
    expect: 'spec.ingress[1].destination.ports[0]: "70000" is not a port or port range',
  },
  {
    name: 'port ranges and named ports are ports',
    doc: v3('GlobalNetworkPolicy', {
      ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [6379, '1000:2000', 'http'] } }],
    }),
    expect: null,
  },
  {
    name: 'a backwards range is not',
    doc: v3('NetworkPolicy', {
      ingress: [{ action: 'Allow', protocol: 'UDP', destination: { ports: ['2000:1000'] } }],
    }),
    expect: 'spec.ingress[0].destination.ports[0]: "2000:1000" is not a port or port range',
  },
  {
    name: 'ports need a port protocol',
    doc: v3('Profile', { ingress: [{ action: 'Allow', destination: { ports: [80] } }] }),
    expect:
      'spec.ingress[0]: ports are only valid with protocol TCP, UDP, SCTP or UDPLite (protocol is not set)',
  },
  {
    name: 'an unknown field is named',
    doc: v3('IPPool', { cidr: '10.0.0.0/16', natOutgoin: true }),
    expect:
      'spec.natOutgoin: unknown field "natOutgoin" (known fields: cidr, blockSize, ipipMode, vxlanMode, natOutgoing, disabled, nodeSelector, allowedUses)',
  },
  {
    name: 'a bad CIDR',
    doc: v3('IPPool', { cidr: '10.0.0/16' }),
    expect: 'spec.cidr: "10.0.0/16" is not a valid CIDR (expected address/length)',
  },
  {
    name: 'a block size larger than the pool',
    doc: v3('IPPool', { cidr: '10.0.0.0/28', blockSize: 26 }),
    expect: 'spec.blockSize: "26" is larger than the pool itself (/28)',
  },
  {
    name: 'an IPv6 block size out of range',
    doc: v3('IPPool', { cidr: 'fd00::/64', blockSize: 100 }),
    expect: 'spec.blockSize: "100" is out of range for IPv6 (116 to 128)',
  },
  {
    name: 'a bad MAC',
    doc: v3('WorkloadEndpoint', { mac: 'ca:fe:1d:52:bb', node: 'n' }),
    expect: 'spec.mac: "ca:fe:1d:52:bb" is not a valid MAC address',
  },
  {
    name: 'an AS number of zero',
    doc: v3('BGPPeer', { peerIP: '10.0.0.1', asNumber: 0 }),
    expect: 'spec.asNumber: "0" is not an AS number (1 to 4294967295, or the dotted form such as 1.10)',
  },
  {
    name: 'an AS number too large',
    doc: v3('BGPConfiguration', { asNumber: 4294967296 }),
    expect:
      'spec.asNumber: "4294967296" is not an AS number (1 to 4294967295, or the dotted form such as 1.10)',
  },
  {
    name: 'the dotted AS form is accepted',
    doc: v3('BGPPeer', { peerIP: '10.0.0.1', asNumber: '1.10' }),
    expect: null,
  },
  {
    name: 'an unknown action',
    doc: v3('GlobalNetworkPolicy', { ingress: [{ action: 'Permit' }] }),
    expect: 'spec.ingress[0].action: "Permit" is not one of Allow, Deny, Log, Pass',
  },
  {
    name: 'an unknown protocol',
    doc: v3('GlobalNetworkPolicy', { ingress: [{ action: 'Allow', protocol: 'TCPX' }] }),
    expect:
      'spec.ingress[0].protocol: "TCPX" is not a protocol (one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite, or a number 1 to 255)',
  },
  {
    name: 'a protocol number is a protocol',
    doc: v3('GlobalNetworkPolicy', { ingress: [{ action: 'Allow', protocol: 17 }] }),
    expect: null,
  },
  {
    name: 'a malformed selector',
    doc: v3('GlobalNetworkPolicy', { selector: 'role == ' }),
    expect: 'spec.selector: "role == " is not a valid selector',
  },
  {
    name: 'an uppercase name',
    doc: v3('Profile', {}, { name: 'Database' }),
    expect:
      'metadata.name: "Database" is not a valid name (use lowercase letters, digits, "-" and ".", starting and ending with a letter or digit)',
  },
  {
    name: 'a namespace on a cluster-wide kind',
    doc: v3('IPPool', { cidr: '10.0.0.0/16' }, { name: 'p', namespace: 'default' }),
    expect: 'metadata.namespace: "default" is not allowed: this kind is not namespaced',
  },
  {
    name: 'a host endpoint needs a node',
    doc: v3('HostEndpoint', { interfaceName: 'eth0' }),
    expect: 'spec.node: required field is missing',
  },
  {
    name: 'an interface name too long for Linux',
    doc: v3('HostEndpoint', { node: 'a', interfaceName: 'a-very-long-interface' }),
    expect:
      'spec.interfaceName: "a-very-long-interface" is not a valid interface name (1 to 15 letters, digits, "_", "-", ".")',
  },
  {
    name: 'a bad label value',
    doc: v3('Node', {}, { name: 'n', labels: { rack: 'has space' } }),
    expect: 'metadata.labels: {"rack":"has space"} has invalid labels',
  },
  {
    name: 'a BGP peer IP',
    doc: v3('BGPPeer', { peerIP: '10.0.0.300', asNumber: 64512 }),
    expect: 'spec.peerIP: "10.0.0.300" is not a valid IP address',
  },
  {
    name: 'a wrong apiVersion',
    doc: { ...v3('Node', {}), apiVersion: 'projectcalico.org/v2' },
    expect: 'apiVersion: "projectcalico.org/v2" is not supported here (expected projectcalico.org/v3)',
  },
];

describe('validateResource', () => {
  for (const c of cases) {
    test(c.name, () => {
      const messages = validateResource(c.doc).map((p) => p.message);
      if (c.expect === null) assert.deepEqual(messages, []);
      else
        assert.ok(
          messages.some((m) => m.startsWith(c.expect as string)),
          `expected a message starting with\n  ${c.expect}\ngot\n  ${messages.join('\n  ')}`,
        );
    });
  }
});

describe('values', () => {
  test('AS numbers in plain and dotted form', () => {
    assert.equal(parseAsNumber(64512), 64512);
    assert.equal(parseAsNumber('1.10'), 65546);
    assert.equal(parseAsNumber('65535.65535'), 4294967295);
    assert.equal(parseAsNumber('65536.0'), undefined);
    assert.equal(parseAsNumber(1.5), undefined);
  });
  test('ports', () => {
    assert.equal(checkPort(0), undefined);
    assert.equal(checkPort(65535), undefined);
    assert.notEqual(checkPort(65536), undefined);
    assert.notEqual(checkPort('1234'.repeat(5)), undefined);
    assert.notEqual(checkPort('a b'), undefined);
  });
});

describe('defaults applied on load', () => {
  test('an IPv4 pool gets blockSize 26, Never encapsulation and no NAT', () => {
    const r = loadDocument(v3('IPPool', { cidr: '10.0.0.0/16' }));
    assert.deepEqual(r.resource?.spec, {
      cidr: '10.0.0.0/16',
      blockSize: 26,
      ipipMode: 'Never',
      vxlanMode: 'Never',
      natOutgoing: false,
    });
  });
  test('an IPv6 pool gets blockSize 122', () => {
    const r = loadDocument(v3('IPPool', { cidr: 'fd00::/48' }));
    assert.equal((r.resource?.spec as { blockSize: number }).blockSize, 122);
  });
  test('policy types are inferred as Calico does', () => {
    const cases: [unknown, string[]][] = [
      [{ ingress: [{ action: 'Allow' }] }, ['Ingress']],
      [{ egress: [{ action: 'Allow' }] }, ['Egress']],
      [{ ingress: [{ action: 'Allow' }], egress: [{ action: 'Deny' }] }, ['Ingress', 'Egress']],
      [{}, ['Ingress']],
    ];
    for (const [spec, types] of cases) {
      const r = loadDocument(v3('GlobalNetworkPolicy', spec));
      assert.deepEqual((r.resource?.spec as { types: string[] }).types, types, JSON.stringify(spec));
    }
  });
  test('lowercase actions and protocols take their v3 spelling', () => {
    const r = loadDocument(
      v3('Profile', { ingress: [{ action: 'allow', protocol: 'tcp', destination: { ports: ['80'] } }] }),
    );
    assert.deepEqual(r.problems, []);
    assert.deepEqual((r.resource?.spec as { ingress: unknown[] }).ingress[0], {
      action: 'Allow',
      protocol: 'TCP',
      destination: { ports: [80] },
    });
  });
});
