import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AutodetectionMethodError,
  autodetectedLine,
  chooseNodeAddress,
  parseAutodetectionMethod,
  parseIpAddrJson,
  parseRouteGetJson,
  type HostInterface,
  type RouteLookup,
} from '../../../src/node/startup/index.js';

const v4 = (address: string, prefixLength: number, scope = 'global') => ({
  family: 4 as const,
  address,
  prefixLength,
  scope,
});
const v6 = (address: string, prefixLength: number, scope = 'global') => ({
  family: 6 as const,
  address,
  prefixLength,
  scope,
});
const iface = (index: number, name: string, ...addresses: HostInterface['addresses']): HostInterface => ({
  name,
  index,
  up: true,
  addresses,
});

/** A host like the seed's: loopback, a docker bridge, a workload veth, then eth0 and eth1. */
const HOST: HostInterface[] = [
  iface(1, 'lo', v4('127.0.0.1', 8, 'host'), v6('::1', 128, 'host')),
  iface(2, 'docker0', v4('172.17.0.1', 16)),
  iface(3, 'cali12345', v4('169.254.1.1', 32)),
  iface(4, 'veth9f3', v4('10.99.0.1', 24)),
  iface(5, 'eth0', v4('169.254.10.2', 16), v6('fe80::1', 64, 'link')),
  iface(6, 'eth1', v4('192.168.40.2', 24), v6('fd80:24e2:f998:72d6::2', 64), v6('fe80::2', 64, 'link')),
  iface(7, 'eth2', v4('10.1.2.3', 16)),
];

const ROUTE_VIA_ETH2: RouteLookup = { dev: 'eth2', prefsrc: '10.1.2.3' };

describe('IP autodetection picks the address Calico would', () => {
  const cases: {
    method: string;
    family: 4 | 6;
    route?: RouteLookup;
    expect: { iface: string; address: string; len: number } | { reason: RegExp };
  }[] = [
    { method: 'first-found', family: 4, expect: { iface: 'eth1', address: '192.168.40.2', len: 24 } },
    { method: '', family: 4, expect: { iface: 'eth1', address: '192.168.40.2', len: 24 } },
    {
      method: 'first-found',
      family: 6,
      expect: { iface: 'eth1', address: 'fd80:24e2:f998:72d6::2', len: 64 },
    },
    { method: 'interface=eth2', family: 4, expect: { iface: 'eth2', address: '10.1.2.3', len: 16 } },
    {
      method: 'interface=nomatch,^eth.*',
      family: 4,
      expect: { iface: 'eth1', address: '192.168.40.2', len: 24 },
    },
    { method: 'interface=docker0', family: 4, expect: { iface: 'docker0', address: '172.17.0.1', len: 16 } },
    {
      method: 'interface=wlan.*',
      family: 4,
      expect: { reason: /no IPv4 address found on an interface matching/ },
    },
    { method: 'skip-interface=eth1', family: 4, expect: { iface: 'eth2', address: '10.1.2.3', len: 16 } },
    // As in Calico, interface= and cidr= do not apply first-found's exclude list.
    { method: 'cidr=10.0.0.0/8', family: 4, expect: { iface: 'veth9f3', address: '10.99.0.1', len: 24 } },
    { method: 'cidr=10.1.0.0/16', family: 4, expect: { iface: 'eth2', address: '10.1.2.3', len: 16 } },
    { method: 'interface=eth', family: 4, expect: { iface: 'veth9f3', address: '10.99.0.1', len: 24 } },
    {
      method: 'cidr=172.16.0.0/12,192.168.0.0/16',
      family: 4,
      expect: { iface: 'docker0', address: '172.17.0.1', len: 16 },
    },
    { method: 'cidr=203.0.113.0/24', family: 4, expect: { reason: /inside the given CIDR/ } },
    {
      method: 'can-reach=10.1.0.1',
      family: 4,
      route: ROUTE_VIA_ETH2,
      expect: { iface: 'eth2', address: '10.1.2.3', len: 16 },
    },
    { method: 'can-reach=10.1.0.1', family: 4, expect: { reason: /no route to 10\.1\.0\.1/ } },
    {
      method: 'can-reach=10.1.0.1',
      family: 4,
      route: { dev: 'eth9', prefsrc: '10.9.9.9' },
      expect: { reason: /10\.9\.9\.9 used to reach 10\.1\.0\.1 is on no interface/ },
    },
  ];
  for (const c of cases) {
    const name =
      'reason' in c.expect
        ? `finds nothing: ${c.expect.reason.source}`
        : `${c.expect.iface} ${c.expect.address}/${c.expect.len}`;
    test(`"${c.method}" (IPv${c.family}${c.route ? `, route via ${c.route.dev}` : ''}) → ${name}`, () => {
      const r = chooseNodeAddress(parseAutodetectionMethod(c.method), HOST, c.family, c.route);
      if ('reason' in c.expect) {
        assert.equal(r.found, false);
        assert.match(r.found ? '' : r.reason, c.expect.reason);
      } else {
        assert.deepEqual(r, {
          found: true,
          interfaceName: c.expect.iface,
          address: c.expect.address,
          prefixLength: c.expect.len,
        });
      }
    });
  }

  test('first-found skips every interface in the default exclude list even when it is the only one with an address', () => {
    const onlyExcluded = [
      'lo',
      'docker0',
      'cali0ef24b1',
      'veth1',
      'tunl0',
      'flannel.1',
      'cni0',
      'vxlan.calico',
      'kube-ipvs0',
      'virbr0',
    ].map((n, i) => iface(i + 1, n, v4(`10.0.${i}.1`, 24)));
    const r = chooseNodeAddress({ kind: 'first-found' }, onlyExcluded, 4);
    assert.equal(r.found, false);
  });

  test("the printed line is the seed's", () => {
    const r = chooseNodeAddress({ kind: 'first-found' }, HOST, 4);
    assert.ok(r.found);
    assert.equal(
      autodetectedLine(4, r),
      'Using autodetected IPv4 address on interface eth1: 192.168.40.2/24',
    );
  });
});

