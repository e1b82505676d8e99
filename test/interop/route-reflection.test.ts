/**
 * Route reflection (RFC 4456) with real routers. Our speaker (a Node with
 * `routeReflectorClusterID`) reflects between two iBGP clients: each client's routes reach the
 * other with the next hop unchanged, ORIGINATOR_ID the originating client and our cluster id in
 * CLUSTER_LIST. And our speaker as a client of a real reflector: a second client's routes reach
 * our kernel through it with that client's next hop, and our blocks reach that client through it.
 * Each case runs with BIRD 2, FRR and GoBGP as the other routers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTER_KINDS, type BgpRouter } from '../support/bgp-peers.js';
import { InteropLab, NODE4 } from './interop-lab.js';

const AS = 64512;
const CLUSTER_ID = '244.0.0.1';
const PREFIX = ['192.168.31.0/24', '192.168.32.0/24'] as const;

for (const kind of ROUTER_KINDS) {
  describe(`our speaker reflects between two ${kind} clients`, () => {
    let lab: InteropLab;
    const clients: BgpRouter[] = [];

    before(async () => {
      lab = new InteropLab();
      for (const i of [0, 1]) {
        const c = lab.addRouter(`c${i}`, ({ routerId }) => ({
          kind,
          asNumber: AS,
          routerId,
          neighbors: [{ address: NODE4, asNumber: AS }],
        }));
        await c.announce([PREFIX[i] as string]);
        await c.start();
        clients.push(c);
      }
      await lab.startNode({
        asNumber: AS,
        clusterId: CLUSTER_ID,
        peers: clients.map((c, i) => ({ name: `client${i}`, peerIP: c.spec.address4 ?? '', asNumber: AS })),
      });
    });
    after(async () => {
      await lab?.close();
      assert.deepEqual(lab.net.leftovers(), []);
    });

    for (const [from, to] of [
      [0, 1],
      [1, 0],
    ] as const) {
      test(`client ${from}'s prefix reaches client ${to} with its own next hop, ORIGINATOR_ID and our CLUSTER_LIST`, async () => {
        const origin = clients[from] as BgpRouter;
        const routes = await lab.until(
          `client ${to} learned ${PREFIX[from]}`,
          () => (clients[to] as BgpRouter).learned('ipv4'),
          (rs) => rs.some((r) => r.prefix === PREFIX[from]),
        );
        const r = routes.find((x) => x.prefix === PREFIX[from]);
        assert.deepEqual(
          { from: r?.from, nextHop: r?.nextHop, originatorId: r?.originatorId, clusterList: r?.clusterList },
          {
            from: NODE4,
            nextHop: origin.spec.address4,
            originatorId: origin.spec.routerId,
            clusterList: [CLUSTER_ID],
          },
        );
      });
    }

    test('both clients learn our block from us, and our kernel has both clients’ prefixes', async () => {
      for (const c of clients) {
        await lab.until(
          `${c.spec.routerId} learned ${lab.block4}`,
          () => c.learned('ipv4'),
          (rs) => rs.some((r) => r.prefix === lab.block4 && r.nextHop === NODE4),
        );
      }
      const k = await lab.until(
        'our kernel has both prefixes',
        () => lab.kernelRoutes('ipv4'),
        (x) => Object.keys(x).length === 2,
      );
      assert.deepEqual(k, {
        [PREFIX[0]]: [clients[0]?.spec.address4],
        [PREFIX[1]]: [clients[1]?.spec.address4],
      });
    });
  });

  describe(`our speaker as a client of a ${kind} route reflector`, () => {
    let lab: InteropLab;
    let reflector: BgpRouter;
    let other: BgpRouter;

    before(async () => {
      lab = new InteropLab();
      // Slot 0 is the reflector, slot 1 the other client (BIRD).
      reflector = lab.addRouter('rr', ({ routerId }) => ({
        kind,
        asNumber: AS,
        routerId,
        clusterId: CLUSTER_ID,
        neighbors: [
          { address: NODE4, asNumber: AS, routeReflectorClient: true },
          { address: '10.0.0.11', asNumber: AS, routeReflectorClient: true },
        ],
      }));
      other = lab.addRouter('c1', ({ routerId }) => ({
        kind: 'bird',
        asNumber: AS,
        routerId,
        neighbors: [{ address: '10.0.0.10', asNumber: AS }],
      }));
      await other.announce([PREFIX[1]]);
      await reflector.start();
      await other.start();
      await lab.startNode({
        asNumber: AS,
        peers: [{ name: 'reflector', peerIP: reflector.spec.address4 ?? '', asNumber: AS }],
      });
    });
    after(async () => {
      await lab?.close();
      assert.deepEqual(lab.net.leftovers(), []);
    });

    test(`the other client's prefix reaches our kernel through ${kind}, next hop the other client`, async () => {
      const k = await lab.until(
        `our kernel has ${PREFIX[1]}`,
        () => lab.kernelRoutes('ipv4'),
        (x) => x[PREFIX[1]] !== undefined,
      );
      assert.deepEqual(k, { [PREFIX[1]]: [other.spec.address4] });
    });

    test(`our block reaches the other client through ${kind} with our next hop and our router id as originator`, async () => {
      const routes = await lab.until(
        `the other client learned ${lab.block4}`,
        () => other.learned('ipv4'),
        (rs) => rs.some((r) => r.prefix === lab.block4),
      );
      const r = routes.find((x) => x.prefix === lab.block4);
      assert.deepEqual(
        { from: r?.from, nextHop: r?.nextHop, originatorId: r?.originatorId, clusterList: r?.clusterList },
        { from: reflector.spec.address4, nextHop: NODE4, originatorId: NODE4, clusterList: [CLUSTER_ID] },
      );
    });
  });
}
