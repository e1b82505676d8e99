/**
 * One BGP peering over real TCP: the thin I/O edge around the pure FSM. It turns socket bytes into
 * FSM events (through the framer and decoder), performs the FSM's actions (connect, write, close,
 * timers on the injected clock), and reports what happened as typed events.
 *
 * RFC 4271 runs one FSM per TCP connection. A peering can briefly have two — the one we opened
 * ("outgoing") and the one the peer opened ("incoming", handed over by BgpListener) — and section
 * 6.8 collision detection decides which survives when the second OPEN arrives. The session's state
 * is that of its most advanced connection. After an error the outgoing side restarts by itself
 * after `idleHoldSec`; ManualStop (stop()) ends that.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { AddressFamily, PathAttributes, Prefix } from '../types.js';
import {
  Afi,
  BgpProtocolError,
  CeaseSubcode,
  decodeMessage,
  describeNotification,
  encodeEndOfRib,
  encodeMessage,
  encodeUpdates,
  encodeWithdrawals,
  ErrorCode,
  MessageFramer,
  Safi,
  type BgpMessage,
  type CodecContext,
  type OpenMessage,
  type RouteRefreshMessage,
  type UpdateMessage,
} from '../wire/index.js';
import { systemClock, type Clock } from './clock.js';
import { BGP_PORT, DEFAULT_IDLE_HOLD_SEC, validatePeerConfig, type PeerConfig } from './config.js';
import {
  BgpFsm,
  type FsmAction,
  type FsmEvent,
  type FsmState,
  type SessionDown,
  type TimerName,
} from './fsm.js';
import { collisionWinner, type NegotiatedSession } from './negotiation.js';

export type ConnectionDirection = 'outgoing' | 'incoming';

/** Opens the TCP connection to the peer; replaced in tests that need a fake transport. */
export type Connector = (options: net.TcpNetConnectOpts) => net.Socket;

export interface BgpSessionOptions {
  readonly clock?: Clock;
  readonly connect?: Connector;
}

export interface NotificationEvent {
  readonly direction: 'sent' | 'received';
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
  /** "Cease / AdministrativeShutdown" */
  readonly text: string;
}

export interface BgpSessionEvents {
  state: { readonly from: FsmState; readonly to: FsmState; readonly reason: string };
  established: NegotiatedSession;
  update: UpdateMessage;
  routeRefresh: RouteRefreshMessage;
  down: SessionDown;
  notification: NotificationEvent;
  /** A message from the peer we could not accept (the NOTIFICATION we answered with is in `error`). */
  protocolError: { readonly direction: ConnectionDirection; readonly error: BgpProtocolError };
}

interface Connection {
  readonly direction: ConnectionDirection;
  readonly fsm: BgpFsm;
  socket: net.Socket | undefined;
  framer: MessageFramer;
  /** Messages read from the socket and not yet handled (see `onData`). */
  inbox: Buffer[];
  /** Index of the next message in `inbox` to handle. */
  inboxAt: number;
  /** A turn of handling is scheduled. */
  draining: boolean;
  readonly timers: Map<TimerName, () => void>;
}

/** Before the OPENs are exchanged only OPEN, NOTIFICATION and KEEPALIVE are legal; AS size is moot. */
const PRE_OPEN_CONTEXT: CodecContext = { fourOctetAs: false };
const CLOSE_GRACE_MS = 1000;
/**
 * Longest stretch of message handling before the session lets the event loop run (and read the
 * socket, answer the status socket, fire timers). A full table takes seconds to handle; handled
 * in one go, the socket is not read meanwhile, the kernel's receive window closes, and the peer's
 * TCP backs off its zero-window probes exponentially, adding idle seconds once we are ready again
 * (seen with BIRD sending 100k routes). The raw messages wait in `inbox` instead: about five
 * octets per IPv4 route.
 */
const HANDLING_SLICE_MS = 10;

const STATE_RANK: Readonly<Record<FsmState, number>> = {
  Idle: 0,
  Connect: 1,
  Active: 1,
  OpenSent: 2,
  OpenConfirm: 3,
  Established: 4,
};

const TIMER_EVENTS: Readonly<Record<TimerName, FsmEvent>> = {
  ConnectRetry: { type: 'ConnectRetryTimer_Expires' },
  Hold: { type: 'HoldTimer_Expires' },
  Keepalive: { type: 'KeepaliveTimer_Expires' },
};

