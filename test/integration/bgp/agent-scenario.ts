/**
 * Three BgpAgents in one process, on 10.0.0.1-3 (addresses on lo in the namespace that
 * agent.test.ts runs this file in; 127/8 will not do, BGP refuses loopback next hops), with a
 * shared in-memory datastore and a fake kernel each: the whole speaker — config, sessions, RIB,
 * FIB plan — in one process, fast. The steps run in order and each waits for the state it
 * describes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { pino } from 'pino';
import type { BGPPeerSpec, NodeSpec, Resource } from '../../../src/api/types.js';
import { MemoryDatastore } from '../../../src/datastore/memory.js';
import { ResourceClient } from '../../../src/datastore/resources.js';
import { IpamClient } from '../../../src/ipam/index.js';
import { HOST_PREFIX, parseAffinityKey } from '../../../src/ipam/keys.js';
import { formatCidr } from '../../../src/net/ip.js';
import { BgpAgent } from '../../../src/bgp/speaker/index.js';
import { FakeKernel } from '../../unit/bgp/speaker/fake-kernel.js';

const NAMES = ['a', 'b', 'c'] as const;
type Name = (typeof NAMES)[number];
const ADDRESS: Record<Name, string> = { a: '10.0.0.1', b: '10.0.0.2', c: '10.0.0.3' };
const PORT = 20000 + Math.floor(Math.random() * 20000);
let port = PORT;
const silent = pino({ level: 'silent' });

async function waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('BgpAgent: three speakers in one process', () => {
  const ds = new MemoryDatastore();
  const client = new ResourceClient(ds);
  const ipam = new IpamClient(ds);
  const kernels = new Map<Name, FakeKernel>();
  const agents = new Map<Name, BgpAgent>();
  const blocks = new Map<Name, string>();
  const workloadIp = new Map<Name, string>();

  const agent = (n: Name) => agents.get(n) as BgpAgent;
  const kernel = (n: Name) => kernels.get(n) as FakeKernel;
  const routesOf = (n: Name) => Object.fromEntries(kernel(n).routes);

  function startAgent(n: Name, k = new FakeKernel()): BgpAgent {
    kernels.set(n, k);
    const a = new BgpAgent({
      nodeName: n,
      datastore: ds,
      runner: k,
      logger: silent,
      bindToNodeAddress: true,
      connectRetrySec: 0.2,
      idleHoldSec: 0.2,
      selectionDeferralMs: 5_000,
    });
    agents.set(n, a);
    return a;
  }

  async function put(resource: Resource): Promise<void> {
    const kind = resource.kind;
    const existing = await client.get(kind, resource.metadata.name);
    if (existing)
      await client.update({
        ...resource,
        metadata: { ...resource.metadata, resourceVersion: existing.metadata.resourceVersion },
      } as Resource);
    else await client.create(resource);
  }

  const node = (
    name: string,
    bgp: NonNullable<NodeSpec['bgp']>,
    labels: Record<string, string> = {},
  ): Resource => ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name, labels },
    spec: { bgp },
  });
  const bgpPeer = (name: string, spec: BGPPeerSpec): Resource => ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'BGPPeer',
    metadata: { name },
    spec,
  });
  const bgpConfig = (spec: Record<string, unknown>): Resource => ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: { listenPort: port, ...spec },
  });

  before(async () => {
    await client.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'pool' },
      spec: { cidr: '10.65.0.0/16', blockSize: 26 },
    });
    await put(bgpConfig({}));
    for (const n of NAMES) {
      await put(node(n, { ipv4Address: `${ADDRESS[n]}/24` }));
      const r = await ipam.autoAssign({ handle: `wl-${n}`, host: n, num4: 1 });
      const ip = r.ipv4[0] as string;
      workloadIp.set(n, ip.split('/')[0] as string);
    }
    for (const kv of (await ds.list(HOST_PREFIX)).items) {
      const a = parseAffinityKey(kv.key);
      if (a) blocks.set(a.host as Name, formatCidr(a.cidr));
    }
    for (const n of NAMES) await startAgent(n).start();
  });

  after(async () => {
    await Promise.all([...agents.values()].map((a) => a.stop()));
    await ds.close();
  });

  test('each node learns the other nodes’ blocks, next hop the owning node', async () => {
    assert.equal(blocks.size, 3, 'each host has an affine block');
    const expected = (n: Name) =>
      Object.fromEntries(NAMES.filter((o) => o !== n).map((o) => [blocks.get(o), [ADDRESS[o]]]));
    await waitFor('every node has the other two blocks', () =>
      NAMES.every((n) => isDeepStrictEqual(routesOf(n), expected(n))),
    ).catch(() => undefined);
    for (const n of NAMES) assert.deepEqual(routesOf(n), expected(n));
  });

  test('status shows every mesh peer Established, with the routes it sent', () => {
    const status = agent('a').status();
    assert.ok(status);
    assert.equal(status.routerId, '10.0.0.1');
    assert.deepEqual(
      status.peers.map((p) => [p.address, p.type, p.state, p.routesAccepted]),
      [
        ['10.0.0.2', 'node-to-node mesh', 'Established', 1],
        ['10.0.0.3', 'node-to-node mesh', 'Established', 1],
      ],
    );
    assert.deepEqual(status.originated, [blocks.get('a')]);
    assert.deepEqual(
      agent('a')
        .routes('10.0.0.2')
        ?.received.map((r) => [r.prefix, r.nextHop]),
      [[blocks.get('b'), '10.0.0.2']],
    );
  });

  test('a workload address borrowed from another block is advertised as a host route', async () => {
    const borrowed = '10.65.200.7';
    await put({
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: { name: 'a-k8s-borrowed-eth0', namespace: 'default' },
      spec: {
        node: 'a',
        ipNetworks: [`${borrowed}/32`],
        interfaceName: 'caliborrowed',
        workload: 'w',
        endpoint: 'eth0',
        orchestrator: 'k8s',
      },
    } as Resource);
    await waitFor('b and c route the borrowed address to a', () =>
      (['b', 'c'] as const).every((n) => routesOf(n)[`${borrowed}/32`]?.[0] === ADDRESS.a),
    );
    // A workload inside a's own block adds nothing: the block covers it.
    assert.equal(routesOf('b')[`${workloadIp.get('a')}/32`], undefined);
  });

  test('adding an unrelated BGPPeer leaves the running sessions alone', async () => {
    const before = agent('a')
      .status()
      ?.peers.map((p) => [p.address, p.since]);
    await put(bgpPeer('elsewhere', { node: 'c', peerIP: '10.0.0.9', asNumber: 65009 }));
    await waitFor(
      'c has the new peer',
      () =>
        agent('c')
          .status()
          ?.peers.some((p) => p.address === '10.0.0.9') ?? false,
    );
    assert.deepEqual(
      agent('a')
        .status()
        ?.peers.map((p) => [p.address, p.since]),
      before,
    );
    assert.equal(
      agent('c')
        .status()
        ?.peers.find((p) => p.address === '10.0.0.9')?.type,
      'node specific',
    );
  });

  test('a new listenPort moves every session to it, and the routes come back', async () => {
    port = PORT + 1;
    await put(bgpConfig({}));
    await waitFor('every node listens on the new port with its mesh sessions up', () =>
      NAMES.every((n) => {
        const s = agent(n).status();
        return (
          s?.listenPort === port &&
          s.peers.filter((p) => p.type === 'node-to-node mesh').length === 2 &&
          s.peers.filter((p) => p.type === 'node-to-node mesh').every((p) => p.state === 'Established')
        );
      }),
    );
    await waitFor('a has the other blocks again', () =>
      (['b', 'c'] as const).every((o) => routesOf('a')[blocks.get(o) as string]?.[0] === ADDRESS[o]),
    );
  });

  test('a route reflector (c) replaces the mesh: clients learn each other’s blocks through it', async () => {
    await put(bgpConfig({ nodeToNodeMeshEnabled: false }));
    await put(node('c', { ipv4Address: '10.0.0.3/24', routeReflectorClusterID: '224.0.0.1' }, { rr: 'yes' }));
    await put(bgpPeer('clients-to-rr', { nodeSelector: '!has(rr)', peerSelector: 'has(rr)' }));
    await put(bgpPeer('rr-to-clients', { nodeSelector: 'has(rr)', peerSelector: '!has(rr)' }));
    await waitFor(
      'a has only c as a peer',
      () =>
        JSON.stringify(
          agent('a')
            .status()
            ?.peers.map((p) => [p.address, p.type, p.state]),
        ) === JSON.stringify([['10.0.0.3', 'node specific', 'Established']]),
    );
    // Reflected routes keep the owner's next hop: a reaches b directly.
    await waitFor(
      "a routes b's block to b, learned through c",
      () => routesOf('a')[blocks.get('b') as string]?.[0] === ADDRESS.b,
    );
    assert.equal(
      agent('c')
        .status()
        ?.peers.find((p) => p.address === '10.0.0.1')?.type,
      'node specific',
    );
  });

  test('graceful restart: a restarting node keeps its routes in the peers and in its own kernel', async () => {
    const bBlock = blocks.get('b') as string;
    const oldKernel = kernel('b');
    await agent('b').stop();
    // c (and through it a) keeps b's routes, stale, while b is away.
    await waitFor(
      'c sees b down',
      () =>
        agent('c')
          .status()
          ?.peers.find((p) => p.address === '10.0.0.2')?.state !== 'Established',
    );
    assert.equal(routesOf('a')[bBlock]?.[0], ADDRESS.b, "a still routes to b's block");
    assert.ok(
      (agent('c')
        .status()
        ?.peers.find((p) => p.address === '10.0.0.2')?.routesStale ?? 0) >= 1,
    );
    assert.ok(Object.keys(routesOf('b')).length > 0, "b's kernel kept its learned routes");
    // b comes back with the kernel it left: it defers, re-learns, and nothing flaps.
    const restarted = startAgent('b', oldKernel);
    const batchesBefore = oldKernel.batches.length;
    await restarted.start();
    await waitFor('c has b again, nothing stale', () => {
      const p = agent('c')
        .status()
        ?.peers.find((x) => x.address === '10.0.0.2');
      return p?.state === 'Established' && p.routesStale === 0 && p.routesAccepted >= 1;
    });
    await waitFor('b decided after End-of-RIB', () => restarted.status()?.selectionDeferred === false);
    assert.equal(routesOf('a')[bBlock]?.[0], ADDRESS.b);
    assert.equal(routesOf('b')[blocks.get('a') as string]?.[0], ADDRESS.a);
    assert.equal(
      oldKernel.batches
        .slice(batchesBefore)
        .flat()
        .filter((l) => l.includes(blocks.get('a') as string)).length,
      0,
      "b never rewrote the route to a's block: it was right all along",
    );
  });

  test('removing the peerings withdraws the learned routes from the kernel', async () => {
    await client.delete('BGPPeer', 'clients-to-rr');
    await client.delete('BGPPeer', 'rr-to-clients');
    await waitFor(
      'a has no peers and no learned routes',
      () => agent('a').status()?.peers.length === 0 && Object.keys(routesOf('a')).length === 0,
    );
  });
});
