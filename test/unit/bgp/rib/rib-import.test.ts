import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PathAttributes } from '../../../../src/bgp/types.js';
import { LOCAL_AS, ROUTER_ID, attrs, describeRoutes, newRib, prefix, ribPeer, seq } from './rib-fixtures.js';

const EBGP = ribPeer('192.0.2.1', 65001);
const IBGP = ribPeer('10.0.0.2', LOCAL_AS);
const P = prefix('10.65.1.0/26');

describe('import: eBGP AS_PATH loop detection', () => {
  const cases: Array<{
    name: string;
    asPath: PathAttributes['asPath'];
    allowAsIn: number;
    accepted: boolean;
  }> = [
    { name: 'a path without our AS is accepted', asPath: seq(65001, 7), allowAsIn: 0, accepted: true },
    {
      name: 'a path containing our AS is dropped',
      asPath: seq(65001, LOCAL_AS, 7),
      allowAsIn: 0,
      accepted: false,
    },
    {
      name: 'our AS inside an AS_SET is a loop too',
      asPath: [
        { type: 'sequence', asns: [65001] },
        { type: 'set', asns: [9, LOCAL_AS] },
      ],
      allowAsIn: 0,
      accepted: false,
    },
    {
      name: 'allowas-in 1 accepts one occurrence',
      asPath: seq(65001, LOCAL_AS),
      allowAsIn: 1,
      accepted: true,
    },
    {
      name: 'allowas-in 1 still drops two occurrences',
      asPath: seq(65001, LOCAL_AS, 5, LOCAL_AS),
      allowAsIn: 1,
      accepted: false,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const rib = newRib();
      rib.peerUp({ ...EBGP, allowAsIn: c.allowAsIn }, 0);
      rib.announce(EBGP.address, [P], attrs({ asPath: c.asPath }), 0);
      const changes = rib.flush();
      assert.deepEqual(describeRoutes(changes), c.accepted ? ['+10.65.1.0/26 via 192.0.2.1'] : []);
      const received = rib.receivedRoutes(EBGP.address);
      assert.equal(received.length, 1, 'the Adj-RIB-In keeps what was received either way');
      assert.equal(received[0]?.accepted, c.accepted);
    });
  }

  test('a per-peer local AS is the one checked', () => {
    const rib = newRib();
    rib.peerUp({ ...EBGP, localAs: 64999 }, 0);
    rib.announce(EBGP.address, [P], attrs({ asPath: seq(65001, LOCAL_AS) }), 0);
    rib.announce(EBGP.address, [prefix('10.65.2.0/26')], attrs({ asPath: seq(65001, 64999) }), 0);
    assert.deepEqual(describeRoutes(rib.flush()), ['+10.65.1.0/26 via 192.0.2.1']);
  });
});

describe('import: route reflection loop prevention (RFC 4456 8)', () => {
  const cases: Array<{ name: string; over: Partial<PathAttributes>; accepted: boolean }> = [
    {
      name: 'ORIGINATOR_ID equal to our router id is dropped',
      over: { originatorId: ROUTER_ID },
      accepted: false,
    },
    { name: 'another ORIGINATOR_ID is accepted', over: { originatorId: '10.0.0.9' }, accepted: true },
    {
      name: 'a CLUSTER_LIST with our cluster id is dropped',
      over: { originatorId: '10.0.0.9', clusterList: ['244.0.0.9', '244.0.0.1'] },
      accepted: false,
    },
    {
      name: 'a CLUSTER_LIST without it is accepted',
      over: { originatorId: '10.0.0.9', clusterList: ['244.0.0.9'] },
      accepted: true,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const rib = newRib({ clusterId: '244.0.0.1' });
      rib.peerUp(IBGP, 0);
      rib.announce(IBGP.address, [P], attrs(c.over), 0);
      assert.equal(rib.flush().routes.length, c.accepted ? 1 : 0);
    });
  }

  test('without a configured cluster id, our router id is the cluster id', () => {
    const rib = newRib();
    rib.peerUp(IBGP, 0);
    rib.announce(IBGP.address, [P], attrs({ clusterList: [ROUTER_ID] }), 0);
    assert.equal(rib.flush().routes.length, 0);
  });
});

