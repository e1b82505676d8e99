/**
 * The RFC 4271 section 8 finite state machine for one BGP connection, as a pure class: events go
 * in, a list of actions comes out (connect, send, start a timer, deliver an UPDATE, change state).
 * It owns no socket and no clock — the I/O edge (session.ts) performs the actions and turns socket
 * data and timer expiries back into events — so every transition is unit-tested with plain values.
 *
 * Deviations from the letter of RFC 4271, each on purpose:
 * - The optional DelayOpen, DampPeerOscillations and IdleHoldTimer attributes are not modelled here;
 *   the edge restarts a session that fell to Idle after `idleHoldSec`.
 * - A failed outgoing connection in Connect goes to Active and waits for the ConnectRetryTimer (the
 *   RFC 1771 behaviour) instead of dropping to Idle, so retries are paced by ConnectRetry.
 * - A passive peer never starts the ConnectRetryTimer, so it never initiates a connection.
 * - Route refresh (RFC 2918) and sending our UPDATEs are events in Established, so hold and
 *   keepalive timers are restarted in one place.
 */
import type { UpdateMessage } from '../wire/index.js';
import {
  BgpProtocolError,
  CeaseSubcode,
  ErrorCode,
  FsmErrorSubcode,
  type BgpMessage,
  type NotificationFields,
  type NotificationMessage,
  type OpenMessage,
  type RouteRefreshMessage,
} from '../wire/index.js';
import { DEFAULT_CONNECT_RETRY_SEC, OPEN_HOLD_TIME_SEC, type PeerConfig } from './config.js';
import { buildOpen, negotiate, type NegotiatedSession } from './negotiation.js';

export type FsmState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export type TimerName = 'ConnectRetry' | 'Hold' | 'Keepalive';

/** RFC 4271 8.1 events (the ones this FSM distinguishes), plus the local SendUpdates. */
export type FsmEvent =
  | { readonly type: 'ManualStart' }
  | { readonly type: 'ManualStop'; readonly subcode?: CeaseSubcode }
  | { readonly type: 'AutomaticStart' }
  | { readonly type: 'AutomaticStop'; readonly subcode?: CeaseSubcode }
  | { readonly type: 'ConnectRetryTimer_Expires' }
  | { readonly type: 'HoldTimer_Expires' }
  | { readonly type: 'KeepaliveTimer_Expires' }
  | { readonly type: 'TcpConnection_Valid' }
  | { readonly type: 'Tcp_CR_Invalid' }
  | { readonly type: 'Tcp_CR_Acked' }
  | { readonly type: 'TcpConnectionConfirmed' }
  | { readonly type: 'TcpConnectionFails' }
  | { readonly type: 'BGPOpen'; readonly open: OpenMessage }
  | { readonly type: 'BGPHeaderErr'; readonly error: NotificationFields }
  | { readonly type: 'BGPOpenMsgErr'; readonly error: NotificationFields }
  | { readonly type: 'OpenCollisionDump' }
  | { readonly type: 'NotifMsg'; readonly notification: NotificationMessage }
  | { readonly type: 'KeepAliveMsg' }
  | { readonly type: 'UpdateMsg'; readonly update: UpdateMessage }
  | { readonly type: 'UpdateMsgErr'; readonly error: NotificationFields }
  | { readonly type: 'RouteRefreshMsg'; readonly message: RouteRefreshMessage }
  | { readonly type: 'SendUpdates'; readonly messages: readonly Buffer[] };

export type FsmEventType = FsmEvent['type'];

/** Why a session left Established, and whether RFC 4724 says the peer's routes are kept as stale. */
export interface SessionDown {
  readonly reason: string;
  readonly notification?: {
    readonly direction: 'sent' | 'received';
    readonly code: number;
    readonly subcode: number;
  };
  /** The peer offered graceful restart and this kind of loss qualifies (RFC 4724 4.2, RFC 8538). */
  readonly retainStaleRoutes: boolean;
  readonly negotiated: NegotiatedSession;
}

export type FsmAction =
  | { readonly type: 'connect' }
  | { readonly type: 'disconnect' }
  | { readonly type: 'send'; readonly message: BgpMessage }
  | { readonly type: 'sendEncoded'; readonly messages: readonly Buffer[] }
  | { readonly type: 'startTimer'; readonly timer: TimerName; readonly ms: number }
  | { readonly type: 'stopTimer'; readonly timer: TimerName }
  | { readonly type: 'stateChange'; readonly from: FsmState; readonly to: FsmState; readonly reason: string }
  | { readonly type: 'established'; readonly negotiated: NegotiatedSession }
  | { readonly type: 'deliverUpdate'; readonly update: UpdateMessage }
  | { readonly type: 'deliverRouteRefresh'; readonly message: RouteRefreshMessage }
  | { readonly type: 'sessionDown'; readonly down: SessionDown };

