/**
 * ECMP: the same prefix from two eBGP routers of the same neighbouring AS, equal in every step of
 * the decision process down to the router id, goes into our kernel as one route with two next
 * hops (IPv4 and IPv6); when one router withdraws it the route keeps the other next hop only.
 * Runs with two BIRD 2, two FRR and two GoBGP routers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTER_KINDS, type BgpRouter, type Family } from '../support/bgp-peers.js';
import { InteropLab, NODE4, NODE6 } from './interop-lab.js';

const OUR_AS = 64512;
const PEER_AS = 65001;
const SHARED: Record<Family, string> = { ipv4: '192.168.77.0/24', ipv6: 'fd77::/64' };

for (const kind of ROUTER_KINDS) {
  describe(`ECMP across two ${kind} routers`, () => {
    let lab: InteropLab;
    const routers: BgpRouter[] = [];
    const hops = (family: Family) =>
      routers.map((r) => (family === 'ipv4' ? r.spec.address4 : r.spec.address6) ?? '').sort();

    before(async () => {
      lab = new InteropLab();
      for (const i of [0, 1]) {
        const r = lab.addRouter(`r${i}`, ({ routerId }) => ({
          kind,
          asNumber: PEER_AS,
          routerId,
          neighbors: [
            { address: NODE4, asNumber: OUR_AS },
            { address: NODE6, asNumber: OUR_AS },
          ],
        }));
        await r.announce([SHARED.ipv4, SHARED.ipv6]);
        await r.start();
        routers.push(r);
      }
      await lab.startNode({
        asNumber: OUR_AS,
        peers: routers.flatMap((r, i) => [
          { name: `r${i}-v4`, peerIP: r.spec.address4 ?? '', asNumber: PEER_AS },
          { name: `r${i}-v6`, peerIP: r.spec.address6 ?? '', asNumber: PEER_AS },
        ]),
      });
    });
    after(async () => {
      await lab?.close();
      assert.deepEqual(lab.net.leftovers(), []);
    });

    for (const family of ['ipv4', 'ipv6'] as const) {
      test(`${family}: the shared prefix is one kernel route with both routers as next hops`, async () => {
        const k = await lab.until(
          `${SHARED[family]} has two next hops`,
          () => lab.kernelRoutes(family),
          (x) => (x[SHARED[family]]?.length ?? 0) === 2,
        );
        assert.deepEqual(k, { [SHARED[family]]: hops(family) });
      });
    }

    test('when one router withdraws, the route keeps only the other next hop', async () => {
      const [first, second] = routers as [BgpRouter, BgpRouter];
      await first.withdraw([SHARED.ipv4, SHARED.ipv6]);
      for (const family of ['ipv4', 'ipv6'] as const) {
        const remaining = (family === 'ipv4' ? second.spec.address4 : second.spec.address6) ?? '';
        const k = await lab.until(
          `${SHARED[family]} has one next hop`,
          () => lab.kernelRoutes(family),
          (x) => (x[SHARED[family]]?.length ?? 0) === 1,
        );
        assert.deepEqual(k, { [SHARED[family]]: [remaining] });
      }
    });
  });
}
