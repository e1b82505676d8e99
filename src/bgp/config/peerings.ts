/**
 * Which BGP sessions a node runs, computed from the datastore's resources the way Calico's confd
 * templates compute BIRD's configuration (confd/etc/calico/confd/templates/bird.cfg.template and
 * the BGPPeer expansion in confd's Calico backend). It is a pure function of plain resources, so
 * every rule below is a row in a unit-test table; the speaker re-runs it on every change and
 * diffs the answer against its running sessions.
 *
 * The rules, per address family (a node takes part in a family only if it has an address of it):
 * - Node-to-node mesh (`nodeToNodeMeshEnabled`, default true): a session to every other Node with
 *   an address of the family. A node that is a route reflector (`routeReflectorClusterID` set)
 *   ignores the mesh, and every other node skips route reflectors in its mesh: reflectors are
 *   reached through explicit BGPPeers. The peer's AS is its own `asNumber`, else the global one;
 *   the port is `listenPort`. Mesh sessions are one-way: the side with the greater address (as
 *   text, because the template compares strings with `gt`) waits for the other to connect, which
 *   avoids a restart race; comparing text keeps us compatible with nodes running Calico's BIRD.
 * - BGPPeer: applies to one node (`node:`), to the nodes matching `nodeSelector` ("node specific"),
 *   or to every node when it names neither ("global"). It peers with `peerIP`/`asNumber`, or with
 *   every Node matching `peerSelector` (their addresses, ASes and listen port). A peer whose address
 *   is our own is skipped ("Skipping ourselves").
 * - Reverse peerings: a BGPPeer whose remote side is this node (its `peerSelector` matches us, or
 *   its `peerIP` and AS are ours) also makes us peer, "node specific", with each Calico node on its
 *   local side (`node`, `nodeSelector`, or all nodes), so a node-to-node peering is configured at
 *   both ends; confd adds these in a second pass, and an explicit peering to the address wins.
 * - Route reflection: on a node with a cluster ID, a BGPPeer session inside our AS to a peer that is
 *   not in our cluster makes that peer our route-reflector client.
 * - `keepOriginalNextHop` applies to eBGP sessions only; `sourceAddress: None` leaves the choice of
 *   local address to the kernel, otherwise the node's address is the source.
 * - One session per peer address (the listener tells peers apart by address): where the mesh and
 *   BGPPeers name the same address, node-specific beats global beats mesh.
 */
import type { BGPConfigurationSpec, BGPPeer, Node } from '../../api/types.js';
import { effectiveBgpConfig } from '../../api/defaults.js';
import { parseDuration } from '../../api/values.js';
import { canonicalIp, parseIp, parseIpOrCidr, formatIp } from '../../net/ip.js';
import { parseSelector, type Selector } from '../../selector/index.js';
import type { AddressFamily } from '../types.js';

/** The Peer Type column of `calicoctl node status`. */
export type PeerType = 'node-to-node mesh' | 'global' | 'node specific';

export interface DesiredPeer {
  /** The session's identity: the peer address, canonical text. */
  readonly address: string;
  /** BIRD-style protocol name, as Calico's templates name it (`Mesh_10_0_0_2`, `Global_...`, `Node_...`). */
  readonly name: string;
  readonly type: PeerType;
  readonly family: AddressFamily;
  readonly port: number;
  readonly asNumber: number;
  /** Wait for the peer to connect (the one-way mesh rule). */
  readonly passive: boolean;
  /** Local address for the TCP connection (the node's own), unless `sourceAddress: None`. */
  readonly sourceAddress?: string;
  readonly routeReflectorClient: boolean;
  /** eBGP only: pass routes on with their original next hop. */
  readonly keepNextHop: boolean;
  /** BGPPeer `maxRestartTime`, for the graceful restart time we grant this peer. */
  readonly restartTimeSec?: number;
  /** The Node on the other end, when the peer is one of ours (mesh or peerSelector). */
  readonly peerNode?: string;
  /** The BGPPeer resource that asked for this session. */
  readonly bgpPeer?: string;
}

export interface NodeBgpPlan {
  readonly nodeName: string;
  readonly routerId: string;
  readonly asNumber: number;
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly clusterId?: string;
  readonly listenPort: number;
  readonly peers: readonly DesiredPeer[];
  /** Resources we could not use (a selector that does not parse), named for the log. */
  readonly problems: readonly string[];
}

