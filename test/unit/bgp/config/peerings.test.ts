import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BGPPeer, BGPPeerSpec, Node, NodeSpec } from '../../../../src/api/types.js';
import {
  planNodePeerings,
  routerIdFromName,
  type ClusterBgpResources,
  type DesiredPeer,
} from '../../../../src/bgp/config/index.js';

function node(name: string, bgp: NonNullable<NodeSpec['bgp']>, labels: Record<string, string> = {}): Node {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name, labels },
    spec: { bgp },
  };
}

function peer(name: string, spec: BGPPeerSpec): BGPPeer {
  return { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec };
}

const A = node('a', { ipv4Address: '10.0.0.1/24' }, { rack: 'r1' });
const B = node('b', { ipv4Address: '10.0.0.2/24' }, { rack: 'r1' });
const C = node('c', { ipv4Address: '10.0.0.10/24', asNumber: 65010 }, { rack: 'r2' });
const RR = node('rr', { ipv4Address: '10.0.0.5/24', routeReflectorClusterID: '224.0.0.1' }, { rr: 'yes' });
const RR2 = node('rr2', { ipv4Address: '10.0.0.6/24', routeReflectorClusterID: '224.0.0.1' }, { rr: 'yes' });
const V6 = node('v6', { ipv4Address: '10.0.0.7/24', ipv6Address: 'fd00::7/64' });
const V6B = node('v6b', { ipv6Address: 'fd00::8/64' });

/** The parts of a peer each row checks; other fields are checked by their own rows. */
type Expected = Pick<DesiredPeer, 'address' | 'type' | 'asNumber'> & Partial<DesiredPeer>;

interface Row {
  readonly name: string;
  readonly node: string;
  readonly resources: ClusterBgpResources;
  readonly peers: readonly Expected[];
}

