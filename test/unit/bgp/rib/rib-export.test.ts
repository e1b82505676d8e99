import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExportPolicy } from '../../../../src/bgp/rib/index.js';
import { NO_EXPORT } from '../../../../src/bgp/types.js';
import {
  LOCAL_AS,
  attrs,
  describeAdvertisement,
  newRib,
  prefix,
  ribPeer,
  sentAttrs,
  seq,
} from './rib-fixtures.js';

const BLOCK = prefix('10.65.1.0/26');

describe('Adj-RIB-Out: initial table and incremental updates', () => {
  test('a peer that comes up gets the whole table, then End-of-RIB for its families', () => {
    const rib = newRib();
    rib.originate([BLOCK, prefix('10.65.2.0/26')], 0);
    rib.flush();
    const peer = ribPeer('10.0.0.2', LOCAL_AS, { families: ['ipv4'] });
    rib.peerUp(peer, 0);
    assert.deepEqual(describeAdvertisement(rib.flush(), peer.address), [
      '+10.65.1.0/26',
      '+10.65.2.0/26',
      'eor:ipv4',
    ]);
    assert.equal(rib.flush().advertisements.length, 0, 'nothing more until something changes');
  });

  test('an empty table still gets End-of-RIB', () => {
    const rib = newRib();
    rib.peerUp(ribPeer('10.0.0.2', LOCAL_AS), 0);
    assert.deepEqual(describeAdvertisement(rib.flush(), '10.0.0.2'), ['eor:ipv4', 'eor:ipv6']);
  });

  test('changes after the initial table are sent as they happen, withdrawals included', () => {
    const rib = newRib();
    const ibgp = ribPeer('10.0.0.2', LOCAL_AS);
    rib.peerUp(ibgp, 0);
    rib.flush();
    rib.originate([BLOCK], 1);
    assert.deepEqual(describeAdvertisement(rib.flush(), ibgp.address), ['+10.65.1.0/26']);
    rib.withdrawOriginated([BLOCK]);
    assert.deepEqual(describeAdvertisement(rib.flush(), ibgp.address), ['-10.65.1.0/26']);
    assert.deepEqual(rib.advertisedRoutes(ibgp.address), []);
  });

  test('a route is not sent back to the peer it came from, and is withdrawn from a peer whose own path becomes best', () => {
    const rib = newRib();
    const a = ribPeer('192.0.2.1', 65001);
    const b = ribPeer('192.0.2.2', 65002);
    rib.peerUp(a, 0);
    rib.peerUp(b, 0);
    rib.flush();
    rib.announce(a.address, [BLOCK], attrs({ asPath: seq(65001, 7, 8) }), 0);
    let changes = rib.flush();
    assert.deepEqual(describeAdvertisement(changes, a.address), []);
    assert.deepEqual(describeAdvertisement(changes, b.address), ['+10.65.1.0/26']);
    rib.announce(b.address, [BLOCK], attrs({ asPath: seq(65002) }), 1);
    changes = rib.flush();
    assert.deepEqual(describeAdvertisement(changes, b.address), ['-10.65.1.0/26']);
    assert.deepEqual(describeAdvertisement(changes, a.address), ['+10.65.1.0/26']);
    assert.deepEqual(sentAttrs(changes, a.address, '10.65.1.0/26')?.asPath, seq(LOCAL_AS, 65002));
  });

  test('a ROUTE-REFRESH gets the whole table again, without End-of-RIB', () => {
    const rib = newRib();
    const peer = ribPeer('10.0.0.2', LOCAL_AS, { families: ['ipv4'] });
    rib.originate([BLOCK], 0);
    rib.peerUp(peer, 0);
    rib.flush();
    rib.resendTo(peer.address);
    assert.deepEqual(describeAdvertisement(rib.flush(), peer.address), ['+10.65.1.0/26']);
    assert.equal(rib.flush().advertisements.length, 0);
  });

  test('only negotiated families are sent', () => {
    const rib = newRib();
    rib.originate([BLOCK, prefix('2001:db8:65::/64')], 0);
    rib.peerUp(ribPeer('10.0.0.2', LOCAL_AS, { families: ['ipv4'] }), 0);
    assert.deepEqual(describeAdvertisement(rib.flush(), '10.0.0.2'), ['+10.65.1.0/26', 'eor:ipv4']);
  });

  test('NO_EXPORT routes go to iBGP peers but not to eBGP peers', () => {
    const rib = newRib();
    rib.peerUp(ribPeer('10.0.0.2', LOCAL_AS), 0);
    rib.peerUp(ribPeer('192.0.2.9', 65009), 0);
    rib.flush();
    rib.originate([BLOCK], 0, { origin: 0, asPath: [], communities: [NO_EXPORT] });
    const changes = rib.flush();
    assert.deepEqual(describeAdvertisement(changes, '10.0.0.2'), ['+10.65.1.0/26']);
    assert.deepEqual(describeAdvertisement(changes, '192.0.2.9'), []);
  });

  test('prefixes sharing attributes are grouped for one UPDATE', () => {
    const rib = newRib();
    const peer = ribPeer('10.0.0.2', LOCAL_AS, { families: ['ipv4'] });
    rib.peerUp(peer, 0);
    rib.flush();
    rib.originate([BLOCK, prefix('10.65.2.0/26'), prefix('10.65.3.0/26')], 0);
    const [adv] = rib.flush().advertisements;
    assert.equal(adv?.announce.length, 1);
    assert.equal(adv?.announce[0]?.prefixes.length, 3);
    assert.equal(adv?.announce[0]?.family, 'ipv4');
  });
});

