// Public face of the BGP session layer: the pure FSM, OPEN negotiation, and the socket edge.
export * from './config.js';
export * from './negotiation.js';
export * from './fsm.js';
export { systemClock, type Clock } from './clock.js';
export {
  BgpSession,
  type BgpSessionEvents,
  type BgpSessionOptions,
  type ConnectionDirection,
  type Connector,
  type NotificationEvent,
} from './session.js';
export { BgpListener, normalizePeerAddress, type BgpListenerOptions } from './listener.js';
