// Public face of the BGP session layer: the pure FSM, OPEN negotiation, and the socket edge.
export * from './config.js';
export * from './negotiation.js';
export * from './fsm.js';
