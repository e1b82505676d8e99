/**
 * What a running calico-node reports about its BGP speaker, and how `calicoctl node status` prints
 * it. The report is plain JSON (it crosses the status socket); the printing copies Calico's, which
 * shows BIRD's protocol table: State is BIRD's protocol state (`up` once Established, `start`
 * while connecting, `down` when stopped) and Info is the BGP state with the last error.
 */
import type { AddressFamily } from '../types.js';
import type { FsmState } from '../session/index.js';
import type { PeerType } from '../config/index.js';

export interface PeerStatus {
  readonly address: string;
  readonly family: AddressFamily;
  readonly type: PeerType;
  /** BIRD-style protocol name (`Mesh_10_0_0_2`). */
  readonly name: string;
  readonly asNumber: number;
  readonly state: FsmState;
  readonly passive: boolean;
  /** Epoch milliseconds of the last state change. */
  readonly since: number;
  /** Why the session is in its state (the last transition, with the socket error or NOTIFICATION). */
  readonly info: string;
  readonly routesReceived: number;
  readonly routesAccepted: number;
  readonly routesStale: number;
  readonly routesAdvertised: number;
  readonly updatesReceived: number;
  readonly updatesSent: number;
}

export interface SpeakerStatus {
  readonly nodeName: string;
  readonly routerId: string;
  readonly asNumber: number;
  readonly listenPort: number;
  readonly clusterId?: string;
  readonly peers: readonly PeerStatus[];
  /** Prefixes this node originates (blocks and borrowed workload addresses). */
  readonly originated: readonly string[];
  /** Routes in the kernel FIB (proto 81). */
  readonly kernelRoutes: number;
  /** Waiting for End-of-RIB after a graceful restart before deciding routes. */
  readonly selectionDeferred: boolean;
}

/** The reply to a status request on the node's status socket. */
export interface NodeStatusReply {
  readonly nodeName: string;
  /** Undefined when this calico-node runs no BGP speaker; `bgpDisabled` says why. */
  readonly bgp?: SpeakerStatus;
  readonly bgpDisabled?: string;
}

export interface RouteEntry {
  readonly prefix: string;
  readonly nextHop?: string;
  readonly asPath: string;
  readonly stale?: boolean;
  readonly accepted?: boolean;
}

export interface PeerRoutesReply {
  readonly peer: string;
  readonly received: readonly RouteEntry[];
  readonly advertised: readonly RouteEntry[];
}

/** BIRD's protocol state for the State column. */
export function birdState(state: FsmState): 'up' | 'start' {
  return state === 'Established' ? 'up' : 'start';
}

/** The Info column: `Established`, `Passive`, or the BGP state with what went wrong last. */
export function peerInfo(p: Pick<PeerStatus, 'state' | 'info' | 'passive'>): string {
  if (p.state === 'Established') return 'Established';
  const state = p.passive && p.state === 'Active' ? 'Passive' : p.state;
  const detail = /\(([^)]*)\)\s*$/.exec(p.info)?.[1];
  return detail ? `${state} Socket: ${detail}` : state;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** BIRD's `timeformat protocol`: the time of day for today, the date for older changes. */
export function formatSince(since: number, now: number): string {
  const d = new Date(since);
  const today = new Date(now);
  const sameDay =
    d.getFullYear() === today.getFullYear() &&
    d.getMonth() === today.getMonth() &&
    d.getDate() === today.getDate();
  return sameDay
    ? `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
    : `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

/**
 * A table with borders, as calicoctl prints it (Go's tablewriter): headers centred, cells
 * left-aligned, one space of padding.
 */
export function formatBorderedTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+';
  const centre = (text: string, width: number) => {
    const left = Math.floor((width - text.length) / 2);
    return ' '.repeat(left) + text + ' '.repeat(width - text.length - left);
  };
  const head = '|' + headers.map((h, i) => ` ${centre(h, widths[i] ?? 0)} `).join('|') + '|';
  const body = rows.map((r) => '|' + widths.map((w, i) => ` ${(r[i] ?? '').padEnd(w)} `).join('|') + '|');
  return [rule, head, rule, ...body, rule].join('\n') + '\n';
}

const PEER_HEADERS = ['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO'] as const;

/** The BGP part of `calicoctl node status` (after "Calico process is running."). */
export function formatBgpStatus(status: SpeakerStatus, now: number): string {
  const out: string[] = [];
  for (const [family, label] of [
    ['ipv4', 'IPv4'],
    ['ipv6', 'IPv6'],
  ] as const) {
    const peers = status.peers.filter((p) => p.family === family);
    out.push(`${label} BGP status`);
    if (peers.length === 0) {
      out.push(`No ${label} peers found.\n`);
      continue;
    }
    const rows = peers.map((p) => [
      p.address,
      p.type,
      birdState(p.state),
      formatSince(p.since, now),
      peerInfo(p),
    ]);
    out.push(formatBorderedTable(PEER_HEADERS, rows));
  }
  return out.join('\n') + '\n';
}

/** `calicoctl node status --routes PEER`: what we received from a peer and what we sent it. */
export function formatPeerRoutes(reply: PeerRoutesReply): string {
  const received = reply.received.map((r) => [
    r.prefix,
    r.nextHop ?? '',
    r.asPath,
    r.accepted === false ? 'rejected' : r.stale ? 'stale' : 'accepted',
  ]);
  const advertised = reply.advertised.map((r) => [r.prefix, r.nextHop ?? '', r.asPath]);
  return [
    `Routes received from ${reply.peer}`,
    received.length === 0
      ? 'None.\n'
      : formatBorderedTable(['PREFIX', 'NEXT HOP', 'AS PATH', 'STATUS'], received),
    `Routes advertised to ${reply.peer}`,
    advertised.length === 0 ? 'None.\n' : formatBorderedTable(['PREFIX', 'NEXT HOP', 'AS PATH'], advertised),
  ].join('\n');
}
