import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_DECISION_OPTIONS,
  LOCAL_SOURCE,
  selectBestPath,
  type DecisionOptions,
  type DecisionStep,
  type Elimination,
} from '../../../../src/bgp/rib/index.js';
import { Origin } from '../../../../src/bgp/types.js';
import { candidate, peerSource, seq } from './rib-fixtures.js';

// Peers: two eBGP neighbours in AS 65001 (A1, A2), one in AS 65002 (B), two iBGP peers (I1, I2).
const A1 = peerSource('192.0.2.1', 65001, { routerId: '1.1.1.1' });
const A2 = peerSource('192.0.2.2', 65001, { routerId: '1.1.1.2' });
const B = peerSource('192.0.2.3', 65002, { routerId: '2.2.2.2' });
const I1 = peerSource('10.0.0.1', 65000);
const I2 = peerSource('10.0.0.2', 65000);
const V6a = peerSource('2001:db8::2', 65000, { routerId: '10.0.0.9' });
const V6b = peerSource('2001:db8::10', 65000, { routerId: '10.0.0.9' });

type Case = {
  name: string;
  paths: ReturnType<typeof candidate>[];
  winner: string;
  reason: DecisionStep;
  options?: Partial<DecisionOptions>;
};

const cases: Case[] = [
  {
    name: 'a single path wins without a contest',
    paths: [candidate('only', A1)],
    winner: 'only',
    reason: 'only-path',
  },
  {
    name: 'highest LOCAL_PREF wins before anything else, even over a shorter AS_PATH',
    paths: [
      candidate('lp200', A1, { localPref: 200, asPath: seq(65001, 1, 2) }),
      candidate('lp100', B, { localPref: 100, asPath: seq(65002) }),
    ],
    winner: 'lp200',
    reason: 'highest-local-pref',
  },
  {
    name: 'a missing LOCAL_PREF counts as 100, beating an explicit 50',
    paths: [candidate('lp50', A1, { localPref: 50 }), candidate('none', B, { asPath: seq(65002, 9, 9) })],
    winner: 'none',
    reason: 'highest-local-pref',
  },
  {
    name: 'with LOCAL_PREF tied, a locally originated path beats a learned one',
    paths: [candidate('learned', A1, { asPath: [] }), candidate('local', LOCAL_SOURCE)],
    winner: 'local',
    reason: 'locally-originated',
  },
  {
    name: 'then the shortest AS_PATH',
    paths: [
      candidate('long', A1, { asPath: seq(65001, 3, 4) }),
      candidate('short', B, { asPath: seq(65002, 3) }),
    ],
    winner: 'short',
    reason: 'shortest-as-path',
  },
  {
    name: 'an AS_SET counts as one AS however many it lists',
    paths: [
      candidate('with-set', A1, {
        asPath: [
          { type: 'sequence', asns: [65001] },
          { type: 'set', asns: [7, 8, 9, 10] },
        ],
      }),
      candidate('three', B, { asPath: seq(65002, 7, 8) }),
    ],
    winner: 'with-set',
    reason: 'shortest-as-path',
  },
  {
    name: 'confederation segments count zero',
    paths: [
      candidate('confed', I1, {
        asPath: [
          { type: 'confed-sequence', asns: [64512, 64513, 64514] },
          { type: 'sequence', asns: [7] },
        ],
      }),
      candidate('two', I2, { asPath: seq(7, 8) }),
    ],
    winner: 'confed',
    reason: 'shortest-as-path',
  },
  {
    name: 'then the lowest ORIGIN: IGP over INCOMPLETE',
    paths: [
      candidate('incomplete', A1, { asPath: seq(65001), origin: Origin.Incomplete }),
      candidate('igp', B, { asPath: seq(65002), origin: Origin.IGP }),
    ],
    winner: 'igp',
    reason: 'lowest-origin',
  },
  {
    name: 'EGP over INCOMPLETE',
    paths: [
      candidate('incomplete', A1, { asPath: seq(65001), origin: Origin.Incomplete }),
      candidate('egp', B, { asPath: seq(65002), origin: Origin.EGP }),
    ],
    winner: 'egp',
    reason: 'lowest-origin',
  },
  {
    name: 'then the lowest MED between paths from the same neighbouring AS',
    paths: [
      candidate('med20', A1, { asPath: seq(65001), med: 20 }),
      candidate('med10', A2, { asPath: seq(65001), med: 10 }),
    ],
    winner: 'med10',
    reason: 'lowest-med',
  },
  {
    name: 'a missing MED counts as 0, the best MED',
    paths: [
      candidate('med5', A1, { asPath: seq(65001), med: 5 }),
      candidate('no-med', A2, { asPath: seq(65001) }),
    ],
    winner: 'no-med',
    reason: 'lowest-med',
  },
  {
    name: 'MED is not compared across neighbouring ASes: the lower router id wins instead',
    paths: [
      candidate('as65001-med50', A1, { asPath: seq(65001), med: 50 }),
      candidate('as65002-med1', B, { asPath: seq(65002), med: 1 }),
    ],
    winner: 'as65001-med50',
    reason: 'lowest-router-id',
  },
  {
    name: 'with always-compare-med, MED is compared across neighbouring ASes',
    paths: [
      candidate('as65001-med50', A1, { asPath: seq(65001), med: 50 }),
      candidate('as65002-med1', B, { asPath: seq(65002), med: 1 }),
    ],
    winner: 'as65002-med1',
    reason: 'lowest-med',
    options: { alwaysCompareMed: true },
  },
  {
    name: 'then eBGP over iBGP',
    paths: [candidate('ibgp', I1, { asPath: seq(65001) }), candidate('ebgp', A2, { asPath: seq(65001) })],
    winner: 'ebgp',
    reason: 'ebgp-over-ibgp',
  },
  {
    name: 'then the lowest IGP cost to the next hop',
    paths: [candidate('cost10', I1, { asPath: seq(7) }, 10), candidate('cost5', I2, { asPath: seq(7) }, 5)],
    winner: 'cost5',
    reason: 'lowest-igp-cost',
  },
  {
    name: 'an unknown IGP cost makes the step compare nothing: the router id decides',
    paths: [candidate('unknown', I1, { asPath: seq(7) }), candidate('cost5', I2, { asPath: seq(7) }, 5)],
    winner: 'unknown',
    reason: 'lowest-router-id',
  },
  {
    name: 'then the lowest router id',
    paths: [
      candidate('rid-10.0.0.2', I2, { asPath: seq(7) }),
      candidate('rid-10.0.0.1', I1, { asPath: seq(7) }),
    ],
    winner: 'rid-10.0.0.1',
    reason: 'lowest-router-id',
  },
  {
    name: 'router ids compare as numbers, not text (9.0.0.1 < 10.0.0.1)',
    paths: [
      candidate('rid-10', I1, { asPath: seq(7) }),
      candidate('rid-9', peerSource('10.0.0.5', 65000, { routerId: '9.0.0.1' }), {
        asPath: seq(7),
      }),
    ],
    winner: 'rid-9',
    reason: 'lowest-router-id',
  },
  {
    name: 'ORIGINATOR_ID stands in for the router id (RFC 4456 9)',
    paths: [
      candidate('orig-10.9.9.9', I1, { asPath: seq(7), originatorId: '10.9.9.9' }),
      candidate('rid-10.0.0.2', I2, { asPath: seq(7) }),
    ],
    winner: 'rid-10.0.0.2',
    reason: 'lowest-router-id',
  },
  {
    name: 'then the shorter CLUSTER_LIST (RFC 4456 9, after the router id)',
    paths: [
      candidate('two-clusters', I1, {
        asPath: seq(7),
        originatorId: '10.9.9.9',
        clusterList: ['1.1.1.1', '2.2.2.2'],
      }),
      candidate('one-cluster', I2, {
        asPath: seq(7),
        originatorId: '10.9.9.9',
        clusterList: ['3.3.3.3'],
      }),
    ],
    winner: 'one-cluster',
    reason: 'shortest-cluster-list',
  },
  {
    name: 'then the lowest peer address',
    paths: [
      candidate('peer-10.0.0.2', I2, { asPath: seq(7), originatorId: '10.9.9.9' }),
      candidate('peer-10.0.0.1', I1, { asPath: seq(7), originatorId: '10.9.9.9' }),
    ],
    winner: 'peer-10.0.0.1',
    reason: 'lowest-peer-address',
  },
  {
    name: 'IPv6 peer addresses compare numerically (::2 < ::10)',
    paths: [candidate('::10', V6b, { asPath: seq(7) }), candidate('::2', V6a, { asPath: seq(7) })],
    winner: '::2',
    reason: 'lowest-peer-address',
  },
];

