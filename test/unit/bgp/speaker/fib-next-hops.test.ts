// The FIB gets the distinct gateways of a route's ECMP set; a single peer path's list is shared
// by every route with the same (interned) attributes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LOCAL_SOURCE, type Path, type PathSource } from '../../../../src/bgp/rib/index.js';
import { Origin, type PathAttributes } from '../../../../src/bgp/types.js';
import { FibNextHops } from '../../../../src/bgp/speaker/fib-next-hops.js';

const PREFIX = { family: 'ipv4' as const, address: '11.0.0.0', length: 24 };

function peer(peerId: string): PathSource {
  return {
    kind: 'peer',
    peerId,
    routerId: peerId,
    asn: 65001,
    localAs: 64512,
    ibgp: false,
    routeReflectorClient: false,
  };
}

function attrs(nextHop?: string): PathAttributes {
  return {
    origin: Origin.IGP,
    asPath: [{ type: 'sequence', asns: [65001] }],
    ...(nextHop !== undefined ? { nextHop } : {}),
  };
}

function path(a: PathAttributes, source: PathSource): Path {
  return { prefix: PREFIX, attrs: a, source, receivedAt: 0, igpCost: undefined, stale: false };
}

const viaA = attrs('10.0.0.2');
const viaB = attrs('10.0.0.3');

describe('FibNextHops.of', () => {
  const cases: { name: string; paths: Path[]; hops: string[] }[] = [
    { name: 'one path from a peer: its next hop', paths: [path(viaA, peer('10.0.0.2'))], hops: ['10.0.0.2'] },
    { name: 'one path we originate: no gateway', paths: [path(viaA, LOCAL_SOURCE)], hops: [] },
    { name: 'one peer path without a next hop: none', paths: [path(attrs(), peer('10.0.0.2'))], hops: [] },
    {
      name: 'two paths through two gateways: both, in decision order',
      paths: [path(viaB, peer('10.0.0.3')), path(viaA, peer('10.0.0.2'))],
      hops: ['10.0.0.3', '10.0.0.2'],
    },
    {
      name: 'two reflectors with the same gateway: one next hop',
      paths: [path(viaA, peer('10.0.0.8')), path(viaA, peer('10.0.0.9'))],
      hops: ['10.0.0.2'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual([...new FibNextHops().of(c.paths)], c.hops);
    });
  }

  test('routes with the same attributes from a peer share one list', () => {
    const hops = new FibNextHops();
    const first = hops.of([path(viaA, peer('10.0.0.2'))]);
    const second = hops.of([path(viaA, peer('10.0.0.2'))]);
    assert.equal(first, second);
    assert.notEqual(hops.of([path(viaB, peer('10.0.0.3'))]), first);
  });

  test('a path we originate with the same attributes as a peer path still has no gateway', () => {
    const hops = new FibNextHops();
    assert.deepEqual([...hops.of([path(viaA, peer('10.0.0.2'))])], ['10.0.0.2']);
    assert.deepEqual([...hops.of([path(viaA, LOCAL_SOURCE)])], []);
  });

  test('ofOnly (a change decided as the only path) gives what of gives for that one path, shared', () => {
    const hops = new FibNextHops();
    const peerPath = path(viaA, peer('10.0.0.2'));
    assert.deepEqual([...hops.ofOnly(peerPath)], ['10.0.0.2']);
    assert.equal(hops.ofOnly(peerPath), hops.of([peerPath]));
    assert.deepEqual([...hops.ofOnly(path(viaB, LOCAL_SOURCE))], []);
  });
});
