// Public face of the BGP speaker parts. Filled in by the BGP work.
export * from './types.js';
export * from './wire/index.js';
export * from './session/index.js';
export * from './rib/index.js';