describe('decision process (RFC 4271 9.1.2.2 order)', () => {
  for (const c of cases) {
    test(c.name, () => {
      const options = { ...DEFAULT_DECISION_OPTIONS, maxPaths: 1, ...c.options };
      for (const order of [c.paths, [...c.paths].reverse()]) {
        const selection = selectBestPath(order, options);
        assert.ok(selection, 'a selection');
        assert.equal((selection.best as { name?: string }).name, c.winner);
        assert.equal(selection.reason, c.reason);
      }
    });
  }

  test('no candidates select nothing', () => {
    assert.equal(selectBestPath([]), undefined);
  });

  test('each loser is recorded with the step that removed it', () => {
    const paths = [
      candidate('lp50', A1, { localPref: 50 }),
      candidate('long', B, { asPath: seq(65002, 1, 2) }),
      candidate('incomplete', A2, { asPath: seq(65001), origin: Origin.Incomplete }),
      candidate('winner', I1, { asPath: seq(65001) }),
    ];
    const eliminated: Elimination[] = [];
    const selection = selectBestPath(paths, DEFAULT_DECISION_OPTIONS, eliminated);
    assert.equal((selection?.best as { name?: string }).name, 'winner');
    assert.equal(selection?.reason, 'lowest-origin');
    assert.deepEqual(
      eliminated.map((e) => [(e.path as { name?: string }).name, e.step]),
      [
        ['lp50', 'highest-local-pref'],
        ['long', 'shortest-as-path'],
        ['incomplete', 'lowest-origin'],
      ],
    );
  });

  test('MED elimination is per neighbouring AS, so the winner does not depend on arrival order', () => {
    // Pairwise "better than" cycles here: x beats y (same AS, lower MED), y beats z (lower router
    // id, MED not comparable across ASes), z beats x (lower router id). Elimination over the set
    // removes y at the MED step, then z beats x on router id, whatever the order.
    const x = candidate('x', peerSource('192.0.2.11', 65001, { routerId: '1.0.0.3' }), {
      asPath: seq(65001),
      med: 1,
    });
    const y = candidate('y', peerSource('192.0.2.12', 65001, { routerId: '1.0.0.1' }), {
      asPath: seq(65001),
      med: 5,
    });
    const z = candidate('z', peerSource('192.0.2.13', 65002, { routerId: '1.0.0.2' }), {
      asPath: seq(65002),
      med: 0,
    });
    const orders = [
      [x, y, z],
      [x, z, y],
      [y, x, z],
      [y, z, x],
      [z, x, y],
      [z, y, x],
    ];
    const winners = new Set(orders.map((o) => (selectBestPath(o)?.best as { name?: string }).name));
    assert.deepEqual([...winners], ['z']);
  });
});
