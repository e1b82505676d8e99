// The socket edge's own duties, against a hand-driven peer on loopback: answering bad messages
// with the right NOTIFICATION, passing RFC 7606 treat-as-withdraw through without a reset, and
// pacing reconnects by the injected clock (no real waiting).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  BgpListener,
  BgpSession,
  type BgpSessionEvents,
  type Clock,
  type PeerConfig,
} from '../../../../src/bgp/session/index.js';
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

const PASSIVE: PeerConfig = {
  localAs: 65001,
  routerId: '10.0.0.1',
  peerAs: 65002,
  peerAddress: '127.0.0.2',
  passive: true,
};

/** A passive session on 127.0.0.1 and a raw peer connected to it from 127.0.0.2. */
async function passiveSessionWithPeer(config: PeerConfig = PASSIVE) {
  const listener = new BgpListener({ address: '127.0.0.1', port: 0 });
  const { port } = await listener.listen();
  const session = new BgpSession(config);
  listener.addSession(session);
  session.start();
  const peer = await RawPeer.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
  const cleanup = async (): Promise<void> => {
    peer.destroy();
    await session.stop();
    await listener.close();
  };
  return { session, peer, cleanup };
}

async function established(session: BgpSession, peer: RawPeer): Promise<void> {
  const up = next(session, 'established');
  peer.send(peerOpen(65002, '10.0.0.2'));
  peer.send({ type: 'keepalive' });
  await up;
}

/** A raw UPDATE body behind a valid header. */
function updateBytes(bodyHex: string): Buffer {
  const body = Buffer.from(bodyHex.replace(/\s+/g, ''), 'hex');
  const head = Buffer.alloc(19, 0xff);
  head.writeUInt16BE(19 + body.length, 16);
  head[18] = 2;
  return Buffer.concat([head, body]);
}

describe('BgpSession answers bad input with the right NOTIFICATION', { timeout: 30_000 }, () => {
  test('an OPEN with version 3 gets Unsupported Version Number and the connection closes', async () => {
    const { peer, cleanup } = await passiveSessionWithPeer();
    try {
      peer.send({ ...peerOpen(65002, '10.0.0.2'), version: 3 });
      const n = await peer.next(isNotification(2, 1));
      assert.equal(n.type === 'notification' && n.data.toString('hex'), '0004');
    } finally {
      await cleanup();
    }
  });

  test('an OPEN from the wrong AS gets Bad Peer AS', async () => {
    const { peer, cleanup } = await passiveSessionWithPeer();
    try {
      peer.send(peerOpen(65099, '10.0.0.2'));
      await peer.next(isNotification(2, 2));
    } finally {
      await cleanup();
    }
  });

  test('a broken marker gets Connection Not Synchronized', async () => {
    const { peer, cleanup } = await passiveSessionWithPeer();
    try {
      peer.socket.write(Buffer.concat([Buffer.alloc(15, 0xff), Buffer.from([0, 0, 19, 4])]));
      await peer.next(isNotification(1, 1));
    } finally {
      await cleanup();
    }
  });

  test('an UPDATE with an invalid NLRI prefix length resets the session with Invalid Network Field', async () => {
    const { session, peer, cleanup } = await passiveSessionWithPeer();
    try {
      await established(session, peer);
      const down = next(session, 'down');
      peer.socket.write(
        updateBytes('0000 0014 400101 00 400206 0201 0000fdea 400304 c0000201  21 0a000000 00'),
      );
      await peer.next(isNotification(3, 10));
      assert.deepEqual((await down).notification, { direction: 'sent', code: 3, subcode: 10 });
    } finally {
      await cleanup();
    }
  });

  test('an UPDATE with an invalid ORIGIN is treated as withdraw and the session stays up (RFC 7606)', async () => {
    const { session, peer, cleanup } = await passiveSessionWithPeer();
    try {
      await established(session, peer);
      const update = next(session, 'update');
      peer.socket.write(updateBytes('0000 0014 400101 09 400206 0201 0000fdea 400304 c0000201  18 c63364'));
      const u = await update;
      assert.equal(u.treatAsWithdraw, true);
      assert.deepEqual(u.withdrawn, [{ family: 'ipv4', address: '198.51.100.0', length: 24 }]);
      peer.send({ type: 'keepalive' });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(session.state, 'Established');
      assert.equal(
        peer.received.some((m) => m.type === 'notification'),
        false,
      );
    } finally {
      await cleanup();
    }
  });

  test('the same UPDATE under strict error handling resets with Invalid ORIGIN Attribute', async () => {
    const { session, peer, cleanup } = await passiveSessionWithPeer({ ...PASSIVE, errorHandling: 'strict' });
    try {
      await established(session, peer);
      peer.socket.write(updateBytes('0000 0014 400101 09 400206 0201 0000fdea 400304 c0000201  18 c63364'));
      await peer.next(isNotification(3, 6));
    } finally {
      await cleanup();
    }
  });
});

/** A clock the test advances by hand. */
class ManualClock implements Clock {
  private t = 0;
  private pending: { at: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  schedule(ms: number, fn: () => void): () => void {
    const entry = { at: this.t + ms, fn, live: true };
    this.pending.push(entry);
    return () => {
      entry.live = false;
    };
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.pending.filter((p) => p.live && p.at <= this.t);
    this.pending = this.pending.filter((p) => p.live && p.at > this.t);
    for (const p of due) p.fn();
  }
}

describe('BgpSession on an injected clock', { timeout: 30_000 }, () => {
  test('a refused connection waits for ConnectRetry, then the retry reaches the peer', async () => {
    // Find a port with nothing listening, then listen on it only after the first attempt failed.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen({ host: '127.0.0.2', port: 0 }, () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));

    const clock = new ManualClock();
    const session = new BgpSession(
      { ...PASSIVE, passive: false, peerPort: port, connectRetrySec: 120, localAddress: '127.0.0.1' },
      { clock },
    );
    const server = net.createServer();
    try {
      const active = next(session, 'state', (s) => s.to === 'Active');
      session.start();
      assert.equal(session.state, 'Connect');
      await active;
      assert.match(session.info, /ECONNREFUSED/);
      await new Promise<void>((r) => server.listen({ host: '127.0.0.2', port }, () => r()));
      const accepted = new Promise<RawPeer>((r) => server.once('connection', (s) => r(new RawPeer(s))));
      clock.advance(119_000);
      assert.equal(session.state, 'Active', 'no retry before ConnectRetry has passed');
      clock.advance(1_000);
      const peer = await accepted;
      await peer.next((m) => m.type === 'open');
      assert.equal(session.state, 'OpenSent');
      peer.destroy();
    } finally {
      const stopping = session.stop();
      clock.advance(5_000); // lets the close grace timer run on the manual clock
      await stopping;
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