const TIMERS: readonly TimerName[] = ['ConnectRetry', 'Hold', 'Keepalive'];

function notification(code: number, subcode: number, data: Buffer = Buffer.alloc(0)): NotificationMessage {
  return { type: 'notification', code, subcode, data };
}

const UNEXPECTED_IN: Partial<Record<FsmState, FsmErrorSubcode>> = {
  OpenSent: FsmErrorSubcode.UnexpectedMessageInOpenSent,
  OpenConfirm: FsmErrorSubcode.UnexpectedMessageInOpenConfirm,
  Established: FsmErrorSubcode.UnexpectedMessageInEstablished,
};

const MESSAGE_EVENTS: ReadonlySet<FsmEventType> = new Set<FsmEventType>([
  'BGPOpen',
  'KeepAliveMsg',
  'UpdateMsg',
  'UpdateMsgErr',
  'RouteRefreshMsg',
]);

export class BgpFsm {
  private current: FsmState = 'Idle';
  private retryCounter = 0;
  private session: NegotiatedSession | undefined;
  private readonly config: PeerConfig;

  constructor(config: PeerConfig) {
    this.config = config;
  }

  get state(): FsmState {
    return this.current;
  }

  /** RFC 4271 8.1.1 ConnectRetryCounter: consecutive failed attempts, reset by a manual start/stop. */
  get connectRetryCounter(): number {
    return this.retryCounter;
  }

  /** Set once the peer's OPEN is accepted (OpenConfirm and Established). */
  get negotiated(): NegotiatedSession | undefined {
    return this.session;
  }

  private get connectRetryMs(): number {
    return Math.round((this.config.connectRetrySec ?? DEFAULT_CONNECT_RETRY_SEC) * 1000);
  }

  handle(event: FsmEvent): FsmAction[] {
    switch (this.current) {
      case 'Idle':
        return this.inIdle(event);
      case 'Connect':
      case 'Active':
        return this.inConnectOrActive(event);
      case 'OpenSent':
        return this.inOpenSent(event);
      case 'OpenConfirm':
        return this.inOpenConfirm(event);
      case 'Established':
        return this.inEstablished(event);
      default: {
        const unreachable: never = this.current;
        throw new Error(`unknown FSM state ${String(unreachable)}`);
      }
    }
  }

  private move(to: FsmState, reason: string, actions: FsmAction[]): FsmAction[] {
    const from = this.current;
    this.current = to;
    if (from !== to) actions.push({ type: 'stateChange', from, to, reason });
    return actions;
  }

  private startConnectRetry(): FsmAction[] {
    return this.config.passive === true
      ? []
      : [{ type: 'startTimer', timer: 'ConnectRetry', ms: this.connectRetryMs }];
  }

  private inIdle(event: FsmEvent): FsmAction[] {
    if (event.type !== 'ManualStart' && event.type !== 'AutomaticStart') return [];
    if (event.type === 'ManualStart') this.retryCounter = 0;
    this.session = undefined;
    const actions = this.startConnectRetry();
    if (this.config.passive === true) return this.move('Active', `${event.type} (passive)`, actions);
    actions.push({ type: 'connect' });
    return this.move('Connect', event.type, actions);
  }

  /** RFC 4271 8.2.2 Connect and Active share everything but the ConnectRetry and TCP-failure cases. */
  private inConnectOrActive(event: FsmEvent): FsmAction[] {
    switch (event.type) {
      case 'ManualStart':
      case 'AutomaticStart':
      case 'TcpConnection_Valid':
      case 'Tcp_CR_Invalid':
      case 'SendUpdates':
        return [];
      case 'ManualStop':
        this.retryCounter = 0;
        return this.toIdle('ManualStop', { countFailure: false });
      case 'ConnectRetryTimer_Expires': {
        // A passive FSM never runs this timer; a stray expiry must not make it dial out.
        if (this.config.passive === true) return [];
        const actions: FsmAction[] = [];
        if (this.current === 'Connect') actions.push({ type: 'disconnect' });
        actions.push(...this.startConnectRetry(), { type: 'connect' });
        return this.move('Connect', 'ConnectRetryTimer expired: connecting again', actions);
      }
      case 'Tcp_CR_Acked':
      case 'TcpConnectionConfirmed':
        return this.move('OpenSent', `${event.type}: OPEN sent`, [
          { type: 'stopTimer', timer: 'ConnectRetry' },
          { type: 'send', message: buildOpen(this.config) },
          { type: 'startTimer', timer: 'Hold', ms: OPEN_HOLD_TIME_SEC * 1000 },
        ]);
      case 'TcpConnectionFails':
        if (this.current === 'Connect') {
          return this.move('Active', 'TCP connection failed; waiting for ConnectRetryTimer', [
            { type: 'disconnect' },
            ...this.startConnectRetry(),
          ]);
        }
        return this.toIdle('TCP connection failed', { countFailure: true });
      default:
        return this.toIdle(`${event.type} in ${this.current}`, { countFailure: true });
    }
  }

