/**
 * The stage every interop test shares: one L2 segment (a bridge in a switch namespace), our host
 * (a real calico-node process, BGP only, on 10.0.0.1 / fd00::1) and any number of real routers
 * (BIRD, FRR, GoBGP from test/support/bgp-peers.ts) on 10.0.0.10+ / fd00::10+, each in its own
 * namespace. Our side is configured only the way a user would: a Node resource with its BGP
 * addresses and AS, a BGPConfiguration with the mesh off, BGPPeers, and IPAM blocks (affine to the
 * host through `autoAssign`) that the speaker announces.
 *
 * `close()` kills every router and calico-node and removes every namespace and directory, and it
 * is also what runs if the process exits first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BGPPeerSpec } from '../../src/api/types.js';
import { requestStatus, statusSocketPath, type NodeStatusReply } from '../../src/bgp/speaker/index.js';
import type { SpeakerStatus } from '../../src/bgp/speaker/index.js';
import { NetnsLab, requireRootAndTools } from '../support/netns.js';
import { bgpKernelRoutes, NodeProcess } from '../support/calico-node.js';
import { createRouter, waitFor, type BgpRouter, type Family, type RouterSpec } from '../support/bgp-peers.js';
import { L2Segment } from '../support/l2-segment.js';
import { BGP_TEST_POOLS, createIpPools, NodeDatastore } from '../support/node-datastore.js';

export const NODE_NAME = 'node1';
export const NODE4 = '10.0.0.1';
export const NODE6 = 'fd00::1';
/** The address of router slot `i` (0, 1, ...) on the shared segment. */
export const routerAddress4 = (i: number): string => `10.0.0.${10 + i}`;
export const routerAddress6 = (i: number): string => `fd00::${10 + i}`;

export interface NodeConfig {
  readonly asNumber: number;
  /** Makes our node a route reflector (Node spec.bgp.routeReflectorClusterID). */
  readonly clusterId?: string;
  readonly peers: readonly (BGPPeerSpec & { name: string })[];
}

/** Kernel routes our speaker owns (proto 81): prefix → sorted next hops. */
export type KernelRoutes = Record<string, string[]>;

export class InteropLab {
  readonly net = new NetnsLab();
  readonly dir = mkdtempSync(join(tmpdir(), 'calico-ts-interop-'));
  readonly routers: BgpRouter[] = [];
  private readonly segment: L2Segment;
  readonly nodeNs: string;
  private node: NodeProcess | undefined;
  private datastore: NodeDatastore | undefined;
  block4 = '';
  block6 = '';
  private nextSlot = 0;
  private readonly onExit = () => rmSync(this.dir, { recursive: true, force: true });

  constructor() {
    requireRootAndTools(['ip']);
    process.on('exit', this.onExit);
    this.segment = new L2Segment(this.net);
    this.nodeNs = this.segment.join('node', NODE4, NODE6);
  }

  /** A router in a new namespace on the segment, in the next address slot; not started yet. */
  addRouter(
    name: string,
    spec: (slot: {
      address4: string;
      address6: string;
      routerId: string;
    }) => Omit<RouterSpec, 'ns' | 'address4' | 'address6'>,
  ): BgpRouter {
    const i = this.nextSlot++;
    const address4 = routerAddress4(i);
    const address6 = routerAddress6(i);
    const ns = this.segment.join(name, address4, address6);
    const router = createRouter({
      ...spec({ address4, address6, routerId: address4 }),
      ns,
      address4,
      address6,
    });
    this.routers.push(router);
    return router;
  }

  /** Writes the datastore (Node, BGPConfiguration, pools, blocks, BGPPeers) and starts calico-node. */
  async startNode(config: NodeConfig): Promise<void> {
    const datastore = await NodeDatastore.open(this.dir);
    this.datastore = datastore;
    const { client } = datastore;
    await client.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
      spec: { nodeToNodeMeshEnabled: false, asNumber: config.asNumber },
    });
    await createIpPools(client, BGP_TEST_POOLS);
    await client.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: NODE_NAME },
      spec: {
        bgp: {
          ipv4Address: `${NODE4}/24`,
          ipv6Address: `${NODE6}/64`,
          asNumber: config.asNumber,
          ...(config.clusterId !== undefined ? { routeReflectorClusterID: config.clusterId } : {}),
        },
      },
    });
    for (const { name, ...spec } of config.peers) {
      await client.create({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec });
    }
    await datastore.ipam.autoAssign({ handle: 'wl-1', host: NODE_NAME, num4: 1, num6: 1 });
    const blocks = (await datastore.affineBlocks())[NODE_NAME];
    if (blocks?.ipv4 === undefined || blocks.ipv6 === undefined)
      throw new Error('IPAM gave the node no IPv4 and IPv6 block');
    this.block4 = blocks.ipv4;
    this.block6 = blocks.ipv6;
    this.node = new NodeProcess(this.nodeNs, NODE_NAME, datastore.env, [
      '--no-felix',
      '--refresh-interval',
      '1000',
    ]);
    await this.node.waitForLog('status socket listening', 30_000);
  }

  /** The output of calico-node and every router, for failure messages. */
  logs(): string {
    return [
      `--- calico-node ---\n${this.node?.output ?? ''}`,
      ...this.routers.map((r) => `--- ${r.kind} ${r.spec.routerId} ---\n${r.log()}`),
    ].join('\n');
  }

  async status(): Promise<SpeakerStatus> {
    if (this.datastore === undefined) throw new Error('startNode() first');
    const reply = (await requestStatus(statusSocketPath(NODE_NAME, this.datastore.runDir), {
      request: 'status',
    })) as NodeStatusReply;
    if (reply.bgp === undefined) throw new Error(`calico-node runs no BGP: ${reply.bgpDisabled ?? ''}`);
    return reply.bgp;
  }

  /** Our speaker's session state per peer address. */
  async ourSessions(): Promise<Record<string, string>> {
    const s = await this.status();
    return Object.fromEntries(s.peers.map((p) => [p.address, p.state]));
  }

  kernelRoutes(family: Family): KernelRoutes {
    return bgpKernelRoutes(this.net, this.nodeNs, family === 'ipv4' ? 4 : 6);
  }

  /** Waits with the logs of everything attached to the failure. */
  async until<T>(
    what: string,
    probe: () => Promise<T> | T,
    ok: (v: T) => boolean,
    timeoutMs = 30_000,
  ): Promise<T> {
    return waitFor(what, probe, ok, timeoutMs).catch((e: Error) => {
      throw new Error(`${e.message}\n${this.logs()}`);
    });
  }

  /** Releases the node's addresses and then its now empty blocks, as a drained host would. */
  async releaseBlocks(): Promise<string[]> {
    if (this.datastore === undefined) throw new Error('startNode() first');
    const { ipam } = this.datastore;
    await ipam.releaseByHandle('wl-1');
    return ipam.releaseEmptyBlocks(NODE_NAME);
  }

  async stopNode(): Promise<number | null> {
    const code = (await this.node?.stop()) ?? null;
    await this.datastore?.close();
    this.datastore = undefined;
    return code;
  }

  async close(): Promise<void> {
    try {
      await this.stopNode();
      for (const r of this.routers) await r.stop();
    } finally {
      this.net.cleanup();
      rmSync(this.dir, { recursive: true, force: true });
      process.off('exit', this.onExit);
    }
  }
}
