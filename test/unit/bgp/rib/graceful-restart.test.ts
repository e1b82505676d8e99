import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_STALE_PATH_TIME_MS } from '../../../../src/bgp/rib/index.js';
import {
  LOCAL_AS,
  attrs,
  describeAdvertisement,
  describeRoutes,
  newRib,
  prefix,
  ribPeer,
} from './rib-fixtures.js';

const PEER = ribPeer('10.0.0.2', LOCAL_AS);
const OTHER = ribPeer('10.0.0.3', LOCAL_AS);
const P1 = prefix('10.65.1.0/26');
const P2 = prefix('10.65.2.0/26');
const V6 = prefix('2001:db8:65::/64');
const GR = { gracefulRestart: { families: ['ipv4', 'ipv6'] as const, restartTimeMs: 120_000 } };

function ribWithRoutes() {
  const rib = newRib();
  rib.peerUp(PEER, 0);
  rib.announce(PEER.address, [P1, P2], attrs({ nextHop: PEER.address }), 0);
  rib.announce(PEER.address, [V6], attrs({ nextHop: '2001:db8::2' }), 0);
  rib.flush();
  return rib;
}

describe('graceful restart, receiving speaker (RFC 4724 4.2)', () => {
  test('without graceful restart a peer going down takes its routes with it', () => {
    const rib = ribWithRoutes();
    rib.peerDown(PEER.address, 1000);
    assert.deepEqual(describeRoutes(rib.flush()), ['-10.65.1.0/26', '-10.65.2.0/26', '-2001:db8:65::/64']);
    assert.deepEqual(rib.peerStats(), []);
  });

  test('with graceful restart the routes stay, marked stale, and the FIB sees no change', () => {
    const rib = ribWithRoutes();
    rib.peerDown(PEER.address, 1000, GR);
    assert.deepEqual(rib.flush().routes, []);
    assert.equal(rib.route(P1)?.best?.stale, true);
    assert.equal(rib.nextStaleDeadline(), 121_000);
    assert.deepEqual(rib.peerStats(), [
      { peerId: PEER.address, up: false, received: 3, accepted: 3, stale: 3, advertised: 0 },
    ]);
  });

  test('families the peer did not preserve are removed at once', () => {
    const rib = ribWithRoutes();
    rib.peerDown(PEER.address, 1000, { gracefulRestart: { families: ['ipv4'], restartTimeMs: 120_000 } });
    assert.deepEqual(describeRoutes(rib.flush()), ['-2001:db8:65::/64']);
  });

  test('the restart time running out removes the stale routes', () => {
    const rib = ribWithRoutes();
    rib.peerDown(PEER.address, 1000, GR);
    assert.deepEqual(rib.expireStale(120_999), []);
    assert.deepEqual(rib.flush().routes, []);
    assert.deepEqual(rib.expireStale(121_000), [PEER.address]);
    assert.deepEqual(describeRoutes(rib.flush()), ['-10.65.1.0/26', '-10.65.2.0/26', '-2001:db8:65::/64']);
    assert.equal(rib.nextStaleDeadline(), undefined);
  });

  test('after the peer returns, End-of-RIB removes what it did not re-send, per family', () => {
    const rib = ribWithRoutes();
    rib.peerDown(PEER.address, 1000, GR);
    rib.flush();
    rib.peerUp(PEER, 5000);
    assert.equal(rib.nextStaleDeadline(), 5000 + DEFAULT_STALE_PATH_TIME_MS);
    rib.announce(PEER.address, [P1], attrs({ nextHop: PEER.address }), 5000);
    assert.deepEqual(rib.flush().routes, [], 'an identical re-sent route is no change');
    assert.equal(rib.route(P1)?.best?.stale, false);
    assert.equal(rib.route(P2)?.best?.stale, true);
    rib.endOfRib(PEER.address, 'ipv4');
    assert.deepEqual(describeRoutes(rib.flush()), ['-10.65.2.0/26']);
    assert.equal(rib.route(V6)?.best?.stale, true, 'IPv6 waits for its own End-of-RIB');
    rib.endOfRib(PEER.address, 'ipv6');
    assert.deepEqual(describeRoutes(rib.flush()), ['-2001:db8:65::/64']);
    assert.equal(rib.nextStaleDeadline(), undefined);
  });

  test('a route re-sent with different attributes is a change', () => {
    const rib = ribWithRoutes();
    rib.peerDown(PEER.address, 1000, GR);
    rib.peerUp(PEER, 2000);
    rib.announce(PEER.address, [P1], attrs({ nextHop: PEER.address, med: 5 }), 2000);
    assert.deepEqual(describeRoutes(rib.flush()), ['+10.65.1.0/26 via 10.0.0.2']);
  });

  test('the stale-path time after re-establishment sweeps what End-of-RIB never cleared', () => {
    const rib = ribWithRoutes();
    rib.peerDown(PEER.address, 1000, GR);
    rib.peerUp({ ...PEER, stalePathTimeMs: 30_000 }, 2000);
    assert.deepEqual(rib.expireStale(32_000), [PEER.address]);
    assert.equal(describeRoutes(rib.flush()).length, 3);
  });

  test('stale paths still compete: a fresh better path from another peer wins, the stale one stays as backup', () => {
    const rib = ribWithRoutes();
    rib.peerUp(OTHER, 0);
    rib.peerDown(PEER.address, 1000, GR);
    rib.announce(OTHER.address, [P1], attrs({ nextHop: OTHER.address, localPref: 200 }), 1000);
    assert.deepEqual(describeRoutes(rib.flush()), ['+10.65.1.0/26 via 10.0.0.3']);
    rib.withdraw(OTHER.address, [P1]);
    assert.deepEqual(describeRoutes(rib.flush()), ['+10.65.1.0/26 via 10.0.0.2']);
  });

  test('markStale and sweepStale work on a live session too (e.g. around a route refresh)', () => {
    const rib = ribWithRoutes();
    rib.markStale(PEER.address, ['ipv4']);
    rib.announce(PEER.address, [P2], attrs({ nextHop: PEER.address }), 10);
    assert.equal(rib.sweepStale(PEER.address, 'ipv4'), 1);
    assert.deepEqual(describeRoutes(rib.flush()), ['-10.65.1.0/26']);
  });

  test('a peer that withdraws a stale route while restarting removes it at once', () => {
    const rib = ribWithRoutes();
    rib.peerDown(PEER.address, 1000, GR);
    rib.peerUp(PEER, 2000);
    rib.withdraw(PEER.address, [P2]);
    assert.deepEqual(describeRoutes(rib.flush()), ['-10.65.2.0/26']);
  });
});