  private inOpenSent(event: FsmEvent): FsmAction[] {
    switch (event.type) {
      case 'ManualStart':
      case 'AutomaticStart':
      case 'TcpConnection_Valid':
      case 'Tcp_CR_Invalid':
      case 'Tcp_CR_Acked':
      case 'TcpConnectionConfirmed':
      case 'SendUpdates':
        return [];
      case 'TcpConnectionFails':
        return this.move('Active', 'TCP connection failed in OpenSent', [
          ...TIMERS.map((timer): FsmAction => ({ type: 'stopTimer', timer })),
          { type: 'disconnect' },
          ...this.startConnectRetry(),
        ]);
      case 'BGPOpen':
        return this.acceptOpen(event.open);
      default:
        return this.common(event);
    }
  }

  private acceptOpen(open: OpenMessage): FsmAction[] {
    let negotiated: NegotiatedSession;
    try {
      negotiated = negotiate(this.config, open);
    } catch (e) {
      if (!(e instanceof BgpProtocolError)) throw e;
      return this.toIdle(e.message, { countFailure: true, send: e.notification });
    }
    this.session = negotiated;
    const actions: FsmAction[] = [
      { type: 'stopTimer', timer: 'ConnectRetry' },
      { type: 'send', message: { type: 'keepalive' } },
    ];
    if (negotiated.holdTimeSec > 0) {
      actions.push(
        { type: 'startTimer', timer: 'Keepalive', ms: negotiated.keepaliveSec * 1000 },
        { type: 'startTimer', timer: 'Hold', ms: negotiated.holdTimeSec * 1000 },
      );
    } else {
      actions.push({ type: 'stopTimer', timer: 'Hold' });
    }
    return this.move('OpenConfirm', `OPEN from ${open.bgpId} accepted`, actions);
  }

  private inOpenConfirm(event: FsmEvent): FsmAction[] {
    switch (event.type) {
      case 'ManualStart':
      case 'AutomaticStart':
      case 'TcpConnection_Valid':
      case 'Tcp_CR_Invalid':
      case 'Tcp_CR_Acked':
      case 'TcpConnectionConfirmed':
      case 'SendUpdates':
        return [];
      case 'KeepAliveMsg': {
        const negotiated = this.session!;
        const actions: FsmAction[] = [];
        if (negotiated.holdTimeSec > 0) {
          actions.push({ type: 'startTimer', timer: 'Hold', ms: negotiated.holdTimeSec * 1000 });
        }
        actions.push({ type: 'established', negotiated });
        return this.move('Established', 'KEEPALIVE received', actions);
      }
      default:
        return this.common(event);
    }
  }

  private inEstablished(event: FsmEvent): FsmAction[] {
    const hold = this.session!.holdTimeSec;
    const restartHold: FsmAction[] = hold > 0 ? [{ type: 'startTimer', timer: 'Hold', ms: hold * 1000 }] : [];
    switch (event.type) {
      case 'ManualStart':
      case 'AutomaticStart':
      case 'TcpConnection_Valid':
      case 'Tcp_CR_Invalid':
      case 'Tcp_CR_Acked':
      case 'TcpConnectionConfirmed':
        return [];
      case 'KeepAliveMsg':
        return restartHold;
      case 'UpdateMsg':
        return [...restartHold, { type: 'deliverUpdate', update: event.update }];
      case 'RouteRefreshMsg':
        return [...restartHold, { type: 'deliverRouteRefresh', message: event.message }];
      case 'SendUpdates': {
        // RFC 4271 10: sending an UPDATE also counts as a keepalive.
        const actions: FsmAction[] = [{ type: 'sendEncoded', messages: event.messages }];
        if (hold > 0 && event.messages.length > 0) {
          actions.push({ type: 'startTimer', timer: 'Keepalive', ms: this.session!.keepaliveSec * 1000 });
        }
        return actions;
      }
      default:
        return this.common(event);
    }
  }

