import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../../../src/api/types.js';
import { SpeakerInputs, resourceKeyParts, type InputUpdate } from '../../../../src/bgp/speaker/index.js';

const wep = (name: string, node: string, ips: string[]): Resource => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'WorkloadEndpoint',
  metadata: { name, namespace: 'default' },
  spec: { node, ipNetworks: ips },
});
const set = (resource: Resource): InputUpdate => ({ type: 'set', resource });

describe('SpeakerInputs: which updates matter to BGP', () => {
  const TABLE: { name: string; updates: InputUpdate[]; matters: boolean[]; workloads: string[] }[] = [
    {
      name: 'a local workload endpoint matters and its addresses are kept',
      updates: [set(wep('w1', 'me', ['10.65.0.5/32']))],
      matters: [true],
      workloads: ['10.65.0.5/32'],
    },
    {
      name: 'another node’s workload endpoint does not matter',
      updates: [set(wep('w1', 'other', ['10.65.0.5/32']))],
      matters: [false],
      workloads: [],
    },
    {
      name: 'a workload moving away from this node matters once, then is forgotten',
      updates: [set(wep('w1', 'me', ['10.65.0.5/32'])), set(wep('w1', 'other', ['10.65.0.5/32']))],
      matters: [true, true],
      workloads: [],
    },
    {
      name: 'policies do not matter',
      updates: [
        set({
          apiVersion: 'projectcalico.org/v3',
          kind: 'GlobalNetworkPolicy',
          metadata: { name: 'p' },
          spec: {},
        }),
      ],
      matters: [false],
      workloads: [],
    },
    {
      name: 'a pool matters when its CIDR is new or gone (the export filter follows pools)',
      updates: [
        set({
          apiVersion: 'projectcalico.org/v3',
          kind: 'IPPool',
          metadata: { name: 'x' },
          spec: { cidr: '10.0.0.0/8' },
        }),
        set({
          apiVersion: 'projectcalico.org/v3',
          kind: 'IPPool',
          metadata: { name: 'x' },
          spec: { cidr: '10.0.0.0/8', natOutgoing: true },
        }),
        { type: 'delete', kind: 'IPPool', name: 'x' },
      ],
      matters: [true, false, true],
      workloads: [],
    },
    {
      name: 'only the BGPConfiguration named default matters',
      updates: [
        set({
          apiVersion: 'projectcalico.org/v3',
          kind: 'BGPConfiguration',
          metadata: { name: 'node.x' },
          spec: {},
        }),
        set({
          apiVersion: 'projectcalico.org/v3',
          kind: 'BGPConfiguration',
          metadata: { name: 'default' },
          spec: {},
        }),
        { type: 'delete', kind: 'BGPConfiguration', name: 'default' },
      ],
      matters: [false, true, true],
      workloads: [],
    },
    {
      name: 'deleting an unknown node does not matter; a known one does',
      updates: [
        { type: 'delete', kind: 'Node', name: 'ghost' },
        set({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'n' }, spec: {} }),
        { type: 'delete', kind: 'Node', name: 'n' },
      ],
      matters: [false, true, true],
      workloads: [],
    },
  ];
  for (const row of TABLE) {
    test(row.name, () => {
      const inputs = new SpeakerInputs('me');
      assert.deepEqual(
        row.updates.map((u) => inputs.apply(u)),
        row.matters,
      );
      assert.deepEqual(inputs.localWorkloadAddresses(), row.workloads);
    });
  }

  test('blocks: adding twice or removing an unknown one changes nothing', () => {
    const inputs = new SpeakerInputs('me');
    assert.deepEqual(
      [
        inputs.setBlock('10.65.0.0/26', true),
        inputs.setBlock('10.65.0.0/26', true),
        inputs.setBlock('10.65.9.0/26', false),
        inputs.setBlock('10.65.0.0/26', false),
      ],
      [true, false, false, true],
    );
    assert.deepEqual(inputs.affineBlocks(), []);
  });

  test('resource keys name their kind, namespace and name', () => {
    assert.deepEqual(resourceKeyParts('/calico/resources/v3/projectcalico.org/bgppeers/rr'), {
      kind: 'BGPPeer',
      name: 'rr',
    });
    assert.deepEqual(resourceKeyParts('/calico/resources/v3/projectcalico.org/workloadendpoints/ns1/w1'), {
      kind: 'WorkloadEndpoint',
      namespace: 'ns1',
      name: 'w1',
    });
    assert.equal(resourceKeyParts('/calico/ipam/v2/config'), undefined);
  });
});