export interface ClusterBgpResources {
  readonly nodes: readonly Node[];
  /** The BGPConfiguration named `default`, if there is one. */
  readonly bgpConfiguration?: BGPConfigurationSpec;
  readonly bgpPeers: readonly BGPPeer[];
}

export interface PlanOptions {
  /** Calico's CALICO_ROUTER_ID: an address, or `hash` for one derived from the node name. */
  readonly routerId?: string;
}

/** The address of a Node field (`10.0.0.1/24` or `10.0.0.1`), canonical, without the length. */
export function nodeAddress(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  const cidr = parseIpOrCidr(text);
  return cidr ? formatIp({ family: cidr.family, value: cidr.address }) : undefined;
}

/**
 * A router id for a node without an IPv4 address (Calico's `hashToIPv4`): FNV-1a of the name,
 * shown as a dotted quad, never 0.0.0.0.
 */
export function routerIdFromName(name: string): string {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(name, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  if (h === 0) h = 1;
  return [h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff].join('.');
}

interface NodeFacts {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly asNumber: number;
  readonly addresses: Readonly<Partial<Record<AddressFamily, string>>>;
  readonly clusterId: string | undefined;
}

function factsOf(node: Node, globalAs: number): NodeFacts {
  const bgp = node.spec.bgp;
  const addresses: Partial<Record<AddressFamily, string>> = {};
  const v4 = nodeAddress(bgp?.ipv4Address);
  const v6 = nodeAddress(bgp?.ipv6Address);
  if (v4 !== undefined) addresses.ipv4 = v4;
  if (v6 !== undefined) addresses.ipv6 = v6;
  const cid = bgp?.routeReflectorClusterID;
  return {
    name: node.metadata.name,
    labels: node.metadata.labels ?? {},
    asNumber: bgp?.asNumber ?? globalAs,
    addresses,
    clusterId: cid === undefined || cid === '' ? undefined : cid,
  };
}

const FAMILIES: readonly AddressFamily[] = ['ipv4', 'ipv6'];

const TYPE_PRECEDENCE: Readonly<Record<PeerType, number>> = {
  'node-to-node mesh': 0,
  global: 1,
  'node specific': 2,
};

const NAME_PREFIX: Readonly<Record<PeerType, string>> = {
  'node-to-node mesh': 'Mesh',
  global: 'Global',
  'node specific': 'Node',
};

function protocolName(type: PeerType, address: string, port: number, defaultPort: number): string {
  const id = address.replace(/[.:]/g, '_');
  const portPart = type !== 'node-to-node mesh' && port !== defaultPort ? `_port_${port}` : '';
  return `${NAME_PREFIX[type]}_${id}${portPart}`;
}

/** What one BGPPeer resource asks this node to peer with, before de-duplication. */
interface PeerTarget {
  readonly address: string;
  readonly family: AddressFamily;
  readonly asNumber: number;
  readonly port: number;
  readonly node?: NodeFacts;
}

/** The peerings `nodeName` runs; undefined when the Node does not exist or has no BGP address. */
export function planNodePeerings(
  nodeName: string,
  resources: ClusterBgpResources,
  options: PlanOptions = {},
): NodeBgpPlan | undefined {
  const global = effectiveBgpConfig(resources.bgpConfiguration);
  const nodes = resources.nodes.map((n) => factsOf(n, global.asNumber));
  const self = nodes.find((n) => n.name === nodeName);
  if (self === undefined || (self.addresses.ipv4 === undefined && self.addresses.ipv6 === undefined)) {
    return undefined;
  }
  const problems: string[] = [];
  const selectors = new Map<string, Selector | undefined>();
  const selector = (text: string, where: string): Selector | undefined => {
    if (!selectors.has(text)) {
      try {
        selectors.set(text, parseSelector(text));
      } catch (e) {
        problems.push(`${where}: selector "${text}" does not parse (${(e as Error).message}); ignored`);
        selectors.set(text, undefined);
      }
    }
    return selectors.get(text);
  };
  const byAddress = new Map<string, DesiredPeer>();
  const offer = (peer: DesiredPeer): void => {
    const existing = byAddress.get(peer.address);
    if (existing === undefined || TYPE_PRECEDENCE[peer.type] >= TYPE_PRECEDENCE[existing.type]) {
      byAddress.set(peer.address, peer);
    }
  };

  // Node-to-node mesh.
  if (global.nodeToNodeMeshEnabled && self.clusterId === undefined) {
    for (const other of nodes) {
      if (other.clusterId !== undefined) continue;
      for (const family of FAMILIES) {
        const ours = self.addresses[family];
        const theirs = other.addresses[family];
        if (ours === undefined || theirs === undefined || theirs === ours) continue;
        offer({
          address: theirs,
          name: protocolName('node-to-node mesh', theirs, global.listenPort, global.listenPort),
          type: 'node-to-node mesh',
          family,
          port: global.listenPort,
          asNumber: other.asNumber,
          passive: theirs > ours,
          sourceAddress: ours,
          routeReflectorClient: false,
          keepNextHop: false,
          peerNode: other.name,
        });
      }
    }
  }

  // BGPPeer resources, global ones first so node-specific ones win a shared address.
  const sorted = [...resources.bgpPeers].sort(
    (a, b) => scopeRank(a) - scopeRank(b) || a.metadata.name.localeCompare(b.metadata.name),
  );
  const fromBgpPeers = new Set<string>();
  const sessionFor = (res: BGPPeer, type: PeerType, target: PeerTarget): DesiredPeer | undefined => {
    const ours = self.addresses[target.family];
    if (ours === undefined || target.address === ours) return undefined;
    if (target.node?.name === self.name) return undefined;
    const spec = res.spec;
    const ibgp = target.asNumber === self.asNumber;
    const restart = parseDuration(spec.maxRestartTime);
    return {
      address: target.address,
      name: protocolName(type, target.address, target.port, 179),
      type,
      family: target.family,
      port: target.port,
      asNumber: target.asNumber,
      passive: false,
      ...(spec.sourceAddress === 'None' ? {} : { sourceAddress: ours }),
      routeReflectorClient: ibgp && self.clusterId !== undefined && target.node?.clusterId !== self.clusterId,
      keepNextHop: !ibgp && spec.keepOriginalNextHop === true,
      ...(restart !== undefined ? { restartTimeSec: Math.round(restart / 1000) } : {}),
      ...(target.node ? { peerNode: target.node.name } : {}),
      bgpPeer: res.metadata.name,
    };
  };
  for (const res of sorted) {
    const type = forwardType(res, self, selector);
    if (type === undefined) continue;
    for (const target of peerTargets(res, nodes, global.asNumber, global.listenPort, selector)) {
      const peer = sessionFor(res, type, target);
      if (peer === undefined) continue;
      offer(peer);
      fromBgpPeers.add(peer.address);
    }
  }

  // Reverse peerings (confd's second pass over BGPPeers): a BGPPeer that makes node A peer with
  // Calico node B also makes B peer with A, so both ends of a node-to-node peering are configured
  // even when only one side matches the resource (the usual route-reflector set-up: clients
  // select reflectors with peerSelector, and each reflector learns its clients this way). A
  // peering some BGPPeer asked for explicitly wins over a reverse one to the same address.
  for (const res of sorted) {
    const families = reverseFamilies(res, self, global.asNumber, selector);
    if (families.length === 0) continue;
    for (const other of reversePeerNodes(res, nodes, selector)) {
      for (const family of families) {
        const address = other.addresses[family];
        if (address === undefined || fromBgpPeers.has(address)) continue;
        const target: PeerTarget = {
          address,
          family,
          asNumber: other.asNumber,
          port: global.listenPort,
          node: other,
        };
        const peer = sessionFor(res, 'node specific', target);
        if (peer === undefined) continue;
        offer(peer);
        fromBgpPeers.add(peer.address);
      }
    }
  }

  const routerId =
    options.routerId === 'hash'
      ? routerIdFromName(nodeName)
      : options.routerId !== undefined && options.routerId !== ''
        ? options.routerId
        : (self.addresses.ipv4 ?? routerIdFromName(nodeName));
  return {
    nodeName,
    routerId,
    asNumber: self.asNumber,
    ...(self.addresses.ipv4 !== undefined ? { ipv4: self.addresses.ipv4 } : {}),
    ...(self.addresses.ipv6 !== undefined ? { ipv6: self.addresses.ipv6 } : {}),
    ...(self.clusterId !== undefined ? { clusterId: self.clusterId } : {}),
    listenPort: global.listenPort,
    peers: [...byAddress.values()].sort(comparePeers),
    problems,
  };
}

function scopeRank(p: BGPPeer): number {
  return (p.spec.node ?? '') !== '' || (p.spec.nodeSelector ?? '') !== '' ? 1 : 0;
}

/** The peer type a BGPPeer gives this node's own (forward) peerings, or undefined if it does not apply. */
function forwardType(
  res: BGPPeer,
  self: NodeFacts,
  selector: (text: string, where: string) => Selector | undefined,
): PeerType | undefined {
  const spec = res.spec;
  if (spec.node !== undefined && spec.node !== '')
    return spec.node === self.name ? 'node specific' : undefined;
  if (spec.nodeSelector !== undefined && spec.nodeSelector !== '') {
    const s = selector(spec.nodeSelector, `BGPPeer ${res.metadata.name} nodeSelector`);
    return s !== undefined && s.evaluate(self.labels) ? 'node specific' : undefined;
  }
  return 'global';
}

/**
 * The families in which this node is a peer a BGPPeer points at (its remote side), as confd
 * reverses them: both families when `peerSelector` matches us; the family of `peerIP` when that
 * is our address and `asNumber` (else the global AS) is ours.
 */
function reverseFamilies(
  res: BGPPeer,
  self: NodeFacts,
  globalAs: number,
  selector: (text: string, where: string) => Selector | undefined,
): readonly AddressFamily[] {
  const spec = res.spec;
  if (spec.peerSelector !== undefined && spec.peerSelector !== '') {
    const s = selector(spec.peerSelector, `BGPPeer ${res.metadata.name} peerSelector`);
    return s !== undefined && s.evaluate(self.labels) ? FAMILIES : [];
  }
  const address = spec.peerIP !== undefined ? canonicalIp(spec.peerIP) : undefined;
  if (address === undefined || (spec.asNumber ?? globalAs) !== self.asNumber) return [];
  return FAMILIES.filter((f) => self.addresses[f] === address);
}

/** The Calico nodes on a BGPPeer's local side (`node`, `nodeSelector`, or every node for a global one). */
function reversePeerNodes(
  res: BGPPeer,
  nodes: readonly NodeFacts[],
  selector: (text: string, where: string) => Selector | undefined,
): readonly NodeFacts[] {
  const spec = res.spec;
  if (spec.nodeSelector !== undefined && spec.nodeSelector !== '') {
    const s = selector(spec.nodeSelector, `BGPPeer ${res.metadata.name} nodeSelector`);
    return s === undefined ? [] : nodes.filter((n) => s.evaluate(n.labels));
  }
  if (spec.node !== undefined && spec.node !== '') return nodes.filter((n) => n.name === spec.node);
  return nodes;
}

function peerTargets(
  res: BGPPeer,
  nodes: readonly NodeFacts[],
  globalAs: number,
  listenPort: number,
  selector: (text: string, where: string) => Selector | undefined,
): PeerTarget[] {
  const spec = res.spec;
  if (spec.peerSelector !== undefined && spec.peerSelector !== '') {
    const s = selector(spec.peerSelector, `BGPPeer ${res.metadata.name} peerSelector`);
    if (s === undefined) return [];
    const out: PeerTarget[] = [];
    for (const node of nodes) {
      if (!s.evaluate(node.labels)) continue;
      for (const family of FAMILIES) {
        const address = node.addresses[family];
        if (address !== undefined) {
          out.push({ address, family, asNumber: node.asNumber, port: listenPort, node });
        }
      }
    }
    return out;
  }
  const address = spec.peerIP !== undefined ? canonicalIp(spec.peerIP) : undefined;
  const parsed = address !== undefined ? parseIp(address) : undefined;
  if (address === undefined || parsed === undefined) return [];
  return [
    {
      address,
      family: parsed.family === 4 ? 'ipv4' : 'ipv6',
      asNumber: spec.asNumber ?? globalAs,
      port: 179,
    },
  ];
}

function comparePeers(a: DesiredPeer, b: DesiredPeer): number {
  if (a.family !== b.family) return a.family < b.family ? -1 : 1;
  const x = parseIp(a.address);
  const y = parseIp(b.address);
  if (x && y && x.value !== y.value) return x.value < y.value ? -1 : 1;
  return a.address.localeCompare(b.address);
}
