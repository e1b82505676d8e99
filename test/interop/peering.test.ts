/**
 * calico-node's speaker against BIRD 2, FRR and GoBGP, eBGP and iBGP: the sessions come up (one
 * per family, as Calico's BGPPeers are per address), our IPAM blocks reach the peer with our
 * address as next hop, the peer's prefixes reach our kernel (proto 81) with its address as next
 * hop, in IPv4 and IPv6, and a withdrawal on either side removes the route on the other.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTER_KINDS, type BgpRouter, type Family } from '../support/bgp-peers.js';
import { InteropLab, NODE4, NODE6 } from './interop-lab.js';

const OUR_AS = 64512;
const CASES = ROUTER_KINDS.flatMap((kind) => [
  { kind, session: 'eBGP', peerAs: 65001 },
  { kind, session: 'iBGP', peerAs: OUR_AS },
]);
const PEER_PREFIXES = {
  ipv4: ['192.168.100.0/24', '192.168.101.0/24'],
  ipv6: ['fd99:1::/64', 'fd99:2::/64'],
};

for (const c of CASES) {
  describe(`${c.session} with ${c.kind}`, () => {
    let lab: InteropLab;
    let peer: BgpRouter;
    const peerAddress: Record<Family, string> = { ipv4: '', ipv6: '' };

    before(async () => {
      lab = new InteropLab();
      peer = lab.addRouter(c.kind, ({ routerId }) => ({
        kind: c.kind,
        asNumber: c.peerAs,
        routerId,
        neighbors: [
          { address: NODE4, asNumber: OUR_AS },
          { address: NODE6, asNumber: OUR_AS },
        ],
      }));
      peerAddress.ipv4 = peer.spec.address4 ?? '';
      peerAddress.ipv6 = peer.spec.address6 ?? '';
      await peer.announce([...PEER_PREFIXES.ipv4, ...PEER_PREFIXES.ipv6]);
      await peer.start();
      await lab.startNode({
        asNumber: OUR_AS,
        peers: [
          { name: 'peer4', peerIP: peerAddress.ipv4, asNumber: c.peerAs },
          { name: 'peer6', peerIP: peerAddress.ipv6, asNumber: c.peerAs },
        ],
      });
    });

    after(async () => {
      await lab?.close();
      assert.deepEqual(lab.net.leftovers(), [], 'no namespace left behind');
    });

    test(`the IPv4 and IPv6 sessions reach Established on both sides`, async () => {
      await lab.until(
        'our speaker has both sessions up',
        () => lab.ourSessions(),
        (s) => s[peerAddress.ipv4] === 'Established' && s[peerAddress.ipv6] === 'Established',
      );
      const status = await lab.status();
      assert.deepEqual(
        status.peers.map((p) => [p.address, p.type, p.asNumber]),
        [
          [peerAddress.ipv4, 'global', c.peerAs],
          [peerAddress.ipv6, 'global', c.peerAs],
        ],
        'node status lists both BGPPeers as global peers',
      );
      await lab.until(
        `${c.kind} has both sessions up`,
        () => peer.sessions(),
        (s) => s[NODE4] === 'Established' && s[NODE6] === 'Established',
      );
    });

    for (const family of ['ipv4', 'ipv6'] as const) {
      test(`${family}: our IPAM block reaches ${c.kind} with our address as next hop`, async () => {
        const block = family === 'ipv4' ? lab.block4 : lab.block6;
        const ours = family === 'ipv4' ? NODE4 : NODE6;
        const routes = await lab.until(
          `${c.kind} learned ${block}`,
          () => peer.learned(family),
          (rs) => rs.some((r) => r.prefix === block),
        );
        const r = routes.find((x) => x.prefix === block);
        assert.equal(r?.nextHop, ours);
        assert.deepEqual(r?.asPath, c.session === 'eBGP' ? [OUR_AS] : []);
      });

      test(`${family}: ${c.kind}'s prefixes reach our kernel via ${c.kind}'s address`, async () => {
        const want = Object.fromEntries(PEER_PREFIXES[family].map((p) => [p, [peerAddress[family]]]));
        const got = await lab.until(
          `our kernel has ${c.kind}'s ${family} prefixes`,
          () => lab.kernelRoutes(family),
          (k) => PEER_PREFIXES[family].every((p) => k[p] !== undefined),
        );
        assert.deepEqual(got, want);
      });

      test(`${family}: a prefix ${c.kind} withdraws leaves our kernel, the other stays`, async () => {
        const [gone, kept] = PEER_PREFIXES[family] as [string, string];
        await peer.withdraw([gone]);
        const got = await lab.until(
          `${gone} leaves our kernel`,
          () => lab.kernelRoutes(family),
          (k) => k[gone] === undefined,
        );
        assert.deepEqual(got, { [kept]: [peerAddress[family]] });
        await peer.announce([gone]);
        await lab.until(
          `${gone} comes back`,
          () => lab.kernelRoutes(family),
          (k) => k[gone] !== undefined,
        );
      });
    }

    test(`a block we no longer own is withdrawn from ${c.kind}`, async () => {
      const released = lab.block4;
      await lab.releaseBlocks();
      for (const family of ['ipv4', 'ipv6'] as const) {
        const block = family === 'ipv4' ? released : lab.block6;
        await lab.until(
          `${c.kind} no longer has ${block}`,
          () => peer.learned(family),
          (rs) => !rs.some((r) => r.prefix === block),
        );
      }
    });
  });
}
