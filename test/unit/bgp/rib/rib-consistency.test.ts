// Model-based check of the RIB's two outputs. A random sequence of session events, announcements,
// withdrawals, originations and policy changes is applied; after each flush, replaying every diff
// must leave (a) the FIB with exactly the Loc-RIB's best routes and (b) each peer with exactly
// what the Adj-RIB-Out says it advertised. The Adj-RIB-Out is derived, not stored, so this is the
// test that the derivation never loses track of what a peer holds.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ExportPolicy, RibPeer } from '../../../../src/bgp/rib/index.js';
import { LOCAL_AS, attrs, newRib, prefix, prefixText, ribPeer, seq } from './rib-fixtures.js';

const PREFIXES = ['10.65.1.0/26', '10.65.2.0/26', '10.65.3.7/32', '0.0.0.0/0', '2001:db8:65::/64'];
const onlyBlocks: ExportPolicy = ({ prefix: p, attrs: a }) => (p.length === 26 ? a : null);

const PEERS: RibPeer[] = [
  ribPeer('192.0.2.1', 65001),
  ribPeer('192.0.2.2', 65001),
  ribPeer('192.0.2.3', 65002),
  ribPeer('10.0.0.11', LOCAL_AS, { routeReflectorClient: true }),
  ribPeer('10.0.0.21', LOCAL_AS),
  ribPeer('10.1.0.1', 65101, { downstream: true }),
];

type Op =
  | { op: 'announce'; peer: number; prefix: number; variant: number }
  | { op: 'withdraw'; peer: number; prefix: number }
  | { op: 'originate'; prefix: number }
  | { op: 'withdrawOriginated'; prefix: number }
  | { op: 'down'; peer: number; graceful: boolean }
  | { op: 'up'; peer: number }
  | { op: 'endOfRib'; peer: number }
  | { op: 'routeRefresh'; peer: number }
  | { op: 'markStale'; peer: number }
  | { op: 'sweepStale'; peer: number }
  | { op: 'expireStale' }
  | { op: 'reconfigure'; peer: number; variant: number }
  | { op: 'flush' };

const peerIndex = fc.integer({ min: 0, max: PEERS.length - 1 });
const prefixIndex = fc.integer({ min: 0, max: PREFIXES.length - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('announce' as const),
      peer: peerIndex,
      prefix: prefixIndex,
      variant: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('withdraw' as const), peer: peerIndex, prefix: prefixIndex }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('originate' as const), prefix: prefixIndex }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('withdrawOriginated' as const), prefix: prefixIndex }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('down' as const), peer: peerIndex, graceful: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('up' as const), peer: peerIndex }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('endOfRib' as const), peer: peerIndex }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('routeRefresh' as const), peer: peerIndex }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('markStale' as const), peer: peerIndex }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('sweepStale' as const), peer: peerIndex }) },
  { weight: 1, arbitrary: fc.constant({ op: 'expireStale' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('reconfigure' as const),
      peer: peerIndex,
      variant: fc.integer({ min: 0, max: 4 }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ op: 'flush' as const }) },
);

function variantConfig(peer: RibPeer, variant: number): RibPeer {
  switch (variant) {
    case 1:
      return { ...peer, exportPolicy: onlyBlocks };
    case 2:
      return { ...peer, downstream: !peer.downstream };
    case 4:
      return { ...peer, routeReflectorClient: !peer.routeReflectorClient };
    case 3:
      return {
        ...peer,
        nextHopMode: 'self',
        importPolicy: ({ prefix: p, attrs: a }) => (p.length === 32 ? null : a),
      };
    default:
      return peer;
  }
}

function announcedAttrs(peer: RibPeer, variant: number) {
  const path = peer.asn === LOCAL_AS ? seq(7 + variant) : seq(peer.asn, 7 + (variant % 2));
  return attrs({
    asPath: path,
    med: variant,
    nextHop: peer.address.includes(':') ? '2001:db8::1' : peer.address,
  });
}

