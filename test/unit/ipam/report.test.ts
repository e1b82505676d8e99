import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateFromBlock, newBlock, type AllocationBlock } from '../../../src/ipam/block.js';
import { poolViews } from '../../../src/ipam/pools.js';
import {
  describeProblem,
  findProblems,
  summarizeUsage,
  type IpamSnapshot,
} from '../../../src/ipam/report.js';
import { parseCidr, type Cidr } from '../../../src/net/ip.js';

const cidr = (t: string): Cidr => {
  const c = parseCidr(t);
  assert.ok(c);
  return c;
};
const pools = poolViews([
  {
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'p' },
    spec: { cidr: '10.0.0.0/24', blockSize: 29 },
  },
]);
function block(
  c: string,
  host: string | undefined,
  holders: [string, number][],
): { cidr: Cidr; block: AllocationBlock } {
  let b = newBlock(cidr(c), host, false);
  for (const [handle, n] of holders) b = allocateFromBlock(b, n, { handle, attrs: {} }).block;
  return { cidr: cidr(c), block: b };
}

const healthy: IpamSnapshot = {
  pools,
  blocks: [block('10.0.0.0/29', 'n1', [['net.c1', 1]])],
  affinityIndex: [{ host: 'n1', cidr: cidr('10.0.0.0/29') }],
  handles: [{ handle: 'net.c1', blocks: { '10.0.0.0/29': 1 } }],
  nodes: new Set(['n1']),
  addressesInUse: new Set(),
  containerIds: new Set(['c1']),
};

describe('ipam check', () => {
  test('a consistent store has no problems (the handle <network>.<containerID> belongs to a workload)', () => {
    assert.deepEqual(findProblems(healthy), { blocks: 1, addressesInUse: 1, handles: 1, problems: [] });
  });

  const cases: [string, Partial<IpamSnapshot>, unknown[]][] = [
    [
      'an address no workload endpoint uses is leaked',
      { containerIds: new Set() },
      [{ kind: 'leaked-address', ip: '10.0.0.0', block: '10.0.0.0/29', handle: 'net.c1' }],
    ],
    [
      'a handle whose network name has dots still belongs to its workload',
      {
        handles: [{ handle: 'my.net.c1', blocks: { '10.0.0.0/29': 1 } }],
        blocks: [block('10.0.0.0/29', 'n1', [['my.net.c1', 1]])],
      },
      [],
    ],
    [
      'a container ID with dots still owns its handle <network>.<containerID>',
      {
        containerIds: new Set(['pod.v2.c1']),
        handles: [{ handle: 'net.pod.v2.c1', blocks: { '10.0.0.0/29': 1 } }],
        blocks: [block('10.0.0.0/29', 'n1', [['net.pod.v2.c1', 1]])],
      },
      [],
    ],
    [
      'a handle that only ends like a live container ID after its last dot is still leaked',
      {
        containerIds: new Set(['v2.c1']),
        handles: [{ handle: 'net.c1', blocks: { '10.0.0.0/29': 1 } }],
        blocks: [block('10.0.0.0/29', 'n1', [['net.c1', 1]])],
      },
      [{ kind: 'leaked-address', ip: '10.0.0.0', block: '10.0.0.0/29', handle: 'net.c1' }],
    ],
    [
      'the containerID attribute recorded by the CNI plugin identifies the owner whatever the handle',
      {
        containerIds: new Set(['c9']),
        handles: [{ handle: 'opaque-handle', blocks: { '10.0.0.0/29': 1 } }],
        blocks: [
          {
            cidr: cidr('10.0.0.0/29'),
            block: allocateFromBlock(newBlock(cidr('10.0.0.0/29'), 'n1', false), 1, {
              handle: 'opaque-handle',
              attrs: { containerID: 'c9' },
            }).block,
          },
        ],
      },
      [],
    ],
    [
      'an address listed by a workload endpoint is in use',
      { containerIds: new Set(), addressesInUse: new Set(['10.0.0.0']) },
      [],
    ],
    [
      'a block of a host without a Node resource is reported',
      { nodes: new Set() },
      [{ kind: 'block-host-missing', block: '10.0.0.0/29', host: 'n1' }],
    ],
    [
      'a block missing from its host index is reported',
      { affinityIndex: [] },
      [{ kind: 'affinity-index-missing', block: '10.0.0.0/29', host: 'n1' }],
    ],
    [
      'an index entry for a block the host does not have is reported',
      { affinityIndex: [...healthy.affinityIndex, { host: 'n2', cidr: cidr('10.0.0.8/29') }] },
      [{ kind: 'affinity-index-stale', block: '10.0.0.8/29', host: 'n2' }],
    ],
    [
      'a handle count that disagrees with the block is reported',
      { handles: [{ handle: 'net.c1', blocks: { '10.0.0.0/29': 3 } }] },
      [{ kind: 'handle-count-mismatch', handle: 'net.c1', block: '10.0.0.0/29', recorded: 3, actual: 1 }],
    ],
    [
      'a block outside every pool is reported',
      { pools: [] },
      [{ kind: 'block-outside-pools', block: '10.0.0.0/29' }],
    ],
  ];
  for (const [name, change, problems] of cases)
    test(name, () => {
      assert.deepEqual(findProblems({ ...healthy, ...change }).problems, problems);
    });

  test('every problem has a message that says what to do', () => {
    const report = findProblems({ ...healthy, containerIds: new Set(), nodes: new Set() });
    const lines = report.problems.map(describeProblem);
    assert.deepEqual(lines, [
      "block 10.0.0.0/29 is affine to host n1, which has no Node resource; release the host's addresses and blocks with calicoctl ipam release --host=n1",
      'leaked address 10.0.0.0 in block 10.0.0.0/29 (handle net.c1): no workload endpoint or node uses it; release it with calicoctl ipam release --ip=10.0.0.0',
    ]);
  });
});

describe('usage per pool', () => {
  test('counts addresses in use per pool and per block, with block hosts; stray blocks are listed apart', () => {
    const report = summarizeUsage(pools, [
      block('10.0.0.8/29', 'n2', [['x', 8]]),
      block('10.0.0.0/29', 'n1', [['y', 3]]),
      block('10.9.0.0/29', undefined, [['z', 1]]),
    ]);
    assert.deepEqual(report, {
      pools: [
        {
          name: 'p',
          cidr: '10.0.0.0/24',
          disabled: false,
          total: 256n,
          inUse: 11,
          blocks: [
            { cidr: '10.0.0.0/29', host: 'n1', total: 8, inUse: 3 },
            { cidr: '10.0.0.8/29', host: 'n2', total: 8, inUse: 8 },
          ],
        },
      ],
      orphanBlocks: [{ cidr: '10.9.0.0/29', host: undefined, total: 8, inUse: 1 }],
    });
  });
});
