import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { diffPrefixes, originatedPrefixes, prefixText } from '../../../../src/bgp/speaker/index.js';

describe('what a node originates', () => {
  const TABLE = [
    {
      name: 'each affine block as one prefix',
      blocks: ['10.65.0.64/26', '10.65.0.0/26'],
      workloads: [],
      want: ['10.65.0.0/26', '10.65.0.64/26'],
    },
    {
      name: 'workloads inside our blocks add nothing: the block covers them',
      blocks: ['10.65.0.0/26'],
      workloads: ['10.65.0.7/32', '10.65.0.8'],
      want: ['10.65.0.0/26'],
    },
    {
      name: 'a borrowed address (outside every block of ours) becomes a host route',
      blocks: ['10.65.0.0/26'],
      workloads: ['10.65.1.9/32'],
      want: ['10.65.0.0/26', '10.65.1.9/32'],
    },
    {
      name: 'IPv6 blocks and borrowed IPv6 addresses, after IPv4',
      blocks: ['fd00:65::/122'],
      workloads: ['fd00:66::5/128', '10.65.1.9/32'],
      want: ['10.65.1.9/32', 'fd00:65::/122', 'fd00:66::5/128'],
    },
    {
      name: 'duplicates and garbage are dropped',
      blocks: ['10.65.0.0/26', '10.65.0.0/26', 'not-a-cidr'],
      workloads: ['10.65.1.9', '10.65.1.9/32', 'nope'],
      want: ['10.65.0.0/26', '10.65.1.9/32'],
    },
  ];
  for (const row of TABLE) {
    test(row.name, () =>
      assert.deepEqual(originatedPrefixes(row.blocks, row.workloads).map(prefixText), row.want),
    );
  }

  test('diffPrefixes says what to originate and what to withdraw', () => {
    const before = originatedPrefixes(['10.65.0.0/26'], ['10.65.1.9']);
    const after = originatedPrefixes(['10.65.0.0/26', '10.65.0.64/26'], []);
    const d = diffPrefixes(before, after);
    assert.deepEqual(d.originate.map(prefixText), ['10.65.0.64/26']);
    assert.deepEqual(d.withdraw.map(prefixText), ['10.65.1.9/32']);
  });
});
