// A full table from a peer reaches the kernel in parts: the Loc-RIB's changes go to the FIB's
// desired state at once, and the speaker sends 1024 routes per turn of the event loop to a writer
// that keeps order (the netlink coprocess), so the writer installs while the rest is prepared and
// the sessions keep reading in between. A writer that does not keep order (`ip -batch`) takes
// whatever is unsent in each sync.
// The speaker runs in this process on 127.0.0.1 with a fake kernel; the peer is driven by hand.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Resource } from '../../../../src/api/types.js';
import { MemoryDatastore } from '../../../../src/datastore/memory.js';
import { ResourceClient } from '../../../../src/datastore/resources.js';
import { BgpAgent } from '../../../../src/bgp/speaker/index.js';
import { FakeKernel } from './fake-kernel.js';
import { OrderedFakeWriter } from './ordered-fake-writer.js';
import { peerOpen, RawPeer, tableUpdates } from '../session/raw-peer.js';

const BASE_PORT = 20000 + Math.floor(Math.random() * 20000);
const ROUTES = 20_000;

async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A speaker on 127.0.0.1 with one eBGP peer (127.0.0.2), Established, routes written by `writer`. */
async function speakerWithPeer(
  port: number,
  runner: FakeKernel,
  writer: OrderedFakeWriter | undefined,
): Promise<{ agent: BgpAgent; peer: RawPeer; close: () => Promise<void> }> {
  const ds = new MemoryDatastore();
  const client = new ResourceClient(ds);
  const resources: Resource[] = [
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
      spec: { listenPort: port, nodeToNodeMeshEnabled: false, asNumber: 64512 },
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
  const agent = new BgpAgent({
    nodeName: 'a',
    datastore: ds,
    runner,
    ...(writer !== undefined ? { routeWriter: writer } : {}),
    logger: pino({ level: 'silent' }),
    bindToNodeAddress: true,
    connectRetrySec: 60,
    ipv6: false,
  });
  await agent.start();
  await agent.waitReady();
  const peer = await RawPeer.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
  const close = async () => {
    peer.destroy();
    await agent.stop();
    await ds.close();
  };
  try {
    peer.send(peerOpen(65002, '10.9.9.9'));
    peer.send({ type: 'keepalive' });
    await waitFor('the session is Established', () => agent.status()?.peers[0]?.state === 'Established');
  } catch (e) {
    await close();
    throw e;
  }
  return { agent, peer, close };
}

describe('BgpAgent taking a full table', { timeout: 60_000 }, () => {
  test('with a writer that keeps order: parts of at most 1024 routes, the first its own write, the event loop running between parts', async () => {
    const writer = new OrderedFakeWriter();
    const { peer, close } = await speakerWithPeer(BASE_PORT, new FakeKernel(), writer);
    try {
      assert.deepEqual(writer.writes, [], 'no routes before the table');
      // How much of the table the kernel has, read at every turn of the event loop while it is taken.
      const installed: number[] = [];
      let watching = true;
      const watch = (): void => {
        installed.push(writer.routes.size);
        if (watching) setImmediate(watch);
      };
      watch();
      peer.socket.write(Buffer.concat(tableUpdates(ROUTES)));
      await waitFor(`the kernel has ${ROUTES} routes`, () => writer.routes.size === ROUTES);
      watching = false;
      assert.ok(
        installed.some((n) => n > 0 && n < ROUTES),
        'the event loop ran while the table was written in parts',
      );
      const parts = writer.writes.filter((n) => n > 0);
      assert.ok(parts.length >= ROUTES / 1024, `the table went to the kernel in ${parts.length} write(s)`);
      assert.ok(
        parts.every((n) => n <= 1024),
        `every write has at most 1024 routes: ${parts.join(' ')}`,
      );
      assert.equal(parts[0], 1024);
      assert.deepEqual(writer.routes.get('11.0.0.0/24'), ['192.0.2.2']);
    } finally {
      await close();
    }
  });

  test('with a kernel slower than the peer: at most 8 parts wait for it, and more than one (the writer never idles)', async () => {
    const writer = new OrderedFakeWriter(3);
    const { peer, close } = await speakerWithPeer(BASE_PORT + 2, new FakeKernel(), writer);
    try {
      peer.socket.write(Buffer.concat(tableUpdates(ROUTES)));
      await waitFor(`the kernel has ${ROUTES} routes`, () => writer.routes.size === ROUTES);
      assert.ok(writer.maxInFlight <= 8, `${writer.maxInFlight} writes were in flight at once`);
      assert.ok(writer.maxInFlight >= 2, `${writer.maxInFlight} write in flight at most`);
      assert.deepEqual(writer.routes.get('11.0.0.0/24'), ['192.0.2.2']);
    } finally {
      await close();
    }
  });

  test('with ip -batch (no order kept between writes): the whole table in the kernel, each sync taking what is unsent', async () => {
    const kernel = new FakeKernel();
    const { peer, close } = await speakerWithPeer(BASE_PORT + 1, kernel, undefined);
    try {
      const routeBatches = () => kernel.batches.filter((b) => b.some((line) => line.startsWith('route ')));
      assert.deepEqual(routeBatches(), [], 'no routes before the table');
      peer.socket.write(Buffer.concat(tableUpdates(ROUTES)));
      await waitFor(`the kernel has ${ROUTES} routes`, () => kernel.routes.size === ROUTES);
      const lines = routeBatches().reduce((n, b) => n + b.length, 0);
      assert.equal(lines, ROUTES, 'each route written once');
      assert.deepEqual(kernel.routes.get('11.0.0.0/24'), ['192.0.2.2']);
    } finally {
      await close();
    }
  });
});