describe('RIB outputs stay consistent under random event sequences', () => {
  test('replayed FIB diffs equal the Loc-RIB, replayed UPDATEs equal each Adj-RIB-Out', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 60 }), (ops) => {
        const rib = newRib({ clusterId: '244.0.0.1' });
        const configs = [...PEERS];
        const up = new Set<number>(PEERS.map((_, i) => i));
        for (const p of PEERS) rib.peerUp(p, 0);
        const fib = new Map<string, string>();
        const wire = PEERS.map(() => new Map<string, unknown>());
        const check = (): void => {
          const changes = rib.flush();
          for (const c of changes.routes) {
            if (c.kind === 'best')
              fib.set(
                prefixText(c.prefix),
                c.multipath.map((p) => (p.source.kind === 'peer' ? p.source.peerId : 'local')).join(','),
              );
            else fib.delete(prefixText(c.prefix));
          }
          for (const adv of changes.advertisements) {
            const view = wire[PEERS.findIndex((p) => p.address === adv.peerId)]!;
            for (const g of adv.withdraw) for (const p of g.prefixes) view.delete(prefixText(p));
            for (const g of adv.announce) for (const p of g.prefixes) view.set(prefixText(p), g.attrs);
          }
          const expectedFib = new Map(
            [...rib.bestRoutes()].map((r) => [
              prefixText(r.prefix),
              r.multipath.map((p) => (p.source.kind === 'peer' ? p.source.peerId : 'local')).join(','),
            ]),
          );
          assert.deepEqual(fib, expectedFib);
          for (const stats of rib.peerStats()) {
            const received = rib.receivedRoutes(stats.peerId);
            assert.equal(stats.received, received.length, `received count of ${stats.peerId}`);
            assert.equal(stats.accepted, received.filter((r) => r.accepted).length);
            assert.equal(stats.stale, received.filter((r) => r.stale).length);
          }
          for (const i of up) {
            const derived = new Map(
              rib.advertisedRoutes(PEERS[i]!.address).map((r) => [prefixText(r.prefix), r.attrs]),
            );
            assert.deepEqual(wire[i], derived, `peer ${PEERS[i]!.address}`);
            const stats = rib.peerStats().find((s) => s.peerId === PEERS[i]!.address);
            assert.equal(stats?.advertised, derived.size, `advertised count of ${PEERS[i]!.address}`);
          }
        };
        for (const op of ops) {
          switch (op.op) {
            case 'announce':
              if (up.has(op.peer))
                rib.announce(
                  PEERS[op.peer]!.address,
                  [prefix(PREFIXES[op.prefix]!)],
                  announcedAttrs(PEERS[op.peer]!, op.variant),
                  0,
                );
              break;
            case 'withdraw':
              if (up.has(op.peer)) rib.withdraw(PEERS[op.peer]!.address, [prefix(PREFIXES[op.prefix]!)]);
              break;
            case 'originate':
              rib.originate([prefix(PREFIXES[op.prefix]!)], 0);
              break;
            case 'withdrawOriginated':
              rib.withdrawOriginated([prefix(PREFIXES[op.prefix]!)]);
              break;
            case 'down':
              if (!up.has(op.peer)) break;
              rib.peerDown(
                PEERS[op.peer]!.address,
                0,
                op.graceful ? { gracefulRestart: { families: ['ipv4', 'ipv6'], restartTimeMs: 1000 } } : {},
              );
              up.delete(op.peer);
              wire[op.peer] = new Map();
              break;
            case 'up':
              if (up.has(op.peer)) break;
              rib.peerUp(configs[op.peer]!, 0);
              up.add(op.peer);
              break;
            case 'endOfRib':
              if (up.has(op.peer)) rib.endOfRib(PEERS[op.peer]!.address, 'ipv4');
              break;
            case 'markStale':
              rib.markStale(PEERS[op.peer]!.address, ['ipv4']);
              break;
            case 'sweepStale':
              rib.sweepStale(PEERS[op.peer]!.address);
              break;
            case 'expireStale':
              rib.expireStale(10_000_000);
              break;
            case 'routeRefresh':
              if (up.has(op.peer)) rib.resendTo(PEERS[op.peer]!.address);
              break;
            case 'reconfigure':
              if (!up.has(op.peer)) break;
              configs[op.peer] = variantConfig(PEERS[op.peer]!, op.variant);
              rib.updatePeer(configs[op.peer]!, 0);
              break;
            case 'flush':
              check();
              break;
          }
        }
        check();
      }),
      { numRuns: 300 },
    );
  });
});
