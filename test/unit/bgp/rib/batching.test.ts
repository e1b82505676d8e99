import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  LOCAL_AS,
  attrs,
  describeAdvertisement,
  describeRoutes,
  newRib,
  prefix,
  ribPeer,
  seq,
} from './rib-fixtures.js';

const A = ribPeer('192.0.2.1', 65001, { families: ['ipv4'] });
const A2 = ribPeer('192.0.2.2', 65001, { families: ['ipv4'] });
const WATCHER = ribPeer('10.0.0.9', LOCAL_AS, { families: ['ipv4'] });
const P = prefix('10.65.1.0/26');

function ribWithPeers() {
  const rib = newRib();
  for (const p of [A, A2, WATCHER]) rib.peerUp(p, 0);
  rib.flush();
  return rib;
}

describe('batching: one decision and one diff per prefix per flush', () => {
  test('a withdraw and an identical re-announcement in one batch produce nothing', () => {
    const rib = ribWithPeers();
    rib.announce(A.address, [P], attrs({ asPath: seq(65001) }), 0);
    rib.flush();
    rib.withdraw(A.address, [P]);
    rib.announce(A.address, [P], attrs({ asPath: seq(65001) }), 1);
    assert.deepEqual(rib.flush(), { routes: [], advertisements: [] });
  });

  test('a session flap without graceful restart, inside one batch, produces nothing', () => {
    const rib = ribWithPeers();
    rib.announce(A.address, [P], attrs({ asPath: seq(65001) }), 0);
    rib.flush();
    rib.peerDown(A.address, 1);
    rib.peerUp(A, 2);
    rib.announce(A.address, [P], attrs({ asPath: seq(65001) }), 2);
    const changes = rib.flush();
    assert.deepEqual(changes.routes, []);
    assert.deepEqual(describeAdvertisement(changes, WATCHER.address), []);
    assert.deepEqual(
      describeAdvertisement(changes, A.address),
      ['eor:ipv4'],
      'the returning peer gets its table',
    );
  });

  test('an announcement withdrawn before the flush never appears', () => {
    const rib = ribWithPeers();
    rib.announce(A.address, [P], attrs({ asPath: seq(65001) }), 0);
    rib.withdraw(A.address, [P]);
    assert.deepEqual(rib.flush(), { routes: [], advertisements: [] });
  });

  test('two peers announcing one prefix in a batch give one change with the final ECMP set', () => {
    const rib = ribWithPeers();
    rib.announce(A2.address, [P], attrs({ asPath: seq(65001), nextHop: A2.address }), 0);
    rib.announce(A.address, [P], attrs({ asPath: seq(65001), nextHop: A.address }), 0);
    const changes = rib.flush();
    assert.deepEqual(describeRoutes(changes), ['+10.65.1.0/26 via 192.0.2.1,192.0.2.2']);
    assert.deepEqual(describeAdvertisement(changes, WATCHER.address), ['+10.65.1.0/26']);
  });

  test('a change in the ECMP set alone reaches the FIB but sends no UPDATE', () => {
    const rib = ribWithPeers();
    rib.announce(A.address, [P], attrs({ asPath: seq(65001), nextHop: A.address }), 0);
    rib.flush();
    rib.announce(A2.address, [P], attrs({ asPath: seq(65001), nextHop: A2.address }), 1);
    const changes = rib.flush();
    assert.deepEqual(describeRoutes(changes), ['+10.65.1.0/26 via 192.0.2.1,192.0.2.2']);
    assert.deepEqual(describeAdvertisement(changes, WATCHER.address), []);
  });

  test('many updates between flushes give one change per prefix', () => {
    const rib = ribWithPeers();
    for (let med = 0; med < 5; med++) {
      rib.announce(A.address, [P, prefix('10.65.2.0/26')], attrs({ asPath: seq(65001), med }), med);
    }
    const changes = rib.flush();
    assert.equal(changes.routes.length, 2);
    for (const c of changes.routes) assert.equal(c.kind === 'best' ? c.best.attrs.med : -1, 4);
  });

  test('a flush with nothing pending is empty, and the RIB says so beforehand', () => {
    const rib = ribWithPeers();
    assert.equal(rib.hasPendingWork, false);
    assert.deepEqual(rib.flush(), { routes: [], advertisements: [] });
    rib.announce(A.address, [P], attrs({ asPath: seq(65001) }), 0);
    assert.equal(rib.hasPendingWork, true);
    rib.flush();
    rib.peerUp(ribPeer('10.0.0.77', LOCAL_AS), 0);
    assert.equal(rib.hasPendingWork, true, 'a new peer is owed its table');
  });

  test('route changes serialize for logs, with prefix and arrival time, without cycles', () => {
    const rib = ribWithPeers();
    rib.announce(A.address, [P], attrs({ asPath: seq(65001) }), 1_732_400_000_000.5);
    const [change] = rib.flush().routes;
    const json = JSON.parse(JSON.stringify(change)) as {
      best: { prefix: { address: string }; receivedAt: number };
    };
    assert.equal(json.best.prefix.address, '10.65.1.0');
    assert.equal(json.best.receivedAt, 1_732_400_000_000.5);
  });
});
