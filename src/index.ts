// The package's public face: the library APIs other parts and outside checks call.
export const VERSION = '0.1.0';
