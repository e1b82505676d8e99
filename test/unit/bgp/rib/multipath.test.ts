import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_DECISION_OPTIONS,
  multipathNextHops,
  selectBestPath,
  type DecisionOptions,
} from '../../../../src/bgp/rib/index.js';
import { Origin } from '../../../../src/bgp/types.js';
import { candidate, peerSource, seq } from './rib-fixtures.js';

const A1 = peerSource('192.0.2.1', 65001, { routerId: '1.1.1.1' });
const A2 = peerSource('192.0.2.2', 65001, { routerId: '1.1.1.2' });
const A3 = peerSource('192.0.2.4', 65001, { routerId: '1.1.1.3' });
const B = peerSource('192.0.2.3', 65002, { routerId: '2.2.2.2' });
const I1 = peerSource('10.0.0.1', 65000);
const I2 = peerSource('10.0.0.2', 65000);

type Case = {
  name: string;
  paths: ReturnType<typeof candidate>[];
  options?: Partial<DecisionOptions>;
  /** Names in the ECMP set, best first. */
  multipath: string[];
};

const cases: Case[] = [
  {
    name: 'two eBGP paths from the same neighbouring AS, equal up to the tie-breaks, are installed together',
    paths: [
      candidate('a2', A2, { asPath: seq(65001, 7), nextHop: '192.0.2.2' }),
      candidate('a1', A1, { asPath: seq(65001, 7), nextHop: '192.0.2.1' }),
    ],
    multipath: ['a1', 'a2'],
  },
  {
    name: 'paths from different neighbouring ASes are not combined without relax',
    paths: [candidate('a1', A1, { asPath: seq(65001, 7) }), candidate('b', B, { asPath: seq(65002, 7) })],
    multipath: ['a1'],
  },
  {
    name: 'with multipath relax, equal paths from different neighbouring ASes are combined',
    paths: [candidate('a1', A1, { asPath: seq(65001, 7) }), candidate('b', B, { asPath: seq(65002, 7) })],
    options: { multipathRelax: true },
    multipath: ['a1', 'b'],
  },
  {
    name: 'a path that loses on a real criterion (MED) is not in the set',
    paths: [
      candidate('a1', A1, { asPath: seq(65001, 7), med: 10 }),
      candidate('a2', A2, { asPath: seq(65001, 7), med: 0 }),
      candidate('a3', A3, { asPath: seq(65001, 7), med: 0 }),
    ],
    multipath: ['a2', 'a3'],
  },
  {
    name: 'a path that loses on ORIGIN is not in the set',
    paths: [
      candidate('a1', A1, { asPath: seq(65001, 7), origin: Origin.Incomplete }),
      candidate('a2', A2, { asPath: seq(65001, 7) }),
    ],
    multipath: ['a2'],
  },
  {
    name: 'iBGP paths of equal IGP cost are combined; a costlier one is not',
    paths: [
      candidate('i1', I1, { asPath: seq(7) }, 5),
      candidate('i2', I2, { asPath: seq(7) }, 5),
      candidate('i3', peerSource('10.0.0.3', 65000), { asPath: seq(7) }, 9),
    ],
    multipath: ['i1', 'i2'],
  },
  {
    name: 'eBGP is preferred over iBGP before the set is formed',
    paths: [candidate('i1', I1, { asPath: seq(65001, 7) }), candidate('a1', A1, { asPath: seq(65001, 7) })],
    multipath: ['a1'],
  },
  {
    name: 'the set is capped at maxPaths, keeping tie-break order',
    paths: [
      candidate('a3', A3, { asPath: seq(65001) }),
      candidate('a2', A2, { asPath: seq(65001) }),
      candidate('a1', A1, { asPath: seq(65001) }),
    ],
    options: { maxPaths: 2 },
    multipath: ['a1', 'a2'],
  },
  {
    name: 'maxPaths 1 turns multipath off',
    paths: [candidate('a2', A2, { asPath: seq(65001) }), candidate('a1', A1, { asPath: seq(65001) })],
    options: { maxPaths: 1 },
    multipath: ['a1'],
  },
];

describe('ECMP multipath sets', () => {
  for (const c of cases) {
    test(c.name, () => {
      const selection = selectBestPath(c.paths, { ...DEFAULT_DECISION_OPTIONS, ...c.options });
      assert.deepEqual(
        selection?.multipath.map((p) => (p as { name?: string }).name),
        c.multipath,
      );
      assert.equal(selection?.multipath[0], selection?.best);
    });
  }

  test('next hops of a set are distinct, in decision order, and skip local paths', () => {
    const paths = [
      candidate('a1', A1, { nextHop: '192.0.2.1' }),
      candidate('a2-same-gw', A2, { nextHop: '192.0.2.1' }),
      candidate('b', B, { nextHop: '192.0.2.3', nextHopLinkLocal: 'fe80::3' }),
    ];
    assert.deepEqual(multipathNextHops(paths), [
      { address: '192.0.2.1', peerId: '192.0.2.1' },
      { address: '192.0.2.3', linkLocal: 'fe80::3', peerId: '192.0.2.3' },
    ]);
  });
});