describe('import: Adj-RIB-In and import policy', () => {
  test('a new announcement from the same peer replaces its old path (implicit withdraw)', () => {
    const rib = newRib();
    rib.peerUp(EBGP, 0);
    rib.announce(EBGP.address, [P], attrs({ asPath: seq(65001), med: 1 }), 0);
    rib.flush();
    rib.announce(EBGP.address, [P], attrs({ asPath: seq(65001), med: 2 }), 1);
    const changes = rib.flush();
    assert.equal(changes.routes.length, 1);
    const [change] = changes.routes;
    assert.equal(change?.kind === 'best' ? change.best.attrs.med : undefined, 2);
    assert.equal(rib.route(P)?.candidates.length, 1);
  });

  test('a re-announcement that now loops removes the path that was accepted', () => {
    const rib = newRib();
    rib.peerUp(EBGP, 0);
    rib.announce(EBGP.address, [P], attrs({ asPath: seq(65001) }), 0);
    rib.flush();
    rib.announce(EBGP.address, [P], attrs({ asPath: seq(65001, LOCAL_AS) }), 1);
    assert.deepEqual(describeRoutes(rib.flush()), ['-10.65.1.0/26']);
  });

  test('the import policy may reject or rewrite; the Adj-RIB-In keeps what the peer sent', () => {
    const rib = newRib();
    rib.peerUp(
      {
        ...EBGP,
        importPolicy: ({ prefix: p, attrs: a }) => (p.length > 28 ? null : { ...a, localPref: 250 }),
      },
      0,
    );
    rib.announce(EBGP.address, [P, prefix('10.65.9.1/32')], attrs({ asPath: seq(65001) }), 0);
    assert.deepEqual(describeRoutes(rib.flush()), ['+10.65.1.0/26 via 192.0.2.1']);
    assert.equal(rib.route(P)?.best?.attrs.localPref, 250);
    const received = rib.receivedRoutes(EBGP.address);
    assert.deepEqual(
      received.map((r) => [`${r.prefix.address}/${r.prefix.length}`, r.attrs.localPref, r.accepted]),
      [
        ['10.65.1.0/26', undefined, true],
        ['10.65.9.1/32', undefined, false],
      ],
    );
  });

  test('a changed import policy is re-applied from the Adj-RIB-In without the peer re-sending', () => {
    const rib = newRib();
    rib.peerUp(EBGP, 0);
    rib.announce(EBGP.address, [P, prefix('10.65.9.1/32')], attrs({ asPath: seq(65001) }), 0);
    assert.equal(rib.flush().routes.length, 2);
    rib.updatePeer({ ...EBGP, importPolicy: ({ prefix: p, attrs: a }) => (p.length > 28 ? null : a) }, 1);
    assert.deepEqual(describeRoutes(rib.flush()), ['-10.65.9.1/32']);
  });

  test('routes from a peer that is not established are refused with a message naming it', () => {
    const rib = newRib();
    assert.throws(() => rib.announce('192.0.2.99', [P], attrs(), 0), /192\.0\.2\.99 is not established/);
  });

  test('withdrawing removes the path; withdrawing an unknown prefix is harmless', () => {
    const rib = newRib();
    rib.peerUp(EBGP, 0);
    rib.announce(EBGP.address, [P], attrs({ asPath: seq(65001) }), 0);
    rib.flush();
    rib.withdraw(EBGP.address, [P, prefix('10.99.0.0/16')]);
    assert.deepEqual(describeRoutes(rib.flush()), ['-10.65.1.0/26']);
    assert.equal(rib.route(P), undefined);
    assert.deepEqual(rib.peerStats(), [
      { peerId: '192.0.2.1', up: true, received: 0, accepted: 0, stale: 0, advertised: 0 },
    ]);
  });

  test('IPv6 routes are kept apart from IPv4 ones', () => {
    const rib = newRib();
    rib.peerUp(EBGP, 0);
    rib.announce(
      EBGP.address,
      [prefix('2001:db8:65::/64')],
      attrs({ asPath: seq(65001), nextHop: '2001:db8::1' }),
      0,
    );
    rib.announce(EBGP.address, [P], attrs({ asPath: seq(65001) }), 0);
    assert.deepEqual(describeRoutes(rib.flush()), [
      '+10.65.1.0/26 via 192.0.2.1',
      '+2001:db8:65::/64 via 192.0.2.1',
    ]);
  });
});

describe('explaining a decision', () => {
  test('route() names the deciding step and explain() the step that removed each loser', () => {
    const rib = newRib();
    const a = ribPeer('192.0.2.1', 65001);
    const b = ribPeer('192.0.2.2', 65002);
    rib.peerUp(a, 0);
    rib.peerUp(b, 0);
    rib.announce(a.address, [P], attrs({ asPath: seq(65001, 7) }), 0);
    rib.announce(b.address, [P], attrs({ asPath: seq(65002) }), 0);
    rib.flush();
    const view = rib.route(P);
    assert.equal(view?.best?.source.kind === 'peer' ? view.best.source.peerId : '', b.address);
    assert.equal(view?.reason, 'shortest-as-path');
    const { eliminated } = rib.explain(P);
    assert.deepEqual(
      eliminated.map((e) => [e.path.source.kind === 'peer' ? e.path.source.peerId : 'local', e.step]),
      [[a.address, 'shortest-as-path']],
    );
  });
});

describe('IGP cost to the next hop', () => {
  test('the resolver given in the config ranks iBGP paths by the cost to their next hops', () => {
    const costs: Record<string, number> = { '10.0.0.2': 20, '10.0.0.3': 10 };
    const rib = newRib({ igpCost: (nextHop) => costs[nextHop] });
    const i2 = ribPeer('10.0.0.2', LOCAL_AS);
    const i3 = ribPeer('10.0.0.3', LOCAL_AS);
    rib.peerUp(i2, 0);
    rib.peerUp(i3, 0);
    rib.announce(i2.address, [P], attrs({ asPath: seq(7), nextHop: '10.0.0.2' }), 0);
    rib.announce(i3.address, [P], attrs({ asPath: seq(7), nextHop: '10.0.0.3' }), 0);
    assert.deepEqual(describeRoutes(rib.flush()), ['+10.65.1.0/26 via 10.0.0.3']);
    assert.equal(rib.route(P)?.reason, 'lowest-igp-cost');
    assert.equal(rib.route(P)?.best?.igpCost, 10);
  });
});
