// A BGP peer driven by hand over a real loopback socket: the test decides every message it sends,
// and can wait for the messages it receives. Used where our own session would be too polite.
import net from 'node:net';
import { Origin, type Prefix } from '../../../../src/bgp/types.js';
import {
  decodeMessage,
  encodeMessage,
  encodeUpdates,
  MessageFramer,
  type BgpMessage,
  type Capability,
  type OpenMessage,
} from '../../../../src/bgp/wire/index.js';

const CTX = { fourOctetAs: true };

export class RawPeer {
  readonly received: BgpMessage[] = [];
  private readonly framer = new MessageFramer();
  private waiters: { accept: (m: BgpMessage) => boolean; resolve: (m: BgpMessage) => void }[] = [];
  closed = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.framer.push(chunk)) {
        const m = decodeMessage(frame, CTX);
        this.received.push(m);
        this.waiters = this.waiters.filter((w) => {
          if (!w.accept(m)) return true;
          w.resolve(m);
          return false;
        });
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static connect(options: net.TcpNetConnectOpts): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect(options);
      s.once('connect', () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  send(m: BgpMessage): void {
    this.socket.write(encodeMessage(m, CTX));
  }

  /** Resolves with the first message (already received or still to come) that `accept` likes. */
  next(accept: (m: BgpMessage) => boolean, timeoutMs = 5000): Promise<BgpMessage> {
    const seen = this.received.find(accept);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        accept,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
      });
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function peerOpen(asn: number, bgpId: string, extra: Capability[] = []): OpenMessage {
  return {
    type: 'open',
    version: 4,
    myAs: asn > 0xffff ? 23456 : asn,
    holdTime: 90,
    bgpId,
    capabilities: [{ kind: 'four-octet-as', asn }, ...extra],
  };
}

export const isNotification =
  (code: number, subcode: number) =>
  (m: BgpMessage): boolean =>
    m.type === 'notification' && m.code === code && m.subcode === subcode;

/**
 * A table of `n` distinct IPv4 /24s from AS 65002 (next hop 192.0.2.2), encoded as the UPDATEs a
 * peer sends: what the burst tests push at a session or a speaker.
 */
export function tableUpdates(n: number): Buffer[] {
  const prefixes: Prefix[] = Array.from({ length: n }, (_, i) => ({
    family: 'ipv4' as const,
    address: `${11 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0`,
    length: 24,
  }));
  const attrs = {
    origin: Origin.IGP,
    asPath: [{ type: 'sequence' as const, asns: [65002] }],
    nextHop: '192.0.2.2',
  };
  return encodeUpdates(attrs, prefixes, CTX);
}
