// Two of our sessions over real TCP on loopback (127.0.0.1 and 127.0.0.2, a free high port, no
// root): they reach Established, carry an UPDATE, and a stop reaches the other side as a Cease.
// A hand-driven peer that goes silent after OPEN shows the hold timer firing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Origin } from '../../../../src/bgp/types.js';
import {
  BgpListener,
  BgpSession,
  type BgpSessionEvents,
  type NotificationEvent,
  type PeerConfig,
} from '../../../../src/bgp/session/index.js';
import {
  decodeMessage,
  encodeMessage,
  MessageFramer,
  type BgpMessage,
  type UpdateMessage,
} from '../../../../src/bgp/wire/index.js';

function next<K extends keyof BgpSessionEvents>(
  session: BgpSession,
  event: K,
  accept: (e: BgpSessionEvents[K]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<BgpSessionEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.off(event, listener);
      reject(new Error(`no ${event} event from session with ${session.peerAddress} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (e: BgpSessionEvents[K]): void => {
      if (!accept(e)) return;
      clearTimeout(timer);
      session.off(event, listener);
      resolve(e);
    };
    session.on(event, listener);
  });
}

/** Two listeners on the same free port, one per loopback address. */
async function listenerPair(): Promise<{ a: BgpListener; b: BgpListener; port: number }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const a = new BgpListener({ address: '127.0.0.1', port: 0 });
    const { port } = await a.listen();
    const b = new BgpListener({ address: '127.0.0.2', port });
    try {
      await b.listen();
      return { a, b, port };
    } catch {
      await a.close();
    }
  }
  throw new Error('could not find a port free on both 127.0.0.1 and 127.0.0.2');
}

const BASE = { connectRetrySec: 0.2, idleHoldSec: 0.2, holdTimeSec: 9, families: ['ipv4', 'ipv6'] } as const;

describe('BgpSession over loopback', { timeout: 30_000 }, () => {
  test('two sessions reach Established, exchange an UPDATE, and a stop arrives as a Cease', async () => {
    const { a: listenA, b: listenB, port } = await listenerPair();
    const configA: PeerConfig = {
      ...BASE,
      localAs: 65001,
      routerId: '10.0.0.1',
      peerAs: 4200000002,
      peerAddress: '127.0.0.2',
      peerPort: port,
      localAddress: '127.0.0.1',
    };
    const configB: PeerConfig = {
      ...BASE,
      localAs: 4200000002,
      routerId: '10.0.0.2',
      peerAs: 65001,
      peerAddress: '127.0.0.1',
      peerPort: port,
      localAddress: '127.0.0.2',
      holdTimeSec: 6,
    };
    const a = new BgpSession(configA);
    const b = new BgpSession(configB);
    listenA.addSession(a);
    listenB.addSession(b);
    try {
      const upA = next(a, 'established');
      const upB = next(b, 'established');
      a.start();
      b.start();
      const [negA, negB] = await Promise.all([upA, upB]);
      assert.equal(a.state, 'Established');
      assert.equal(b.state, 'Established');
      assert.deepEqual(
        [negA.peerAs, negA.holdTimeSec, negA.keepaliveSec, negA.fourOctetAs, negA.families],
        [4200000002, 6, 2, true, ['ipv4', 'ipv6']],
      );
      assert.equal(negB.peerRouterId, '10.0.0.1');

      const received = next(b, 'update', (u) => u.announced.length > 0);
      const attrs = {
        origin: Origin.IGP,
        asPath: [{ type: 'sequence' as const, asns: [65001] }],
        nextHop: '192.0.2.1',
      };
      const prefixes = [
        { family: 'ipv4' as const, address: '10.65.1.0', length: 26 },
        { family: 'ipv4' as const, address: '10.65.2.0', length: 26 },
      ];
      assert.equal(a.announce(attrs, prefixes), 1);
      const update: UpdateMessage = await received;
      assert.deepEqual(update.announced, [{ attributes: attrs, prefixes }]);

      // A full table: 20,000 prefixes in packed UPDATEs, paced on the send buffer, all arrive.
      const table = Array.from({ length: 20_000 }, (_, i) => ({
        family: 'ipv4' as const,
        address: `10.${i >> 8}.${i & 255}.0`,
        length: 24,
      }));
      let arrived = 0;
      const allArrived = new Promise<void>((resolve) => {
        const count = (u: UpdateMessage): void => {
          arrived += u.announced[0]?.prefixes.length ?? 0;
          if (arrived === table.length) {
            b.off('update', count);
            resolve();
          }
        };
        b.on('update', count);
      });
      const messages = a.announce(attrs, table);
      assert.ok(messages >= 20 && messages <= 25, `${messages} UPDATEs for 20,000 /24s`);
      await a.drained();
      assert.equal(a.sendBufferBytes, 0);
      await allArrived;

      const cease = next(b, 'notification', (n) => n.direction === 'received');
      const down = next(b, 'down');
      await a.stop();
      const n: NotificationEvent = await cease;
      assert.deepEqual([n.code, n.subcode, n.text], [6, 2, 'Cease / AdministrativeShutdown']);
      assert.equal((await down).retainStaleRoutes, false);
      assert.equal(a.state, 'Idle');
      assert.match(b.info, /received Cease \/ AdministrativeShutdown/);

      // B keeps retrying on its own; once A starts again the peering comes back.
      const againA = next(a, 'established');
      const againB = next(b, 'established');
      a.start();
      await Promise.all([againA, againB]);
      assert.deepEqual([a.state, b.state], ['Established', 'Established']);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await Promise.all([listenA.close(), listenB.close()]);
    }
  });

  test('a peer that stops sending KEEPALIVEs is dropped with Hold Timer Expired', async () => {
    const listener = new BgpListener({ address: '127.0.0.1', port: 0 });
    const { port } = await listener.listen();
    const session = new BgpSession({
      localAs: 65001,
      routerId: '10.0.0.1',
      peerAs: 65002,
      peerAddress: '127.0.0.1',
      passive: true,
      holdTimeSec: 3,
    });
    listener.addSession(session);
    session.start();
    const silentPeer = net.connect({ host: '127.0.0.1', port });
    const framer = new MessageFramer();
    const fromSession: BgpMessage[] = [];
    const gotNotification = new Promise<void>((resolve) => {
      silentPeer.on('data', (chunk) => {
        for (const frame of framer.push(chunk)) {
          const m = decodeMessage(frame, { fourOctetAs: true });
          fromSession.push(m);
          if (m.type === 'notification') resolve();
        }
      });
    });
    try {
      const established = next(session, 'established');
      const down = next(session, 'down', () => true, 10_000);
      await new Promise<void>((resolve) => silentPeer.once('connect', () => resolve()));
      const open: BgpMessage = {
        type: 'open',
        version: 4,
        myAs: 65002,
        holdTime: 3,
        bgpId: '10.0.0.2',
        capabilities: [{ kind: 'four-octet-as', asn: 65002 }],
      };
      silentPeer.write(encodeMessage(open, { fourOctetAs: true }));
      silentPeer.write(encodeMessage({ type: 'keepalive' }, { fourOctetAs: true }));
      await established;
      // From here on the peer sends nothing; the session keeps sending KEEPALIVEs every second.
      const lost = await down;
      await gotNotification;
      assert.match(lost.reason, /hold timer expired/);
      const last = fromSession[fromSession.length - 1];
      assert.deepEqual(last?.type === 'notification' ? [last.code, last.subcode] : last, [4, 0]);
      const keepalives = fromSession.filter((m) => m.type === 'keepalive').length;
      assert.ok(keepalives >= 2, `the session kept sending KEEPALIVEs (${keepalives})`);
    } finally {
      silentPeer.destroy();
      await session.stop();
      await listener.close();
    }
  });

  test('the listener closes connections from addresses with no session', async () => {
    const listener = new BgpListener({ address: '127.0.0.1', port: 0 });
    const { port } = await listener.listen();
    const rejected = new Promise<string>((resolve) => listener.onRejected(resolve));
    const stranger = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.3' });
    stranger.on('error', () => {});
    const closed = new Promise<void>((resolve) => stranger.once('close', () => resolve()));
    try {
      assert.equal(await rejected, '127.0.0.3');
      await closed;
    } finally {
      stranger.destroy();
      await listener.close();
    }
  });
});