const ROWS: readonly Row[] = [
  {
    name: 'a full mesh with every other node, in the global AS 64512 by default',
    node: 'a',
    resources: { nodes: [A, B], bgpPeers: [] },
    peers: [{ address: '10.0.0.2', type: 'node-to-node mesh', asNumber: 64512, name: 'Mesh_10_0_0_2' }],
  },
  {
    name: "a mesh peer's AS is its own asNumber, which overrides the global one",
    node: 'a',
    resources: { nodes: [A, B, C], bgpConfiguration: { asNumber: 65000 }, bgpPeers: [] },
    peers: [
      { address: '10.0.0.2', type: 'node-to-node mesh', asNumber: 65000 },
      { address: '10.0.0.10', type: 'node-to-node mesh', asNumber: 65010 },
    ],
  },
  {
    name: 'mesh sessions are one-way: we wait when the peer address is greater as text',
    node: 'a',
    resources: { nodes: [A, B, C], bgpPeers: [] },
    // "10.0.0.2" > "10.0.0.1" and "10.0.0.10" > "10.0.0.1": both connect to us.
    peers: [
      { address: '10.0.0.2', type: 'node-to-node mesh', asNumber: 64512, passive: true },
      { address: '10.0.0.10', type: 'node-to-node mesh', asNumber: 65010, passive: true },
    ],
  },
  {
    name: 'the other side of a one-way mesh session connects out',
    node: 'c',
    resources: { nodes: [A, B, C], bgpPeers: [] },
    // "10.0.0.2" > "10.0.0.10" as text, so c waits for b but connects to a.
    peers: [
      { address: '10.0.0.1', type: 'node-to-node mesh', asNumber: 64512, passive: false },
      { address: '10.0.0.2', type: 'node-to-node mesh', asNumber: 64512, passive: true },
    ],
  },
  {
    name: 'the mesh uses the configured listenPort',
    node: 'a',
    resources: { nodes: [A, B], bgpConfiguration: { listenPort: 1790 }, bgpPeers: [] },
    peers: [{ address: '10.0.0.2', type: 'node-to-node mesh', asNumber: 64512, port: 1790 }],
  },
  {
    name: 'no mesh when nodeToNodeMeshEnabled is false',
    node: 'a',
    resources: { nodes: [A, B], bgpConfiguration: { nodeToNodeMeshEnabled: false }, bgpPeers: [] },
    peers: [],
  },
  {
    name: 'nodes skip route reflectors in the mesh',
    node: 'a',
    resources: { nodes: [A, B, RR], bgpPeers: [] },
    peers: [{ address: '10.0.0.2', type: 'node-to-node mesh', asNumber: 64512 }],
  },
  {
    name: 'a route reflector ignores the mesh',
    node: 'rr',
    resources: { nodes: [A, B, RR], bgpPeers: [] },
    peers: [],
  },
  {
    name: 'a global BGPPeer applies to every node, with its own AS',
    node: 'b',
    resources: {
      nodes: [A, B],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [peer('tor', { peerIP: '10.0.0.254', asNumber: 65100 })],
    },
    peers: [
      {
        address: '10.0.0.254',
        type: 'global',
        asNumber: 65100,
        name: 'Global_10_0_0_254',
        passive: false,
        port: 179,
        sourceAddress: '10.0.0.2',
        bgpPeer: 'tor',
      },
    ],
  },
  {
    name: 'a global peer at our own address is skipped',
    node: 'a',
    resources: {
      nodes: [A],
      bgpPeers: [peer('self', { peerIP: '10.0.0.1', asNumber: 64512 })],
    },
    peers: [],
  },
  {
    name: 'a BGPPeer with node: applies to that node only',
    node: 'a',
    resources: {
      nodes: [A, B],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [
        peer('for-a', { node: 'a', peerIP: '10.0.0.253', asNumber: 65001 }),
        peer('for-b', { node: 'b', peerIP: '10.0.0.252', asNumber: 65002 }),
      ],
    },
    peers: [{ address: '10.0.0.253', type: 'node specific', asNumber: 65001, name: 'Node_10_0_0_253' }],
  },
  {
    name: 'a BGPPeer with nodeSelector applies to the matching nodes',
    node: 'c',
    resources: {
      nodes: [A, B, C],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [
        peer('rack1-tor', { nodeSelector: "rack == 'r1'", peerIP: '10.0.1.1', asNumber: 65101 }),
        peer('rack2-tor', { nodeSelector: "rack == 'r2'", peerIP: '10.0.2.1', asNumber: 65102 }),
      ],
    },
    peers: [{ address: '10.0.2.1', type: 'node specific', asNumber: 65102 }],
  },
  {
    name: 'peerSelector peers with the matching nodes, at their addresses and ASes',
    node: 'a',
    resources: {
      nodes: [A, B, C],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [peer('all-to-all', { peerSelector: 'all()' })],
    },
    peers: [
      { address: '10.0.0.2', type: 'global', asNumber: 64512, peerNode: 'b' },
      { address: '10.0.0.10', type: 'global', asNumber: 65010, peerNode: 'c' },
    ],
  },
  {
    name: 'route reflector clients peer with the reflectors chosen by peerSelector',
    node: 'a',
    resources: {
      nodes: [A, B, RR, RR2],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [peer('to-rr', { nodeSelector: '!has(rr)', peerSelector: 'has(rr)' })],
    },
    peers: [
      { address: '10.0.0.5', type: 'node specific', asNumber: 64512, routeReflectorClient: false },
      { address: '10.0.0.6', type: 'node specific', asNumber: 64512, routeReflectorClient: false },
    ],
  },
  {
    name: 'a reflector treats non-reflector iBGP peers as its clients, and reflectors of its cluster as not',
    node: 'rr',
    resources: {
      nodes: [A, B, RR, RR2],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [
        peer('rr-to-clients', { nodeSelector: 'has(rr)', peerSelector: '!has(rr)' }),
        peer('rr-mesh', { nodeSelector: 'has(rr)', peerSelector: 'has(rr)' }),
      ],
    },
    peers: [
      { address: '10.0.0.1', type: 'node specific', asNumber: 64512, routeReflectorClient: true },
      { address: '10.0.0.2', type: 'node specific', asNumber: 64512, routeReflectorClient: true },
      { address: '10.0.0.6', type: 'node specific', asNumber: 64512, routeReflectorClient: false },
    ],
  },
  {
    name: 'a reflector chosen by peerSelector peers back with every node the BGPPeer applies to, as its clients',
    node: 'rr',
    resources: {
      nodes: [A, B, C, RR],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [peer('peer-with-route-reflectors', { nodeSelector: 'all()', peerSelector: "rr == 'yes'" })],
    },
    // The reflector matches nodeSelector too, but its peerSelector finds only itself; the peerings
    // come from the reverse rule. C is in another AS, so it is an eBGP peer, not a client.
    peers: [
      {
        address: '10.0.0.1',
        type: 'node specific',
        asNumber: 64512,
        routeReflectorClient: true,
        passive: false,
        name: 'Node_10_0_0_1',
        peerNode: 'a',
        bgpPeer: 'peer-with-route-reflectors',
        sourceAddress: '10.0.0.5',
      },
      { address: '10.0.0.2', type: 'node specific', asNumber: 64512, routeReflectorClient: true },
      { address: '10.0.0.10', type: 'node specific', asNumber: 65010, routeReflectorClient: false },
    ],
  },
  {
    name: 'a reverse peering takes the BGPPeer’s own settings (sourceAddress, maxRestartTime)',
    node: 'rr',
    resources: {
      nodes: [A, RR],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [
        peer('to-rr', {
          nodeSelector: '!has(rr)',
          peerSelector: 'has(rr)',
          sourceAddress: 'None',
          maxRestartTime: '90s',
        }),
      ],
    },
    peers: [
      {
        address: '10.0.0.1',
        type: 'node specific',
        asNumber: 64512,
        sourceAddress: undefined,
        restartTimeSec: 90,
      },
    ],
  },
  {
    name: 'a BGPPeer naming our address and AS by peerIP makes us peer back with its node',
    node: 'b',
    resources: {
      nodes: [A, B, C],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [peer('a-to-b', { node: 'a', peerIP: '10.0.0.2', asNumber: 64512 })],
    },
    peers: [
      { address: '10.0.0.1', type: 'node specific', asNumber: 64512, peerNode: 'a', bgpPeer: 'a-to-b' },
    ],
  },
  {
    name: 'a peerIP BGPPeer with an AS that is not ours is not reversed',
    node: 'b',
    resources: {
      nodes: [A, B],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [peer('a-to-b', { node: 'a', peerIP: '10.0.0.2', asNumber: 65999 })],
    },
    peers: [],
  },
  {
    name: 'a global BGPPeer to our address is reversed towards every other node',
    node: 'b',
    resources: {
      nodes: [A, B, C],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [peer('all-to-b', { peerIP: '10.0.0.2', asNumber: 64512 })],
    },
    peers: [
      { address: '10.0.0.1', type: 'node specific', asNumber: 64512 },
      { address: '10.0.0.10', type: 'node specific', asNumber: 65010 },
    ],
  },
  {
    name: 'a peerSelector reverse peering covers both families of the nodes on the local side',
    node: 'rr',
    resources: {
      nodes: [V6, RR],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [peer('to-rr', { nodeSelector: '!has(rr)', peerSelector: 'has(rr)' })],
    },
    // The reflector has no IPv6 address, so only the IPv4 peering exists on its side.
    peers: [{ address: '10.0.0.7', type: 'node specific', asNumber: 64512, family: 'ipv4' }],
  },
  {
    name: 'an explicit peering wins over a reverse one to the same address',
    node: 'rr',
    resources: {
      nodes: [A, RR],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [
        peer('to-rr', { nodeSelector: '!has(rr)', peerSelector: 'has(rr)' }),
        peer('rr-to-a', { node: 'rr', peerIP: '10.0.0.1', asNumber: 64512, maxRestartTime: '30s' }),
      ],
    },
    peers: [
      { address: '10.0.0.1', type: 'node specific', asNumber: 64512, bgpPeer: 'rr-to-a', restartTimeSec: 30 },
    ],
  },
  {
    name: 'a node the reverse rule does not reach keeps only its own peerings',
    node: 'b',
    resources: {
      nodes: [A, B, RR],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [peer('to-rr', { nodeSelector: 'all()', peerSelector: 'has(rr)' })],
    },
    peers: [{ address: '10.0.0.5', type: 'node specific', asNumber: 64512, routeReflectorClient: false }],
  },
  {
    name: 'a reflector does not make an eBGP peer its client',
    node: 'rr',
    resources: {
      nodes: [RR],
      bgpPeers: [peer('upstream', { peerIP: '10.0.0.254', asNumber: 65100 })],
    },
    peers: [{ address: '10.0.0.254', type: 'global', asNumber: 65100, routeReflectorClient: false }],
  },
  {
    name: 'keepOriginalNextHop is honoured on eBGP sessions only',
    node: 'a',
    resources: {
      nodes: [A],
      bgpPeers: [
        peer('ebgp', { peerIP: '10.0.0.250', asNumber: 65100, keepOriginalNextHop: true }),
        peer('ibgp', { peerIP: '10.0.0.251', asNumber: 64512, keepOriginalNextHop: true }),
      ],
    },
    peers: [
      { address: '10.0.0.250', type: 'global', asNumber: 65100, keepNextHop: true },
      { address: '10.0.0.251', type: 'global', asNumber: 64512, keepNextHop: false },
    ],
  },
  {
    name: 'sourceAddress None leaves the source address out; maxRestartTime becomes the restart time',
    node: 'a',
    resources: {
      nodes: [A],
      bgpPeers: [
        peer('p', { peerIP: '10.0.0.250', asNumber: 65100, sourceAddress: 'None', maxRestartTime: '2m' }),
      ],
    },
    peers: [
      {
        address: '10.0.0.250',
        type: 'global',
        asNumber: 65100,
        sourceAddress: undefined,
        restartTimeSec: 120,
      },
    ],
  },
  {
    name: 'the same address from the mesh and a node-specific BGPPeer is one session, the BGPPeer one',
    node: 'a',
    resources: {
      nodes: [A, B],
      bgpPeers: [peer('b-explicit', { node: 'a', peerIP: '10.0.0.2', asNumber: 64512 })],
    },
    peers: [{ address: '10.0.0.2', type: 'node specific', asNumber: 64512, passive: false }],
  },
  {
    name: 'IPv6 addresses mesh among the nodes that have one; IPv4 among the others',
    node: 'v6',
    resources: { nodes: [A, V6, V6B], bgpPeers: [] },
    peers: [
      { address: '10.0.0.1', type: 'node-to-node mesh', asNumber: 64512, family: 'ipv4' },
      {
        address: 'fd00::8',
        type: 'node-to-node mesh',
        asNumber: 64512,
        family: 'ipv6',
        name: 'Mesh_fd00__8',
      },
    ],
  },
  {
    name: 'a selector that does not parse is skipped (and reported)',
    node: 'a',
    resources: {
      nodes: [A, B],
      bgpConfiguration: { nodeToNodeMeshEnabled: false },
      bgpPeers: [peer('broken', { peerSelector: 'has(' })],
    },
    peers: [],
  },
];

