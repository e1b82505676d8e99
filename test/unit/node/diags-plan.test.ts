import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { API_VERSION, type Resource, type ResourceKind } from '../../../src/api/types.js';
import { bundleName, DIAGS_COMMANDS, resourceDocuments } from '../../../src/node/startup/index.js';

const wep = (name: string, node: string): Resource =>
  ({
    apiVersion: API_VERSION,
    kind: 'WorkloadEndpoint',
    metadata: { name, namespace: 'default' },
    spec: {
      node,
      orchestrator: 'k8s',
      workload: name,
      endpoint: 'eth0',
      interfaceName: `cali${name}`,
      ipNetworks: [],
    },
  }) as unknown as Resource;

describe('the diags bundle', () => {
  test('has one file per kernel view the brief asks for', () => {
    const files = DIAGS_COMMANDS.map((c) => c.file);
    for (const f of [
      'iptables-save.txt',
      'ip6tables-save.txt',
      'ipset-list.txt',
      'ip-route.txt',
      'ip6-route.txt',
      'ip-link.txt',
      'ip-addr.txt',
      'conntrack-count.txt',
      'sysctl.txt',
    ])
      assert.ok(files.includes(f), f);
  });

  test("keeps only this node's Node and endpoints, and all of the cluster-wide kinds", () => {
    const lists = new Map<ResourceKind, Resource[]>([
      [
        'Node',
        [
          { apiVersion: API_VERSION, kind: 'Node', metadata: { name: 'slave1' }, spec: {} },
          { apiVersion: API_VERSION, kind: 'Node', metadata: { name: 'slave2' }, spec: {} },
        ],
      ],
      ['WorkloadEndpoint', [wep('a', 'slave1'), wep('b', 'slave2'), wep('c', 'slave1')]],
      [
        'IPPool',
        [{ apiVersion: API_VERSION, kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16' } }],
      ],
    ]);
    const docs = new Map(resourceDocuments('slave1', lists).map((d) => [d.file, d]));
    const names = (file: string) =>
      (YAML.parse(docs.get(file)?.text ?? '') as { items: { metadata: { name: string } }[] }).items.map(
        (i) => i.metadata.name,
      );
    assert.deepEqual(names('resources/nodes.yaml'), ['slave1']);
    assert.deepEqual(names('resources/workloadendpoints.yaml'), ['a', 'c']);
    assert.deepEqual(names('resources/ippools.yaml'), ['p']);
    assert.deepEqual(names('resources/hostendpoints.yaml'), []);
    assert.equal(
      (YAML.parse(docs.get('resources/ippools.yaml')?.text ?? '') as { kind: string }).kind,
      'IPPoolList',
    );
    assert.ok(docs.has('resources/globalnetworkpolicies.yaml'));
  });

  test('is named after the node and the UTC time', () => {
    assert.equal(
      bundleName('slave 1', new Date(Date.UTC(2017, 4, 22, 7, 42, 15))),
      'diags-slave_1-20170522_074215',
    );
  });
});
