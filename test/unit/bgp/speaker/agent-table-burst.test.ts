// A full table from a peer reaches the kernel in parts: the speaker gives the FIB 1024 routes of
// a big flush per turn of the event loop, so the writer installs while the rest is prepared and
// the sessions keep reading in between.
// The speaker runs in this process on 127.0.0.1 with a fake kernel; the peer is driven by hand.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Resource } from '../../../../src/api/types.js';
import { MemoryDatastore } from '../../../../src/datastore/memory.js';
import { ResourceClient } from '../../../../src/datastore/resources.js';
import { BgpAgent } from '../../../../src/bgp/speaker/index.js';
import { FakeKernel } from './fake-kernel.js';
import { peerOpen, RawPeer, tableUpdates } from '../session/raw-peer.js';

const PORT = 20000 + Math.floor(Math.random() * 20000);
const ROUTES = 20_000;

async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('BgpAgent taking a full table', { timeout: 60_000 }, () => {
  const ds = new MemoryDatastore();
  const kernel = new FakeKernel();
  let agent: BgpAgent;
  let peer: RawPeer | undefined;

  before(async () => {
    const client = new ResourceClient(ds);
    const resources: Resource[] = [
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'BGPConfiguration',
        metadata: { name: 'default' },
        spec: { listenPort: PORT, nodeToNodeMeshEnabled: false, asNumber: 64512 },
      },
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'Node',
        metadata: { name: 'a' },
        spec: { bgp: { ipv4Address: '127.0.0.1/8' } },
      },
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'BGPPeer',
        metadata: { name: 'upstream' },
        spec: { peerIP: '127.0.0.2', asNumber: 65002 },
      },
    ];
    for (const r of resources) await client.create(r);
    agent = new BgpAgent({
      nodeName: 'a',
      datastore: ds,
      runner: kernel,
      logger: pino({ level: 'silent' }),
      bindToNodeAddress: true,
      connectRetrySec: 60,
      ipv6: false,
    });
    await agent.start();
    await agent.waitReady();
  });

  after(async () => {
    peer?.destroy();
    await agent.stop();
    await ds.close();
  });

  test('a 20k table reaches the kernel in parts, its first 1024 routes in a write of their own, the event loop running between parts', async () => {
    peer = await RawPeer.connect({ host: '127.0.0.1', port: PORT, localAddress: '127.0.0.2' });
    peer.send(peerOpen(65002, '10.9.9.9'));
    peer.send({ type: 'keepalive' });
    await waitFor('the session is Established', () => agent.status()?.peers[0]?.state === 'Established');
    const routeBatches = () => kernel.batches.filter((b) => b.some((line) => line.startsWith('route ')));
    assert.deepEqual(routeBatches(), [], 'no routes before the table');

    // What the FIB wants, read at every turn of the event loop while the table is taken.
    const wanted: number[] = [];
    let watching = true;
    const watch = (): void => {
      wanted.push(agent.status()?.kernelRoutes ?? 0);
      if (watching) setImmediate(watch);
    };
    watch();
    peer.socket.write(Buffer.concat(tableUpdates(ROUTES)));
    await waitFor(`the kernel has ${ROUTES} routes`, () => kernel.routes.size === ROUTES);
    watching = false;
    assert.ok(
      wanted.some((n) => n > 0 && n < ROUTES),
      'the event loop ran while the table was given to the FIB in parts',
    );

    const batches = routeBatches();
    assert.ok(batches.length >= 2, `the table went to the kernel in ${batches.length} write(s)`);
    assert.equal(batches[0]?.length, 1024);
    assert.deepEqual(kernel.routes.get('11.0.0.0/24'), ['192.0.2.2']);
  });
});
