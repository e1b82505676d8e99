/**
 * What our speaker does when the router on the other side fails, against BIRD 2, FRR and GoBGP:
 * - the router hangs (SIGSTOP, TCP stays open): only the hold timer (3 s here) can notice; its
 *   routes must leave our kernel, and come back when it wakes up;
 * - the router crashes (SIGKILL) without graceful restart: its routes leave our kernel at once;
 * - the router crashes with graceful restart (RFC 4724) and restarts: its routes stay in our kernel
 *   the whole time (marked stale), and once it is back and has sent End-of-RIB they are refreshed:
 *   what it no longer announces is removed, what it announces anew is added.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTER_KINDS, type BgpRouter } from '../support/bgp-peers.js';
import { InteropLab, NODE4 } from './interop-lab.js';

const OUR_AS = 64512;
const PEER_AS = 65001;
const HOLD_SEC = 3;
const KEPT = '192.168.200.0/24';
const DROPPED = '192.168.201.0/24';
const ADDED = '192.168.202.0/24';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One router (v4 session, small hold time, optional graceful restart) and our node peering with it. */
async function setUp(kind: (typeof ROUTER_KINDS)[number], gracefulRestartSec?: number) {
  const lab = new InteropLab();
  try {
    const peer = lab.addRouter(kind, ({ routerId }) => ({
      kind,
      asNumber: PEER_AS,
      routerId,
      neighbors: [
        {
          address: NODE4,
          asNumber: OUR_AS,
          holdTimeSec: HOLD_SEC,
          ...(gracefulRestartSec !== undefined ? { gracefulRestartSec } : {}),
        },
      ],
    }));
    await peer.announce([KEPT, DROPPED]);
    await peer.start();
    await lab.startNode({
      asNumber: OUR_AS,
      peers: [{ name: 'peer', peerIP: peer.spec.address4 ?? '', asNumber: PEER_AS }],
    });
    const via = peer.spec.address4 ?? '';
    await lab.until(
      `our kernel has ${kind}'s routes`,
      () => lab.kernelRoutes('ipv4'),
      (k) => k[KEPT]?.[0] === via && k[DROPPED]?.[0] === via,
    );
    return { lab, peer, via };
  } catch (e) {
    await lab.close();
    throw e;
  }
}

for (const kind of ROUTER_KINDS) {
  describe(`${kind} fails without graceful restart`, () => {
    let lab: InteropLab;
    let peer: BgpRouter;
    let via: string;

    before(async () => {
      ({ lab, peer, via } = await setUp(kind));
    });
    after(async () => {
      await lab?.close();
      assert.deepEqual(lab.net.leftovers(), []);
    });

    test(`a hung ${kind}: the ${HOLD_SEC} s hold timer expires and its routes leave our kernel`, async () => {
      const frozenAt = Date.now();
      peer.freeze();
      try {
        await lab.until(
          'our session is down',
          () => lab.ourSessions(),
          (s) => s[via] !== 'Established',
          (HOLD_SEC + 5) * 1000,
        );
        const elapsed = Date.now() - frozenAt;
        assert.ok(
          elapsed >= (HOLD_SEC - 1) * 1000,
          `the session stayed up until the hold time (${elapsed} ms)`,
        );
        const status = await lab.status();
        assert.match(
          status.peers.find((p) => p.address === via)?.info ?? '',
          /hold/i,
          'the reason names the hold timer',
        );
        await lab.until(
          'its routes leave our kernel',
          () => lab.kernelRoutes('ipv4'),
          (k) => Object.keys(k).length === 0,
          5_000,
        );
      } finally {
        peer.thaw();
      }
    });

    test(`when ${kind} wakes up the session and its routes come back`, async () => {
      await lab.until(
        'our session is up again',
        () => lab.ourSessions(),
        (s) => s[via] === 'Established',
        30_000,
      );
      await lab.until(
        'its routes are back',
        () => lab.kernelRoutes('ipv4'),
        (k) => k[KEPT]?.[0] === via && k[DROPPED]?.[0] === via,
      );
    });

    test(`a killed ${kind} (TCP closed, no graceful restart): its routes leave our kernel at once`, async () => {
      await peer.kill();
      const killedAt = Date.now();
      await lab.until(
        'its routes leave our kernel',
        () => lab.kernelRoutes('ipv4'),
        (k) => Object.keys(k).length === 0,
        10_000,
      );
      assert.ok(Date.now() - killedAt < HOLD_SEC * 1000, 'gone before the hold timer could have expired');
    });
  });

  describe(`${kind} restarts gracefully`, () => {
    let lab: InteropLab;
    let peer: BgpRouter;
    let via: string;

    before(async () => {
      ({ lab, peer, via } = await setUp(kind, 60));
    });
    after(async () => {
      await lab?.close();
      assert.deepEqual(lab.net.leftovers(), []);
    });

    test(`while ${kind} is down its routes stay in our kernel, stale; after it restarts they are refreshed`, async () => {
      await peer.kill();
      // Longer than the hold time: nothing but graceful restart keeps these routes.
      await sleep((HOLD_SEC + 1) * 1000);
      assert.deepEqual(
        lab.kernelRoutes('ipv4'),
        { [KEPT]: [via], [DROPPED]: [via] },
        'routes kept while down',
      );
      const status = await lab.status();
      const p = status.peers.find((x) => x.address === via);
      assert.notEqual(p?.state, 'Established');
      assert.equal(p?.routesStale, 2, 'both routes are marked stale');

      // It comes back announcing a different set.
      await peer.withdraw([DROPPED]);
      await peer.announce([ADDED]);
      const gaps: string[] = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          if (lab.kernelRoutes('ipv4')[KEPT]?.[0] !== via) gaps.push(new Date().toISOString());
          await sleep(100);
        }
      })();
      try {
        await peer.restart({ graceful: true });
        await lab.until(
          'our session is up again',
          () => lab.ourSessions(),
          (s) => s[via] === 'Established',
          30_000,
        );
        const got = await lab.until(
          'the routes are refreshed',
          () => lab.kernelRoutes('ipv4'),
          (k) => k[DROPPED] === undefined && k[ADDED] !== undefined,
          30_000,
        );
        assert.deepEqual(got, { [KEPT]: [via], [ADDED]: [via] });
        const after = (await lab.status()).peers.find((x) => x.address === via);
        assert.equal(after?.routesStale, 0, 'nothing stale once End-of-RIB arrived');
      } finally {
        watching = false;
        await watcher;
      }
      assert.deepEqual(gaps, [], `${KEPT} never left our kernel during the restart`);
    });
  });
}
