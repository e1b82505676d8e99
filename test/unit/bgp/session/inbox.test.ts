// Received messages wait in the connection's inbox and are handled in short turns (so a full table
// does not hold the event loop); nothing the peer sent may be lost or reordered when its connection
// goes right after: 200k routes take many turns, and the close must wait for them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpListener, BgpSession, type PeerConfig } from '../../../../src/bgp/session/index.js';
import { peerOpen, RawPeer, tableUpdates } from './raw-peer.js';

const CONFIG: PeerConfig = {
  localAs: 65001,
  routerId: '10.0.0.1',
  peerAs: 65002,
  peerAddress: '127.0.0.2',
  passive: true,
};

async function establishedPair(): Promise<{
  session: BgpSession;
  peer: RawPeer;
  cleanup: () => Promise<void>;
}> {
  const listener = new BgpListener({ address: '127.0.0.1', port: 0 });
  const { port } = await listener.listen();
  const session = new BgpSession(CONFIG);
  listener.addSession(session);
  session.start();
  const peer = await RawPeer.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
  const up = new Promise((resolve) => session.on('established', resolve));
  peer.send(peerOpen(65002, '10.0.0.2'));
  peer.send({ type: 'keepalive' });
  await up;
  return {
    session,
    peer,
    cleanup: async () => {
      peer.destroy();
      await session.stop();
      await listener.close();
    },
  };
}

describe('BgpSession handles received messages in turns', { timeout: 30_000 }, () => {
  test('UPDATEs sent just before the peer closes are all delivered, before the session goes down', async () => {
    const { session, peer, cleanup } = await establishedPair();
    try {
      const events: string[] = [];
      let prefixes = 0;
      session.on('update', (u) => {
        events.push('update');
        for (const a of u.announced) prefixes += a.prefixes.length;
      });
      const down = new Promise<void>((resolve) =>
        session.on('down', () => {
          events.push('down');
          resolve();
        }),
      );
      const messages = tableUpdates(200_000);
      peer.socket.end(Buffer.concat(messages));
      await down;
      assert.equal(prefixes, 200_000);
      assert.equal(events.at(-1), 'down');
      assert.equal(events.filter((e) => e === 'update').length, messages.length);
    } finally {
      await cleanup();
    }
  });

  test('receiving is true while messages of a burst wait to be handled, and false once the last is', async () => {
    const { session, peer, cleanup } = await establishedPair();
    try {
      const messages = tableUpdates(50_000);
      const seen: boolean[] = [];
      const all = new Promise<void>((resolve) =>
        session.on('update', () => {
          seen.push(session.receiving);
          if (seen.length === messages.length) resolve();
        }),
      );
      peer.socket.write(Buffer.concat(messages));
      await all;
      // One socket read carries many UPDATEs: the rest of it waits in the inbox behind the first.
      assert.equal(seen[0], true);
      assert.equal(seen.at(-1), false);
      assert.equal(session.receiving, false);
    } finally {
      await cleanup();
    }
  });
});
