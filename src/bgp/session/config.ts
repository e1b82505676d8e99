/**
 * How one peering is set up: who we are, who the peer must be, the timers, and what we offer in
 * OPEN. The FSM reads the protocol fields; the socket edge reads the addresses and ports.
 */
import type { AddressFamily } from '../types.js';

/** Capabilities a peer must offer, else the OPEN is refused with Unsupported Capability (RFC 5492 3). */
export type RequiredCapability = 'four-octet-as' | 'route-refresh' | 'graceful-restart' | AddressFamily;

export interface GracefulRestartConfig {
  /** Seconds the peer should keep our routes after we go away (RFC 4724 3, 12 bits). */
  readonly restartTimeSec: number;
  /** Set the R bit: we have just restarted and the peer should keep our routes until End-of-RIB. */
  readonly restarting?: boolean;
  /** Our forwarding state survived (the F bit for each family). */
  readonly forwardingPreserved?: boolean;
  /** RFC 8538 N bit: graceful restart also after NOTIFICATION (except Hard Reset). */
  readonly notification?: boolean;
}

export interface PeerConfig {
  readonly localAs: number;
  /** Our BGP identifier, a dotted quad. */
  readonly routerId: string;
  readonly peerAs: number;
  readonly peerAddress: string;
  /** TCP port of the peer; 179 unless a test or `listenPort` says otherwise. */
  readonly peerPort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  /** Proposed hold time; the session uses the smaller of both sides' (RFC 4271 4.2). 0 or >= 3. */
  readonly holdTimeSec?: number;
  /** Seconds between connection attempts (RFC 4271 8 suggests 120); fractions allowed for tests. */
  readonly connectRetrySec?: number;
  /** Never connect out; wait for the peer to connect. */
  readonly passive?: boolean;
  /** Seconds to wait in Idle after an error before starting again (damps flapping peers). */
  readonly idleHoldSec?: number;
  readonly families?: readonly AddressFamily[];
  readonly routeRefresh?: boolean;
  readonly gracefulRestart?: GracefulRestartConfig;
  readonly requiredCapabilities?: readonly RequiredCapability[];
  /** See CodecContext.errorHandling; RFC 7606 unless set to 'strict'. */
  readonly errorHandling?: 'rfc7606' | 'strict';
}

export const BGP_PORT = 179;
export const DEFAULT_HOLD_TIME_SEC = 90;
export const DEFAULT_CONNECT_RETRY_SEC = 120;
export const DEFAULT_IDLE_HOLD_SEC = 5;
/** RFC 4271 8.2.2: the hold timer while waiting for the peer's OPEN ("4 minutes is suggested"). */
export const OPEN_HOLD_TIME_SEC = 240;

/** Throws a RangeError naming the field when the configuration cannot work. */
export function validatePeerConfig(c: PeerConfig): void {
  const hold = c.holdTimeSec ?? DEFAULT_HOLD_TIME_SEC;
  if (!Number.isInteger(hold) || hold < 0 || hold > 0xffff || hold === 1 || hold === 2) {
    throw new RangeError(`holdTimeSec ${hold} is invalid: use 0 (no keepalives) or 3..65535 seconds`);
  }
  for (const [name, asn] of [
    ['localAs', c.localAs],
    ['peerAs', c.peerAs],
  ] as const) {
    if (!Number.isInteger(asn) || asn < 1 || asn > 0xffffffff) {
      throw new RangeError(`${name} ${asn} is not an AS number (1..4294967295)`);
    }
  }
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(c.routerId) || c.routerId === '0.0.0.0') {
    throw new RangeError(`routerId "${c.routerId}" must be a non-zero dotted quad such as 192.0.2.1`);
  }
  const retry = c.connectRetrySec ?? DEFAULT_CONNECT_RETRY_SEC;
  if (!(retry > 0)) throw new RangeError(`connectRetrySec ${retry} must be positive`);
}
