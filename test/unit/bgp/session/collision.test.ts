// RFC 4271 6.8 connection collision and RFC 4724 4.2 restart detection, driven by a hand-written
// peer over loopback so the order of events is exact: which of two connections survives depends
// only on the two BGP identifiers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BgpListener, BgpSession, type BgpSessionEvents } from '../../../../src/bgp/session/index.js';
import { isNotification, peerOpen, RawPeer } from './raw-peer.js';

function next<K extends keyof BgpSessionEvents>(
  s: BgpSession,
  event: K,
  accept: (e: BgpSessionEvents[K]) => boolean = () => true,
): Promise<BgpSessionEvents[K]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event} within 5 s`)), 5000);
    const l = (e: BgpSessionEvents[K]): void => {
      if (!accept(e)) return;
      clearTimeout(t);
      s.off(event, l);
      resolve(e);
    };
    s.on(event, l);
  });
}

/** Our session on 127.0.0.1 (listening too) and a raw peer on 127.0.0.2 that accepts our dial. */
async function setup(localRouterId: string) {
  const ourListener = new BgpListener({ address: '127.0.0.1', port: 0 });
  const { port: ourPort } = await ourListener.listen();
  const peerServer = net.createServer();
  await new Promise<void>((r) => peerServer.listen({ host: '127.0.0.2', port: 0 }, () => r()));
  const peerPort = (peerServer.address() as net.AddressInfo).port;
  const accepted = new Promise<RawPeer>((r) => peerServer.once('connection', (s) => r(new RawPeer(s))));
  const session = new BgpSession({
    localAs: 65001,
    routerId: localRouterId,
    peerAs: 65002,
    peerAddress: '127.0.0.2',
    peerPort,
    localAddress: '127.0.0.1',
    connectRetrySec: 30,
    idleHoldSec: 30,
  });
  ourListener.addSession(session);
  const cleanup = async (...peers: RawPeer[]): Promise<void> => {
    peers.forEach((p) => p.destroy());
    await session.stop();
    await ourListener.close();
    await new Promise<void>((r) => peerServer.close(() => r()));
  };
  return { session, ourPort, accepted, cleanup };
}

describe('connection collision (RFC 4271 6.8)', { timeout: 30_000 }, () => {
  const cases = [
    { localRouterId: '10.0.0.1', survivor: 'the connection the peer opened', dumped: 'outgoing' as const },
    { localRouterId: '10.0.0.3', survivor: 'the connection we opened', dumped: 'incoming' as const },
  ];
  for (const c of cases) {
    test(`our id ${c.localRouterId} vs peer id 10.0.0.2: ${c.survivor} survives, the other gets Cease 7`, async () => {
      const { session, ourPort, accepted, cleanup } = await setup(c.localRouterId);
      session.start();
      const outgoing = await accepted; // our dial, seen from the peer
      const incoming = await RawPeer.connect({ host: '127.0.0.1', port: ourPort, localAddress: '127.0.0.2' });
      try {
        await outgoing.next((m) => m.type === 'open');
        await incoming.next((m) => m.type === 'open');
        const openConfirm = next(session, 'state', (s) => s.to === 'OpenConfirm');
        outgoing.send(peerOpen(65002, '10.0.0.2'));
        await openConfirm;
        incoming.send(peerOpen(65002, '10.0.0.2'));
        const [loser, winner] = c.dumped === 'outgoing' ? [outgoing, incoming] : [incoming, outgoing];
        await loser.next(isNotification(6, 7));
        await winner.next((m) => m.type === 'keepalive');
        assert.equal(
          winner.received.some((m) => m.type === 'notification'),
          false,
          'the surviving connection got no NOTIFICATION',
        );
        const up = next(session, 'established');
        winner.send({ type: 'keepalive' });
        await up;
        assert.equal(session.state, 'Established');
      } finally {
        await cleanup(outgoing, incoming);
      }
    });
  }

  test('a new connection while Established is refused with Cease 7 when the peer offers no graceful restart', async () => {
    const { session, ourPort, accepted, cleanup } = await setup('10.0.0.1');
    session.start();
    const first = await accepted;
    let second: RawPeer | undefined;
    try {
      first.send(peerOpen(65002, '10.0.0.2'));
      first.send({ type: 'keepalive' });
      await next(session, 'established');
      second = await RawPeer.connect({ host: '127.0.0.1', port: ourPort, localAddress: '127.0.0.2' });
      second.send(peerOpen(65002, '10.0.0.2'));
      await second.next(isNotification(6, 7));
      assert.equal(session.state, 'Established');
    } finally {
      await cleanup(first, ...(second ? [second] : []));
    }
  });

  test('a peer reconnecting with graceful restart replaces the old session and its routes are kept as stale', async () => {
    const { session, ourPort, accepted, cleanup } = await setup('10.0.0.1');
    session.start();
    const first = await accepted;
    let second: RawPeer | undefined;
    const gr = {
      kind: 'graceful-restart' as const,
      restarting: true,
      notification: false,
      restartTimeSec: 120,
      families: [],
    };
    try {
      first.send(peerOpen(65002, '10.0.0.2', [gr]));
      first.send({ type: 'keepalive' });
      await next(session, 'established');
      const down = next(session, 'down');
      second = await RawPeer.connect({ host: '127.0.0.1', port: ourPort, localAddress: '127.0.0.2' });
      second.send(peerOpen(65002, '10.0.0.2', [gr]));
      assert.equal((await down).retainStaleRoutes, true);
      await second.next((m) => m.type === 'keepalive');
      const up = next(session, 'established');
      second.send({ type: 'keepalive' });
      assert.equal((await up).peerGracefulRestart?.restarting, true);
    } finally {
      await cleanup(first, ...(second ? [second] : []));
    }
  });
});