describe('export policy', () => {
  const onlyBlocks: ExportPolicy = ({ prefix: p, attrs: a }) => (p.length === 26 ? a : null);

  test('the policy filters what a peer gets', () => {
    const rib = newRib();
    rib.originate([BLOCK, prefix('10.65.9.7/32')], 0);
    rib.peerUp(ribPeer('192.0.2.9', 65009, { families: ['ipv4'], exportPolicy: onlyBlocks }), 0);
    assert.deepEqual(describeAdvertisement(rib.flush(), '192.0.2.9'), ['+10.65.1.0/26', 'eor:ipv4']);
  });

  test('the policy sees the rewritten attributes and may change them', () => {
    const rib = newRib();
    rib.originate([BLOCK], 0);
    rib.peerUp(
      ribPeer('192.0.2.9', 65009, {
        families: ['ipv4'],
        exportPolicy: ({ attrs: a }) => ({
          ...a,
          asPath: [{ type: 'sequence', asns: [LOCAL_AS, ...a.asPath[0]!.asns] }],
        }),
      }),
      0,
    );
    assert.deepEqual(sentAttrs(rib.flush(), '192.0.2.9', '10.65.1.0/26')?.asPath, seq(LOCAL_AS, LOCAL_AS));
  });

  test('changing the policy of a live peer sends only the difference (no End-of-RIB)', () => {
    const rib = newRib();
    rib.originate([BLOCK, prefix('10.65.9.7/32')], 0);
    const peer = ribPeer('192.0.2.9', 65009, { families: ['ipv4'] });
    rib.peerUp(peer, 0);
    rib.flush();
    rib.updatePeer({ ...peer, exportPolicy: onlyBlocks }, 1);
    assert.deepEqual(describeAdvertisement(rib.flush(), peer.address), ['-10.65.9.7/32']);
  });
});

describe('route reflection through the RIB (RFC 4456)', () => {
  const C1 = ribPeer('10.0.0.11', LOCAL_AS, { routeReflectorClient: true, families: ['ipv4'] });
  const C2 = ribPeer('10.0.0.12', LOCAL_AS, { routeReflectorClient: true, families: ['ipv4'] });
  const N1 = ribPeer('10.0.0.21', LOCAL_AS, { families: ['ipv4'] });
  const N2 = ribPeer('10.0.0.22', LOCAL_AS, { families: ['ipv4'] });

  function reflector() {
    const rib = newRib({ clusterId: '244.0.0.1' });
    for (const p of [C1, C2, N1, N2]) rib.peerUp(p, 0);
    rib.flush();
    return rib;
  }

  test('from a client: reflected to the other clients and to non-clients', () => {
    const rib = reflector();
    rib.announce(C1.address, [BLOCK], attrs({ nextHop: C1.address }), 0);
    const changes = rib.flush();
    assert.deepEqual(
      [C1, C2, N1, N2].map((p) => describeAdvertisement(changes, p.address).join(' ')),
      ['', '+10.65.1.0/26', '+10.65.1.0/26', '+10.65.1.0/26'],
    );
    const sent = sentAttrs(changes, N1.address, '10.65.1.0/26');
    assert.equal(sent?.originatorId, C1.routerId);
    assert.deepEqual(sent?.clusterList, ['244.0.0.1']);
    assert.equal(sent?.nextHop, C1.address, 'the reflector stays out of the data path');
  });

  test('from a non-client: reflected to clients only', () => {
    const rib = reflector();
    rib.announce(N1.address, [BLOCK], attrs({ nextHop: N1.address }), 0);
    const changes = rib.flush();
    assert.deepEqual(
      [C1, C2, N1, N2].map((p) => describeAdvertisement(changes, p.address).join(' ')),
      ['+10.65.1.0/26', '+10.65.1.0/26', '', ''],
    );
  });

  test('a client reconfigured as a non-client stops being reflected to non-clients', () => {
    const rib = reflector();
    rib.announce(C1.address, [BLOCK], attrs({ nextHop: C1.address }), 0);
    rib.flush();
    rib.updatePeer({ ...C1, routeReflectorClient: false }, 1);
    const changes = rib.flush();
    assert.deepEqual(
      [C1, C2, N1, N2].map((p) => describeAdvertisement(changes, p.address).join(' ')),
      ['', '', '-10.65.1.0/26', '-10.65.1.0/26'],
    );
  });

  test('a client that gets its own route back through another reflector drops it', () => {
    // We are the client here: our router id is the ORIGINATOR_ID on the reflected copy.
    const client = newRib({ routerId: '10.0.0.11' });
    const rr = ribPeer('10.0.0.1', LOCAL_AS);
    client.peerUp(rr, 0);
    client.announce(rr.address, [BLOCK], attrs({ originatorId: '10.0.0.11', clusterList: ['244.0.0.1'] }), 0);
    assert.equal(client.flush().routes.length, 0);
  });
});