describe('planNodePeerings follows Calico’s confd rules', () => {
  for (const row of ROWS) {
    test(row.name, () => {
      const plan = planNodePeerings(row.node, row.resources);
      assert.ok(plan, 'the node has a plan');
      assert.deepEqual(
        plan.peers.map((p) => p.address),
        row.peers.map((p) => p.address),
        'the peer addresses, in order',
      );
      for (const [i, want] of row.peers.entries()) {
        const got = plan.peers[i] as DesiredPeer;
        for (const [field, value] of Object.entries(want)) {
          assert.deepEqual(got[field as keyof DesiredPeer], value, `${want.address}: ${field}`);
        }
      }
    });
  }
});

describe('the node itself', () => {
  const TABLE = [
    {
      name: 'router id is the IPv4 address; AS falls back to the global one',
      nodes: [A],
      node: 'a',
      want: { routerId: '10.0.0.1', asNumber: 64512, ipv4: '10.0.0.1', listenPort: 179 },
    },
    {
      name: 'per-node AS overrides the global AS',
      nodes: [C],
      node: 'c',
      want: { routerId: '10.0.0.10', asNumber: 65010 },
    },
    {
      name: 'an IPv6-only node gets a router id hashed from its name',
      nodes: [V6B],
      node: 'v6b',
      want: { routerId: routerIdFromName('v6b'), ipv6: 'fd00::8', ipv4: undefined },
    },
    {
      name: 'a route reflector carries its cluster id',
      nodes: [RR],
      node: 'rr',
      want: { clusterId: '224.0.0.1' },
    },
  ] as const;
  for (const row of TABLE) {
    test(row.name, () => {
      const plan = planNodePeerings(row.node, { nodes: row.nodes, bgpPeers: [] });
      assert.ok(plan);
      for (const [k, v] of Object.entries(row.want)) assert.deepEqual(plan[k as keyof typeof plan], v, k);
    });
  }

  test('a node that does not exist, or has no BGP address, runs no BGP', () => {
    assert.equal(planNodePeerings('ghost', { nodes: [A], bgpPeers: [] }), undefined);
    const bare = node('bare', {});
    assert.equal(planNodePeerings('bare', { nodes: [bare, A], bgpPeers: [] }), undefined);
  });

  test('CALICO_ROUTER_ID overrides the router id, and "hash" derives it from the name', () => {
    assert.equal(
      planNodePeerings('a', { nodes: [A], bgpPeers: [] }, { routerId: '1.2.3.4' })?.routerId,
      '1.2.3.4',
    );
    assert.equal(
      planNodePeerings('a', { nodes: [A], bgpPeers: [] }, { routerId: 'hash' })?.routerId,
      routerIdFromName('a'),
    );
  });

  test('hashed router ids are dotted quads that differ between names', () => {
    const ids = ['node-1', 'node-2', 'node-3'].map(routerIdFromName);
    for (const id of ids) assert.match(id, /^\d{1,3}(\.\d{1,3}){3}$/);
    assert.equal(new Set(ids).size, 3);
  });

  test('a selector problem is reported by the resource name', () => {
    const plan = planNodePeerings('a', {
      nodes: [A],
      bgpPeers: [peer('broken', { peerSelector: 'has(' })],
    });
    assert.equal(plan?.problems.length, 1);
    assert.match(plan?.problems[0] ?? '', /BGPPeer broken peerSelector/);
  });
});
