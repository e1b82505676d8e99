import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { loadResources } from '../../../src/api/index.js';

const seed = (f: string) => readFileSync(new URL(`../../../examples/seed/${f}`, import.meta.url), 'utf8');

describe("the seed's v1 documents", () => {
  test('every YAML file of examples/seed loads without a problem', () => {
    const files = readdirSync(new URL('../../../examples/seed/', import.meta.url)).filter((f) =>
      f.endsWith('.yaml'),
    );
    assert.ok(files.length >= 10, `expected the seed's ten YAML files, found ${files.length}`);
    for (const f of files) assert.deepEqual(loadResources(seed(f)).problems, [], f);
  });

  test('bgpPeer: scope node becomes a node-scoped BGPPeer with peerIP in the spec', () => {
    const [r] = loadResources(seed('bgppeer.yaml')).resources;
    assert.deepEqual(r?.resource, {
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPPeer',
      metadata: { name: 'rack1-host1.192-168-1-1' },
      spec: { node: 'rack1-host1', peerIP: '192.168.1.1', asNumber: 63400 },
    });
  });

  test('ipPool: cidr names the pool, ipip cross-subnet and nat-outgoing map to v3 fields', () => {
    const [r] = loadResources(seed('ippool.yaml')).resources;
    assert.deepEqual(r?.resource, {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: '10-1-0-0-16' },
      spec: {
        cidr: '10.1.0.0/16',
        ipipMode: 'CrossSubnet',
        natOutgoing: true,
        disabled: false,
        blockSize: 26,
        vxlanMode: 'Never',
      },
    });
  });

  test('policy becomes a GlobalNetworkPolicy with v3 actions and protocols', () => {
    const [r] = loadResources(seed('policy-allow-tcp-6379.yaml')).resources;
    assert.equal(r?.resource.kind, 'GlobalNetworkPolicy');
    assert.deepEqual(r?.resource.spec, {
      selector: "role == 'database'",
      ingress: [
        {
          action: 'Allow',
          protocol: 'TCP',
          source: { selector: "role == 'frontend'" },
          destination: { ports: [6379] },
        },
      ],
      egress: [{ action: 'Allow' }],
      types: ['Ingress', 'Egress'],
    });
  });

  test('profile: net becomes nets, labels become labelsToApply, {int: 3306} is a port', () => {
    const [p1] = loadResources(seed('profile1.yaml')).resources;
    assert.deepEqual(p1?.resource.spec, {
      ingress: [
        { action: 'Deny', source: { nets: ['10.0.20.0/24'] } },
        { action: 'Allow', source: { selector: "profile == 'profile1'" } },
      ],
      egress: [{ action: 'Allow' }],
      labelsToApply: { profile: 'profile1' },
    });
    const [db] = loadResources(seed('profile.yaml')).resources;
    const ingress = (db?.resource.spec as { ingress: { destination?: { ports?: unknown[] } }[] }).ingress;
    assert.deepEqual(ingress[1]?.destination?.ports, [3306]);
  });

  test('workloadEndpoint: ipNetworks get /32, the v3 name is derived, the endpoint name kept', () => {
    const { resources } = loadResources(seed('endpoints.yaml'));
    assert.equal(resources.length, 3);
    const db = resources[2]?.resource;
    assert.equal(db?.kind, 'WorkloadEndpoint');
    assert.deepEqual(db?.metadata, {
      name: 'slave2-k8s-database-slave2--database',
      namespace: 'default',
      labels: {
        service: 'database',
        namespace: 'default',
        'projectcalico.org/namespace': 'default',
        'projectcalico.org/orchestrator': 'k8s',
      },
    });
    assert.deepEqual((db?.spec as { ipNetworks: string[] }).ipNetworks, ['172.16.1.3/32']);
    assert.equal((db?.spec as { endpoint: string }).endpoint, 'slave2-database');
  });

  test('a k8s workload "namespace.pod" lands in that namespace', () => {
    const [r] = loadResources(seed('workloadendpoint.yaml')).resources;
    assert.equal(r?.resource.metadata.namespace, 'default');
    assert.equal((r?.resource.spec as { pod: string }).pod, 'frontend-5gs43');
  });

  test('hostEndpoint: expectedIPs kept, named after node and interface', () => {
    const [r] = loadResources(seed('hostendpoint.yaml')).resources;
    assert.equal(r?.resource.metadata.name, 'myhost.eth0');
    assert.deepEqual((r?.resource.spec as { expectedIPs: string[] }).expectedIPs, [
      '192.168.0.1',
      '192.168.0.2',
    ]);
  });
});

describe('loading documents', () => {
  test('several documents, a kind: List and JSON all load', () => {
    const text = [
      'apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: a}\nspec: {}',
      'apiVersion: projectcalico.org/v3\nkind: List\nitems:\n- apiVersion: projectcalico.org/v3\n  kind: Profile\n  metadata: {name: b}\n  spec: {}',
      '{"apiVersion": "projectcalico.org/v3", "kind": "Profile", "metadata": {"name": "c"}, "spec": {}}',
    ].join('\n---\n');
    const r = loadResources(text);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      r.resources.map((x) => x.resource.metadata.name),
      ['a', 'b', 'c'],
    );
  });

  test('malformed YAML is reported with line and column', () => {
    const r = loadResources('apiVersion: v1\nkind: ipPool\nmetadata:\n  cidr: [10.0.0.0/8\n');
    assert.equal(r.resources.length, 0);
    assert.match(r.problems[0]?.problems[0] ?? '', /^malformed YAML: line \d+, column \d+: /);
  });

  test('a problem names the document, its line and the resource', () => {
    const text =
      'apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: a}\nspec: {}\n---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: nope}\n';
    const r = loadResources(text);
    assert.equal(r.resources.length, 1);
    assert.equal(r.problems[0]?.label, 'document 2 (line 6), IPPool "p"');
    assert.deepEqual(r.problems[0]?.problems, [
      'spec.cidr: "nope" is not a valid CIDR (expected address/length)',
    ]);
  });

  test('unknown kinds and v1 unknown fields are named', () => {
    const r1 = loadResources(
      'apiVersion: projectcalico.org/v3\nkind: Gadget\nmetadata: {name: a}\nspec: {}\n',
    );
    assert.deepEqual(r1.problems[0]?.problems, ['kind: "Gadget" is not a known v3 resource kind']);
    const r2 = loadResources(
      'apiVersion: v1\nkind: ipPool\nmetadata: {cidr: 10.0.0.0/8}\nspec: {nat-outgoin: true}\n',
    );
    assert.match(r2.problems[0]?.problems[0] ?? '', /^spec\.nat-outgoin: unknown field "nat-outgoin"/);
  });

  test('a dotted AS number in YAML keeps its meaning (1.10 is 65546, not 1.1)', () => {
    const r = loadResources(
      'apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: 10.0.0.1}\nspec:\n  asNumber: 1.10\n',
    );
    assert.deepEqual(r.problems, []);
    assert.equal((r.resources[0]?.resource.spec as { asNumber: number }).asNumber, 65546);
  });
});
