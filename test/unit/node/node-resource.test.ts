import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, type Node } from '../../../src/api/types.js';
import {
  decideNodeAddress,
  NodeAddressError,
  parseAddressSetting,
  parseAutodetectionMethod,
  planNodeResource,
  type HostInterface,
} from '../../../src/node/startup/index.js';

const HOST: HostInterface[] = [
  {
    name: 'lo',
    index: 1,
    up: true,
    addresses: [{ family: 4, address: '127.0.0.1', prefixLength: 8, scope: 'host' }],
  },
  {
    name: 'eth1',
    index: 2,
    up: true,
    addresses: [
      { family: 4, address: '192.168.40.2', prefixLength: 24, scope: 'global' },
      { family: 6, address: 'fd00:40::2', prefixLength: 64, scope: 'global' },
    ],
  },
];

const node = (name: string, ipv4?: string, extra: Partial<NonNullable<Node['spec']['bgp']>> = {}): Node => ({
  apiVersion: API_VERSION,
  kind: 'Node',
  metadata: { name },
  spec: { bgp: { ...(ipv4 ? { ipv4Address: ipv4 } : {}), ...extra } },
});

describe("a node's address follows IP / IP6 as Calico's start-up reads them", () => {
  const firstFound = parseAutodetectionMethod('first-found');
  const cases: {
    name: string;
    ip: string | undefined;
    family: 4 | 6;
    current?: string;
    expect: string | undefined;
    line: RegExp;
  }[] = [
    {
      name: 'unset IPv4 with no address on the node autodetects',
      ip: undefined,
      family: 4,
      expect: '192.168.40.2/24',
      line: /^Using autodetected IPv4 address on interface eth1: 192\.168\.40\.2\/24$/,
    },
    {
      name: 'unset IPv4 keeps the address the node already has',
      ip: '',
      family: 4,
      current: '10.0.0.5/16',
      expect: '10.0.0.5/16',
      line: /configured on the node resource: 10\.0\.0\.5\/16/,
    },
    {
      name: '"autodetect" autodetects even when the node has an address',
      ip: 'autodetect',
      family: 4,
      current: '10.0.0.5/16',
      expect: '192.168.40.2/24',
      line: /autodetected/,
    },
    {
      name: 'a fixed address takes its prefix length from the interface',
      ip: '192.168.40.2',
      family: 4,
      expect: '192.168.40.2/24',
      line: /from the command line or environment: 192\.168\.40\.2\/24/,
    },
    {
      name: 'a fixed address with a prefix keeps it',
      ip: '10.9.9.9/20',
      family: 4,
      expect: '10.9.9.9/20',
      line: /10\.9\.9\.9\/20/,
    },
    {
      name: '"none" leaves the family out',
      ip: 'none',
      family: 4,
      current: '10.0.0.5/16',
      expect: undefined,
      line: /IP=none/,
    },
    { name: 'unset IPv6 is not autodetected', ip: undefined, family: 6, expect: undefined, line: /^$/ },
    {
      name: 'IPv6 "autodetect" finds the global v6 address',
      ip: 'autodetect',
      family: 6,
      expect: 'fd00:40::2/64',
      line: /IPv6 address on interface eth1: fd00:40::2\/64/,
    },
  ];
  for (const c of cases)
    test(c.name, () => {
      const setting = parseAddressSetting(c.ip, c.family, c.family === 4 ? 'IP' : 'IP6');
      const d = decideNodeAddress(setting, c.family, c.current, firstFound, HOST);
      assert.equal(d.address, c.expect);
      assert.match(d.lines.join('\n'), c.line);
    });

  test('a fixed address no interface has is used, with a warning', () => {
    const d = decideNodeAddress(parseAddressSetting('10.9.9.9', 4, 'IP'), 4, undefined, firstFound, HOST);
    assert.equal(d.address, '10.9.9.9/32');
    assert.match(d.lines.join('\n'), /Warning: no interface on this host has the address 10\.9\.9\.9/);
  });

  test('autodetection that finds nothing says how to fix it', () => {
    assert.throws(
      () =>
        decideNodeAddress(
          { kind: 'autodetect' },
          4,
          undefined,
          parseAutodetectionMethod('interface=wlan0'),
          HOST,
        ),
      (e: unknown) =>
        e instanceof NodeAddressError && /could not autodetect an IPv4 address.*--ip=ADDR/.test(e.message),
    );
  });

  test('an address of the wrong family is refused', () => {
    assert.throws(() => parseAddressSetting('fd00::1', 4, 'IP'), /IP="fd00::1" is not an IPv4 address/);
  });
});

describe('the Node resource written by node run', () => {
  test('a new node gets its address and the global AS line', () => {
    const p = planNodeResource({ name: 'compile', ipv4: '192.168.40.2/24', others: [] });
    assert.deepEqual(p.node, node('compile', '192.168.40.2/24'));
    assert.deepEqual(p.lines, ['No AS number configured on node resource, using global value']);
  });

  test('an existing node keeps its other fields and its AS', () => {
    const existing: Node = {
      ...node('compile', '10.0.0.1/24', { asNumber: 64600, routeReflectorClusterID: '1.0.0.1' }),
    };
    existing.metadata.labels = { rack: 'r1' };
    const p = planNodeResource({ name: 'compile', existing, ipv4: '192.168.40.2/24', others: [existing] });
    assert.deepEqual(p.node.spec.bgp, {
      asNumber: 64600,
      routeReflectorClusterID: '1.0.0.1',
      ipv4Address: '192.168.40.2/24',
    });
    assert.deepEqual(p.node.metadata.labels, { rack: 'r1' });
    assert.deepEqual(p.lines, ['Using AS number 64600 configured on node resource']);
  });

  test('--as sets the node AS', () => {
    const p = planNodeResource({ name: 'n', ipv4: '10.0.0.1/24', asNumber: 65001, others: [] });
    assert.equal(p.node.spec.bgp?.asNumber, 65001);
    assert.deepEqual(p.lines, ['Using AS number 65001 for this node']);
  });

  test('an address another node already uses is refused, naming that node', () => {
    assert.throws(
      () => planNodeResource({ name: 'b', ipv4: '192.168.40.2/24', others: [node('a', '192.168.40.2/16')] }),
      (e: unknown) =>
        e instanceof NodeAddressError && /node a already uses the address 192\.168\.40\.2/.test(e.message),
    );
  });
});