describe('graceful restart, restarting speaker (RFC 4724 4.1)', () => {
  test('selection is deferred until every listed peer has sent End-of-RIB for its families', () => {
    const rib = newRib();
    rib.deferSelection([PEER.address, OTHER.address]);
    rib.peerUp(PEER, 0);
    rib.peerUp(OTHER, 0);
    rib.announce(PEER.address, [P1], attrs({ nextHop: PEER.address }), 0);
    rib.announce(OTHER.address, [P2], attrs({ nextHop: OTHER.address }), 0);
    assert.deepEqual(rib.flush(), { routes: [], advertisements: [] }, 'no FIB change, no UPDATE');
    rib.endOfRib(PEER.address, 'ipv4');
    rib.endOfRib(PEER.address, 'ipv6');
    rib.endOfRib(OTHER.address, 'ipv4');
    assert.equal(rib.selectionDeferred, true);
    rib.endOfRib(OTHER.address, 'ipv6');
    assert.equal(rib.selectionDeferred, false);
    const changes = rib.flush();
    assert.deepEqual(describeRoutes(changes), ['+10.65.1.0/26 via 10.0.0.2', '+10.65.2.0/26 via 10.0.0.3']);
    assert.deepEqual(describeAdvertisement(changes, PEER.address), ['eor:ipv4', 'eor:ipv6']);
  });

  test('a waited-for peer that goes down is no longer waited for; the deferral timer can end it too', () => {
    const rib = newRib();
    rib.deferSelection([PEER.address, OTHER.address]);
    rib.peerUp(PEER, 0);
    rib.peerDown(PEER.address, 1);
    assert.equal(rib.selectionDeferred, true);
    rib.endSelectionDeferral();
    assert.equal(rib.selectionDeferred, false);
  });

  test('routes we originate while deferred go out after, with our first table', () => {
    const rib = newRib();
    rib.deferSelection([PEER.address]);
    rib.peerUp({ ...PEER, families: ['ipv4'] }, 0);
    rib.originate([P1], 0);
    assert.deepEqual(rib.flush().advertisements, []);
    rib.endOfRib(PEER.address, 'ipv4');
    assert.deepEqual(describeAdvertisement(rib.flush(), PEER.address), ['+10.65.1.0/26', 'eor:ipv4']);
  });
});