describe('downward default (seed "Downward Default model")', () => {
  const D1 = ribPeer('10.1.0.1', 65101, { downstream: true, families: ['ipv4'] });
  const D2 = ribPeer('10.1.0.2', 65102, { downstream: true, families: ['ipv4'] });
  const UP = ribPeer('10.0.0.1', 65200, { families: ['ipv4'] });

  function tor() {
    const rib = newRib();
    for (const p of [D1, D2, UP]) rib.peerUp(p, 0);
    rib.flush();
    return rib;
  }

  test('downstream peers get only a default route, upstream peers get everything', () => {
    const rib = tor();
    rib.announce(D1.address, [BLOCK], attrs({ asPath: seq(65101), nextHop: D1.address }), 0);
    const changes = rib.flush();
    assert.deepEqual(describeAdvertisement(changes, UP.address), ['+10.65.1.0/26']);
    assert.deepEqual(describeAdvertisement(changes, D2.address), ['+0.0.0.0/0']);
    assert.deepEqual(
      describeAdvertisement(changes, D1.address),
      [],
      'its own route does not earn it a default',
    );
    const def = sentAttrs(changes, D2.address, '0.0.0.0/0');
    assert.deepEqual(def?.asPath, seq(LOCAL_AS));
    assert.equal(def?.nextHop, '10.255.0.1');
  });

  test('the default is sent once, however many routes stand behind it, and withdrawn with the last one', () => {
    const rib = tor();
    rib.announce(UP.address, [prefix('8.8.0.0/16'), prefix('9.9.0.0/16')], attrs({ asPath: seq(65200) }), 0);
    let changes = rib.flush();
    assert.deepEqual(describeAdvertisement(changes, D1.address), ['+0.0.0.0/0']);
    assert.deepEqual(describeAdvertisement(changes, D2.address), ['+0.0.0.0/0']);
    rib.withdraw(UP.address, [prefix('8.8.0.0/16')]);
    changes = rib.flush();
    assert.deepEqual(describeAdvertisement(changes, D1.address), []);
    rib.withdraw(UP.address, [prefix('9.9.0.0/16')]);
    changes = rib.flush();
    assert.deepEqual(describeAdvertisement(changes, D1.address), ['-0.0.0.0/0']);
    assert.deepEqual(describeAdvertisement(changes, D2.address), ['-0.0.0.0/0']);
  });

  test('a downstream peer coming up gets the default in its initial table', () => {
    const rib = newRib();
    rib.peerUp(UP, 0);
    rib.announce(UP.address, [prefix('8.8.0.0/16')], attrs({ asPath: seq(65200) }), 0);
    rib.flush();
    rib.peerUp(D1, 0);
    assert.deepEqual(describeAdvertisement(rib.flush(), D1.address), ['+0.0.0.0/0', 'eor:ipv4']);
  });
});

describe('advertisement shape for the encoder', () => {
  test('withdrawals come one group per family, as UPDATEs must carry them', () => {
    const rib = newRib();
    rib.peerUp(ribPeer('10.0.0.2', LOCAL_AS), 0);
    rib.originate([BLOCK, prefix('2001:db8:65::/64'), prefix('10.65.2.0/26')], 0);
    rib.flush();
    rib.withdrawOriginated([BLOCK, prefix('2001:db8:65::/64'), prefix('10.65.2.0/26')]);
    const [adv] = rib.flush().advertisements;
    assert.deepEqual(
      adv?.withdraw.map((g) => [g.family, g.prefixes.length]),
      [
        ['ipv4', 2],
        ['ipv6', 1],
      ],
    );
  });
});