export class BgpSession {
  readonly config: PeerConfig;
  private readonly clock: Clock;
  private readonly connector: Connector;
  private readonly emitter = new EventEmitter();
  private outgoing: Connection | undefined;
  private incoming: Connection | undefined;
  private stopped = true;
  private cancelRestart: (() => void) | undefined;
  private lastState: FsmState = 'Idle';
  private stateSince: number;
  private lastInfo = '';
  private lastSocketError: string | undefined;
  private lastNotification: string | undefined;
  private readonly closing = new Set<net.Socket>();
  private closeWaiters: (() => void)[] = [];

  constructor(config: PeerConfig, options: BgpSessionOptions = {}) {
    validatePeerConfig(config);
    this.config = config;
    this.clock = options.clock ?? systemClock;
    this.connector = options.connect ?? ((o) => net.connect(o));
    this.stateSince = this.clock.now();
  }

  on<K extends keyof BgpSessionEvents>(event: K, listener: (e: BgpSessionEvents[K]) => void): this {
    this.emitter.on(event, listener);
    return this;
  }

  off<K extends keyof BgpSessionEvents>(event: K, listener: (e: BgpSessionEvents[K]) => void): this {
    this.emitter.off(event, listener);
    return this;
  }

  private emit<K extends keyof BgpSessionEvents>(event: K, value: BgpSessionEvents[K]): void {
    if (event === 'notification') {
      const n = value as NotificationEvent;
      this.lastNotification = `${n.direction} ${n.text}`;
    }
    this.emitter.emit(event, value);
  }

  get peerAddress(): string {
    return this.config.peerAddress;
  }

  /** The state of the most advanced connection (what `node status` shows). */
  get state(): FsmState {
    return this.lastState;
  }

  /** Clock time of the last state change. */
  get since(): number {
    return this.stateSince;
  }

  /**
   * Why the session is in its state, for the `node status` Info column: the last transition's
   * reason, with the socket error or NOTIFICATION behind it ("TCP connection failed ... (connect
   * ECONNREFUSED 10.0.0.2:179)", "NOTIFICATION received (Cease / AdministrativeShutdown)").
   */
  get info(): string {
    return this.lastInfo;
  }

  get negotiated(): NegotiatedSession | undefined {
    return this.establishedConnection()?.fsm.negotiated;
  }

  /** Our address on the Established connection, as the socket reports it (next hop self uses it). */
  get localAddress(): string | undefined {
    return this.establishedConnection()?.socket?.localAddress;
  }

