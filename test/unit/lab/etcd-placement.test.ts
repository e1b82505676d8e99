import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile, parseScenario } from '../../../src/lab/scenario.js';
import {
  chooseRootLinkSubnet,
  etcdAttachments,
  etcdRootLinkName,
  etcdUrl,
  hostEtcdEndpoints,
} from '../../../src/lab/etcd.js';

const scenario = (name: string) =>
  loadScenarioFile(fileURLToPath(new URL(`../../../examples/lab/${name}.yaml`, import.meta.url)));

describe("the lab etcd sits on every network that is some host's first one", () => {
  const cases = [
    { scenario: 'tenant', expected: [{ network: 'fabric', address: '192.168.40.254' }] },
    {
      // The core network has only routers: the datastore stays off it.
      scenario: 'as-per-rack',
      expected: [
        { network: 'rack1', address: '10.21.0.254' },
        { network: 'rack2', address: '10.22.0.254' },
        { network: 'rack3', address: '10.23.0.254' },
      ],
    },
  ];
  for (const c of cases)
    test(`${c.scenario}: ${c.expected.map((e) => `${e.network} at ${e.address}`).join(', ')}`, () => {
      assert.deepEqual(
        etcdAttachments(scenario(c.scenario)).map((a) => ({ network: a.network, address: a.address })),
        c.expected,
      );
    });

  const hosts = [
    { scenario: 'tenant', host: 'slave2', endpoints: ['http://192.168.40.254:2379'] },
    { scenario: 'as-per-rack', host: 'r2h1', endpoints: ['http://10.22.0.254:2379'] },
    { scenario: 'as-per-rack', host: 'no-such-host', endpoints: [] },
  ];
  for (const c of hosts)
    test(`${c.scenario}: host ${c.host} reaches etcd at ${c.endpoints.join(',') || 'nothing'}`, () => {
      assert.deepEqual(hostEtcdEndpoints(scenario(c.scenario), c.host), c.endpoints);
    });

  test('a network too small for its members and the datastore is refused with the fix', () => {
    const tiny = parseScenario(
      [
        'name: tiny',
        'description: two hosts on a /30',
        'networks: [{ name: net, cidr: 10.0.0.0/30 }]',
        'hosts: [{ name: a, networks: [net] }, { name: b, networks: [net] }]',
        'pools: [{ cidr: 172.16.0.0/24 }]',
        'workloads: []',
      ].join('\n'),
      '/tmp',
    );
    assert.throws(
      () => etcdAttachments(tiny),
      /network net \(10\.0\.0\.0\/30\) has no room.*use a larger CIDR/,
    );
  });
});

describe('the root link to the datastore namespace', () => {
  test('its name fits an interface name and differs between labs', () => {
    assert.match(etcdRootLinkName('tenant'), /^cld[0-9a-f]{8}$/);
    assert.notEqual(etcdRootLinkName('tenant'), etcdRootLinkName('tenant2'));
  });

  test('its /30 comes from 169.254.0.0/16, away from the workload gateway and cloud metadata', () => {
    for (const lab of ['tenant', 'mesh', 'a', 'b', 'c', 'lab-with-a-long-name']) {
      const { root, datastore } = chooseRootLinkSubnet(lab, []);
      const [a, b, third, fourth] = root.split('.').map(Number);
      assert.deepEqual([a, b], [169, 254]);
      assert.ok(third !== undefined && third > 1 && third !== 169 && third !== 255, `${lab}: ${root}`);
      assert.equal((fourth ?? 0) % 4, 1, `${lab}: the root side is the first address of its /30`);
      assert.equal(datastore, `169.254.${third}.${(fourth ?? 0) + 1}`);
    }
  });

  test('it skips a /30 already in use in the root namespace, and is stable otherwise', () => {
    const first = chooseRootLinkSubnet('tenant', []);
    assert.deepEqual(chooseRootLinkSubnet('tenant', ['10.0.0.1/8']), first);
    const next = chooseRootLinkSubnet('tenant', [`${first.datastore}/30`]);
    assert.notEqual(next.root, first.root);
  });

  test('URLs bracket IPv6 addresses', () => {
    assert.equal(etcdUrl('10.0.0.1'), 'http://10.0.0.1:2379');
    assert.equal(etcdUrl('fd00::1'), 'http://[fd00::1]:2379');
  });
});