describe('autodetection methods are parsed or refused with the fix', () => {
  const bad: [string, RegExp][] = [
    ['nearest', /unknown IP autodetection method "nearest"/],
    ['interface=', /needs at least one interface regex/],
    ['interface=(', /not a valid regex/],
    ['can-reach=example.com', /give an IP address to reach/],
    ['cidr=10.0.0.0', /"10\.0\.0\.0" is not a CIDR/],
  ];
  for (const [text, message] of bad)
    test(`"${text}" is refused`, () => {
      assert.throws(
        () => parseAutodetectionMethod(text),
        (e: unknown) => e instanceof AutodetectionMethodError && message.test(e.message),
      );
    });
});

describe('ip -j output is read into interfaces and routes', () => {
  test('addresses keep family, prefix and scope; interfaces come in index order', () => {
    const json = JSON.stringify([
      {
        ifindex: 4,
        ifname: 'eth1',
        flags: ['BROADCAST', 'UP'],
        addr_info: [{ family: 'inet', local: '192.168.40.2', prefixlen: 24, scope: 'global' }],
      },
      {
        ifindex: 1,
        ifname: 'lo',
        flags: ['LOOPBACK', 'UP'],
        addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }],
      },
      {
        ifindex: 3,
        ifname: 'eth0',
        flags: ['BROADCAST'],
        addr_info: [{ family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' }],
      },
    ]);
    assert.deepEqual(parseIpAddrJson(json), [
      { name: 'lo', index: 1, up: true, addresses: [v4('127.0.0.1', 8, 'host')] },
      { name: 'eth0', index: 3, up: false, addresses: [v6('fe80::1', 64, 'link')] },
      { name: 'eth1', index: 4, up: true, addresses: [v4('192.168.40.2', 24)] },
    ]);
  });

  test('route get gives the device and source', () => {
    assert.deepEqual(
      parseRouteGetJson('[{"dst":"192.0.2.1","dev":"eth0","prefsrc":"192.0.2.2","flags":[]}]'),
      {
        dev: 'eth0',
        prefsrc: '192.0.2.2',
      },
    );
    assert.equal(parseRouteGetJson('[]'), undefined);
  });
});