  /** Events handled alike in OpenSent, OpenConfirm and Established. */
  private common(event: FsmEvent): FsmAction[] {
    switch (event.type) {
      case 'ManualStop':
        this.retryCounter = 0;
        return this.toIdle('ManualStop', {
          countFailure: false,
          send: notification(ErrorCode.Cease, event.subcode ?? CeaseSubcode.AdministrativeShutdown),
        });
      case 'AutomaticStop':
        return this.toIdle('AutomaticStop', {
          countFailure: true,
          send: notification(ErrorCode.Cease, event.subcode ?? CeaseSubcode.AdministrativeReset),
        });
      case 'HoldTimer_Expires':
        return this.toIdle('hold timer expired', {
          countFailure: true,
          send: notification(ErrorCode.HoldTimerExpired, 0),
        });
      case 'KeepaliveTimer_Expires':
        if (this.current === 'OpenSent') break;
        return [
          { type: 'send', message: { type: 'keepalive' } },
          { type: 'startTimer', timer: 'Keepalive', ms: this.session!.keepaliveSec * 1000 },
        ];
      case 'TcpConnectionFails':
        return this.toIdle('TCP connection closed', { countFailure: true });
      case 'NotifMsg':
        return this.toIdle(`NOTIFICATION received`, { countFailure: true, received: event.notification });
      case 'UpdateMsgErr':
        // Before Established an UPDATE of any kind is itself the error (RFC 4271 8.2.2 "other events").
        if (this.current !== 'Established') break;
        return this.toIdle(`UPDATE error`, { countFailure: true, send: event.error });
      case 'BGPHeaderErr':
      case 'BGPOpenMsgErr':
        return this.toIdle(`${event.type}`, { countFailure: true, send: event.error });
      case 'OpenCollisionDump':
        return this.toIdle('connection collision: this connection loses (RFC 4271 6.8)', {
          countFailure: true,
          send: notification(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution),
        });
      default:
        break;
    }
    const subcode = MESSAGE_EVENTS.has(event.type)
      ? (UNEXPECTED_IN[this.current] ?? 0)
      : FsmErrorSubcode.Unspecified;
    return this.toIdle(`${event.type} is not expected in ${this.current}`, {
      countFailure: true,
      send: notification(ErrorCode.FiniteStateMachine, subcode),
    });
  }

  /**
   * The RFC's common exit: (optionally) send a NOTIFICATION, stop every timer, drop the connection,
   * release resources, count the failure, go to Idle — and report a lost Established session.
   */
  private toIdle(
    reason: string,
    how: { countFailure: boolean; send?: NotificationFields; received?: NotificationMessage },
  ): FsmAction[] {
    const actions: FsmAction[] = [];
    if (how.send !== undefined) {
      actions.push({ type: 'send', message: notification(how.send.code, how.send.subcode, how.send.data) });
    }
    for (const timer of TIMERS) actions.push({ type: 'stopTimer', timer });
    actions.push({ type: 'disconnect' });
    if (how.countFailure) this.retryCounter++;
    const sent = how.send;
    const received = how.received;
    const note =
      sent !== undefined
        ? { direction: 'sent' as const, code: sent.code, subcode: sent.subcode }
        : received !== undefined
          ? { direction: 'received' as const, code: received.code, subcode: received.subcode }
          : undefined;
    if (this.current === 'Established' && this.session !== undefined) {
      actions.push({ type: 'sessionDown', down: this.describeDown(reason, note) });
    }
    this.session = undefined;
    return this.move('Idle', reason, actions);
  }

  private describeDown(reason: string, note: SessionDown['notification']): SessionDown {
    const negotiated = this.session!;
    const gr = negotiated.peerGracefulRestart;
    // RFC 4724 4.2: routes are kept when the transport fails without a NOTIFICATION; RFC 8538 extends
    // that to NOTIFICATIONs when both sides set the N bit, except a Hard Reset.
    const hardReset =
      note !== undefined && note.code === ErrorCode.Cease && note.subcode === CeaseSubcode.HardReset;
    const retainStaleRoutes =
      gr !== undefined && (note === undefined || (negotiated.gracefulNotification && !hardReset));
    const down: SessionDown = { reason, retainStaleRoutes, negotiated };
    return note === undefined ? down : { ...down, notification: note };
  }
}
