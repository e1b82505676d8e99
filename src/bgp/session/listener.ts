/**
 * The passive side of BGP: one TCP server (port 179 unless configured) that hands each inbound
 * connection to the session configured for the remote address. A connection from an address with
 * no session is closed at once, as BIRD and FRR do for unknown peers.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { canonicalIPv6 } from '../wire/index.js';
import { BGP_PORT } from './config.js';
import type { BgpSession } from './session.js';

export interface BgpListenerOptions {
  /** Address to listen on; '::' (all, dual-stack) by default, falling back to '0.0.0.0'. */
  readonly address?: string;
  readonly port?: number;
}

/**
 * `::ffff:10.0.0.1` → `10.0.0.1`, so IPv4 peers match their configured address on a dual-stack
 * socket; IPv6 in RFC 5952 form, so `2001:0DB8::1` in the configuration matches the socket's text.
 */
export function normalizePeerAddress(address: string): string {
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && lower.includes('.')) return lower.slice(7);
  return lower.includes(':') ? (canonicalIPv6(lower) ?? lower) : lower;
}

export class BgpListener {
  private readonly server: net.Server;
  private readonly sessions = new Map<string, BgpSession>();
  private readonly emitter = new EventEmitter();
  private readonly options: BgpListenerOptions;

  constructor(options: BgpListenerOptions = {}) {
    this.options = options;
    this.server = net.createServer((socket) => this.onConnection(socket));
  }

  /** Emitted for connections from addresses with no session. */
  onRejected(listener: (remoteAddress: string) => void): this {
    this.emitter.on('rejected', listener);
    return this;
  }

  addSession(session: BgpSession): void {
    this.sessions.set(normalizePeerAddress(session.peerAddress), session);
  }

  removeSession(session: BgpSession): void {
    const key = normalizePeerAddress(session.peerAddress);
    if (this.sessions.get(key) === session) this.sessions.delete(key);
  }

  /** Starts listening; resolves with the bound address and port (useful with port 0 in tests). */
  async listen(): Promise<net.AddressInfo> {
    const port = this.options.port ?? BGP_PORT;
    const address = this.options.address;
    try {
      await this.bind(address ?? '::', port);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (address !== undefined || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw e;
      await this.bind('0.0.0.0', port);
    }
    return this.server.address() as net.AddressInfo;
  }

  private bind(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: net.Socket): void {
    const remote = normalizePeerAddress(socket.remoteAddress ?? '');
    const session = this.sessions.get(remote);
    if (session === undefined) {
      socket.destroy();
      this.emitter.emit('rejected', remote);
      return;
    }
    session.acceptIncoming(socket);
  }
}