  /** ManualStart: connect out (unless passive) and accept the peer's connection. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.config.passive !== true) {
      this.outgoing = this.newConnection('outgoing');
      this.run(this.outgoing, { type: 'ManualStart' });
    }
  }

  /**
   * ManualStop: a Cease NOTIFICATION (Administrative Shutdown unless told otherwise, e.g. Peer
   * De-configured) on every connection, then close. Resolves when the sockets are closed.
   */
  stop(subcode: CeaseSubcode = CeaseSubcode.AdministrativeShutdown): Promise<void> {
    this.stopped = true;
    this.cancelRestart?.();
    this.cancelRestart = undefined;
    for (const conn of [this.outgoing, this.incoming]) {
      if (conn !== undefined) this.run(conn, { type: 'ManualStop', subcode });
    }
    if (this.closing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /** Announces `prefixes` (one family) with `attrs`, split into as many UPDATEs as needed. */
  announce(attrs: PathAttributes, prefixes: readonly Prefix[]): number {
    const { conn, negotiated } = this.requireEstablished('announce routes');
    const messages = encodeUpdates(attrs, prefixes, negotiated.codec);
    this.run(conn, { type: 'SendUpdates', messages });
    return messages.length;
  }

  withdraw(prefixes: readonly Prefix[]): number {
    const { conn, negotiated } = this.requireEstablished('withdraw routes');
    const messages = encodeWithdrawals(prefixes, negotiated.codec);
    this.run(conn, { type: 'SendUpdates', messages });
    return messages.length;
  }

  /** RFC 4724 2: tells the peer our initial table for `family` is complete. */
  sendEndOfRib(family: AddressFamily): void {
    const { conn, negotiated } = this.requireEstablished('send End-of-RIB');
    this.run(conn, { type: 'SendUpdates', messages: [encodeEndOfRib(family, negotiated.codec)] });
  }

  /** Already-encoded UPDATEs (e.g. built once by an Adj-RIB-Out for many peers). */
  sendEncoded(messages: readonly Buffer[]): void {
    const { conn } = this.requireEstablished('send UPDATEs');
    this.run(conn, { type: 'SendUpdates', messages });
  }

  /** RFC 2918: asks the peer to send its routes of `family` again. */
  requestRouteRefresh(family: AddressFamily): void {
    const { conn, negotiated } = this.requireEstablished('request a route refresh');
    if (!negotiated.routeRefresh) {
      throw new Error(`peer ${this.config.peerAddress} did not offer the route refresh capability`);
    }
    const message: BgpMessage = {
      type: 'route-refresh',
      afi: family === 'ipv4' ? Afi.IPv4 : Afi.IPv6,
      safi: Safi.Unicast,
      subtype: 0,
    };
    this.run(conn, { type: 'SendUpdates', messages: [encodeMessage(message, negotiated.codec)] });
  }

  /**
   * Messages the peer sent are waiting to be handled (a burst is being taken in turns): a receiver
   * can hold back work that is better done once per burst than once per turn.
   */
  get receiving(): boolean {
    for (const c of [this.outgoing, this.incoming])
      if (c !== undefined && c.inboxAt < c.inbox.length) return true;
    return false;
  }

  /** Octets written but not yet handed to the kernel; a sender of a full table can pace on it. */
  get sendBufferBytes(): number {
    return this.establishedConnection()?.socket?.writableLength ?? 0;
  }

  /** Resolves once the send buffer has drained (at once if it is empty or there is no connection). */
  drained(): Promise<void> {
    const socket = this.establishedConnection()?.socket;
    if (socket === undefined || socket.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  /** Takes over a connection the peer opened (from BgpListener). */
  acceptIncoming(socket: net.Socket): void {
    const busy = this.incoming !== undefined && this.incoming.fsm.state !== 'Idle';
    if (this.stopped || busy) {
      socket.destroy();
      return;
    }
    const conn = this.newConnection('incoming');
    this.incoming = conn;
    this.attach(conn, socket);
    this.run(conn, { type: 'ManualStart' });
    this.run(conn, { type: 'TcpConnectionConfirmed' });
  }

  private requireEstablished(what: string): { conn: Connection; negotiated: NegotiatedSession } {
    const conn = this.establishedConnection();
    if (conn === undefined || conn.fsm.negotiated === undefined) {
      throw new Error(
        `cannot ${what}: session with ${this.config.peerAddress} is ${this.state}, not Established`,
      );
    }
    return { conn, negotiated: conn.fsm.negotiated };
  }

  private establishedConnection(): Connection | undefined {
    for (const c of [this.outgoing, this.incoming]) if (c?.fsm.state === 'Established') return c;
    return undefined;
  }

  private newConnection(direction: ConnectionDirection): Connection {
    // The connection the peer opened is driven by a passive FSM: it never dials out itself.
    const config = direction === 'incoming' ? { ...this.config, passive: true } : this.config;
    return {
      direction,
      fsm: new BgpFsm(config),
      socket: undefined,
      framer: new MessageFramer(),
      inbox: [],
      inboxAt: 0,
      draining: false,
      timers: new Map(),
    };
  }

  private run(conn: Connection, event: FsmEvent): void {
    if (conn !== this.outgoing && conn !== this.incoming) return; // a discarded connection
    const actions = conn.fsm.handle(event);
    for (const action of actions) this.perform(conn, action);
    // A connection the peer opened cannot be re-dialled, so once its socket is gone it is finished.
    const finished = conn.direction === 'incoming' && conn.socket === undefined;
    if (conn.fsm.state === 'Idle' || finished) this.onIdle(conn);
  }

  private perform(conn: Connection, action: FsmAction): void {
    switch (action.type) {
      case 'connect':
        this.connectOut(conn);
        return;
      case 'disconnect':
        this.disconnect(conn);
        return;
      case 'send':
        this.write(conn, encodeMessage(action.message, conn.fsm.negotiated?.codec ?? PRE_OPEN_CONTEXT));
        if (action.message.type === 'notification') {
          const m = action.message;
          this.emit('notification', {
            direction: 'sent',
            code: m.code,
            subcode: m.subcode,
            data: m.data,
            text: describeNotification(m.code, m.subcode),
          });
        }
        return;
      case 'sendEncoded':
        for (const m of action.messages) this.write(conn, m);
        return;
      case 'startTimer': {
        conn.timers.get(action.timer)?.();
        const cancel = this.clock.schedule(action.ms, () => {
          conn.timers.delete(action.timer);
          this.run(conn, TIMER_EVENTS[action.timer]);
        });
        conn.timers.set(action.timer, cancel);
        return;
      }
      case 'stopTimer':
        conn.timers.get(action.timer)?.();
        conn.timers.delete(action.timer);
        return;
      case 'stateChange':
        this.refreshState(action.reason);
        return;
      case 'established':
        this.onEstablished(conn);
        this.emit('established', action.negotiated);
        return;
      case 'deliverUpdate':
        this.emit('update', action.update);
        return;
      case 'deliverRouteRefresh':
        this.emit('routeRefresh', action.message);
        return;
      case 'sessionDown':
        this.emit('down', action.down);
        return;
      default: {
        const unreachable: never = action;
        throw new Error(`unhandled FSM action ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** Recomputes the session state; `reason` (from an FSM transition) also updates `info`. */
  private refreshState(reason?: string): void {
    if (reason !== undefined) {
      const detail = this.lastSocketError ?? this.lastNotification;
      this.lastSocketError = undefined;
      this.lastNotification = undefined;
      this.lastInfo = detail === undefined ? reason : `${reason} (${detail})`;
    }
    const states = [this.outgoing, this.incoming].map((c) => c?.fsm.state ?? 'Idle');
    const best = states.reduce((a, b) => (STATE_RANK[b] > STATE_RANK[a] ? b : a), 'Idle' as FsmState);
    if (best === this.lastState) return;
    const from = this.lastState;
    this.lastState = best;
    this.stateSince = this.clock.now();
    this.emit('state', { from, to: best, reason: reason ?? this.lastInfo });
  }

  private connectOut(conn: Connection): void {
    const options: net.TcpNetConnectOpts = {
      host: this.config.peerAddress,
      port: this.config.peerPort ?? BGP_PORT,
    };
    if (this.config.localAddress !== undefined) options.localAddress = this.config.localAddress;
    if (this.config.localPort !== undefined) options.localPort = this.config.localPort;
    const socket = this.connector(options);
    this.attach(conn, socket);
    socket.once('connect', () => {
      if (conn.socket === socket) this.run(conn, { type: 'Tcp_CR_Acked' });
    });
  }

  private attach(conn: Connection, socket: net.Socket): void {
    conn.socket = socket;
    conn.framer = new MessageFramer();
    conn.inbox = [];
    conn.inboxAt = 0;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (conn.socket === socket) this.onData(conn, chunk);
    });
    const fail = (): void => {
      if (conn.socket !== socket) return;
      // What the peer sent before the connection went (a NOTIFICATION, last UPDATEs) comes first.
      this.handleInbox(conn, Infinity);
      if (conn.socket === socket) this.run(conn, { type: 'TcpConnectionFails' });
    };
    socket.on('error', (e: Error) => {
      this.lastSocketError = e.message;
      fail();
    });
    socket.on('close', fail);
  }

  /** Lets queued writes (a final NOTIFICATION) go out, then closes; destroys if the peer lingers. */
  private disconnect(conn: Connection): void {
    const socket = conn.socket;
    conn.socket = undefined;
    if (socket === undefined || socket.destroyed) return;
    this.closing.add(socket);
    const cancel = this.clock.schedule(CLOSE_GRACE_MS, () => socket.destroy());
    socket.once('close', () => {
      cancel();
      this.closing.delete(socket);
      if (this.closing.size === 0) {
        const waiters = this.closeWaiters;
        this.closeWaiters = [];
        for (const w of waiters) w();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.end();
  }

  private write(conn: Connection, bytes: Buffer): void {
    const socket = conn.socket;
    if (socket !== undefined && !socket.destroyed) socket.write(bytes);
  }

  /**
   * Splits the chunk into messages at once (a bad header ends the connection, after the messages
   * before it), and handles them in turns of at most HANDLING_SLICE_MS, in order.
   */
  private onData(conn: Connection, chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = conn.framer.push(chunk);
    } catch (e) {
      if (!(e instanceof BgpProtocolError)) throw e;
      this.handleInbox(conn, Infinity);
      if (conn.socket === undefined) return;
      this.emit('protocolError', { direction: conn.direction, error: e });
      this.run(conn, { type: 'BGPHeaderErr', error: e.notification });
      return;
    }
    for (const frame of frames) conn.inbox.push(frame);
    if (conn.draining || conn.inbox.length === conn.inboxAt) return;
    conn.draining = true;
    setImmediate(() => {
      conn.draining = false;
      this.handleInbox(conn, HANDLING_SLICE_MS);
    });
  }

  /** Handles queued messages for up to `budgetMs`, and schedules the rest. */
  private handleInbox(conn: Connection, budgetMs: number): void {
    const socket = conn.socket;
    const until = budgetMs === Infinity ? Infinity : performance.now() + budgetMs;
    while (conn.inboxAt < conn.inbox.length) {
      // The connection was dropped by an earlier message (or replaced): the rest is moot.
      if (conn.socket === undefined || conn.socket !== socket) {
        conn.inbox = [];
        conn.inboxAt = 0;
        return;
      }
      const frame = conn.inbox[conn.inboxAt++]!;
      this.handleFrame(conn, frame);
      if (performance.now() >= until) break;
    }
    if (conn.inboxAt === conn.inbox.length) {
      conn.inbox = [];
      conn.inboxAt = 0;
    } else if (!conn.draining) {
      conn.draining = true;
      setImmediate(() => {
        conn.draining = false;
        this.handleInbox(conn, HANDLING_SLICE_MS);
      });
    }
  }

  private handleFrame(conn: Connection, frame: Buffer): void {
    let message: BgpMessage;
    try {
      message = decodeMessage(frame, conn.fsm.negotiated?.codec ?? PRE_OPEN_CONTEXT);
    } catch (e) {
      if (!(e instanceof BgpProtocolError)) throw e;
      this.emit('protocolError', { direction: conn.direction, error: e });
      const code = e.notification.code;
      const type =
        code === ErrorCode.MessageHeader
          ? 'BGPHeaderErr'
          : code === ErrorCode.OpenMessage
            ? 'BGPOpenMsgErr'
            : 'UpdateMsgErr';
      this.run(conn, { type, error: e.notification });
      return;
    }
    this.onMessage(conn, message);
  }

  private onMessage(conn: Connection, message: BgpMessage): void {
    switch (message.type) {
      case 'open':
        this.onOpen(conn, message);
        return;
      case 'keepalive':
        this.run(conn, { type: 'KeepAliveMsg' });
        return;
      case 'update':
        this.run(conn, { type: 'UpdateMsg', update: message });
        return;
      case 'notification':
        this.emit('notification', {
          direction: 'received',
          code: message.code,
          subcode: message.subcode,
          data: message.data,
          text: describeNotification(message.code, message.subcode),
        });
        this.run(conn, { type: 'NotifMsg', notification: message });
        return;
      case 'route-refresh':
        this.run(conn, { type: 'RouteRefreshMsg', message });
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** RFC 4271 6.8 collision detection, and RFC 4724 4.2 for a peer that restarted while Established. */
  private onOpen(conn: Connection, open: OpenMessage): void {
    const other = conn === this.outgoing ? this.incoming : this.outgoing;
    const otherState = other?.fsm.state;
    if (other !== undefined && otherState === 'Established') {
      if (open.capabilities.some((c) => c.kind === 'graceful-restart')) {
        // The peer restarted: the old session is treated as a lost transport, stale routes kept.
        this.run(other, { type: 'TcpConnectionFails' });
      } else {
        this.run(conn, { type: 'OpenCollisionDump' });
        return;
      }
    } else if (other !== undefined && otherState === 'OpenConfirm') {
      const keep = collisionWinner(this.config.routerId, open.bgpId);
      const loser = keep === 'locally-initiated' ? this.incoming : this.outgoing;
      if (loser === conn) {
        this.run(conn, { type: 'OpenCollisionDump' });
        return;
      }
      this.run(other, { type: 'OpenCollisionDump' });
    }
    this.run(conn, { type: 'BGPOpen', open });
  }

  private onEstablished(conn: Connection): void {
    const other = conn === this.outgoing ? this.incoming : this.outgoing;
    if (other === undefined) return;
    const s = other.fsm.state;
    if (s === 'Connect' || s === 'Active') this.run(other, { type: 'ManualStop' });
    else if (s === 'OpenSent' || s === 'OpenConfirm') this.run(other, { type: 'OpenCollisionDump' });
  }

  private onIdle(conn: Connection): void {
    for (const cancel of conn.timers.values()) cancel();
    conn.timers.clear();
    if (conn === this.incoming) this.incoming = undefined;
    this.refreshState();
    this.scheduleRestart();
  }

  /** After an error, dial out again once `idleHoldSec` has passed, unless another connection is up. */
  private scheduleRestart(): void {
    const out = this.outgoing;
    if (this.stopped || out === undefined || out.fsm.state !== 'Idle' || this.cancelRestart !== undefined)
      return;
    if (this.incoming !== undefined) return;
    const ms = Math.round((this.config.idleHoldSec ?? DEFAULT_IDLE_HOLD_SEC) * 1000);
    this.cancelRestart = this.clock.schedule(ms, () => {
      this.cancelRestart = undefined;
      if (!this.stopped && out.fsm.state === 'Idle' && this.incoming === undefined) {
        this.run(out, { type: 'AutomaticStart' });
      }
    });
  }
}
