// Public face of the FIB driver: BGP best paths into the kernel (proto 81), with ECMP.
export {
  BGP_ROUTE_PROTO,
  KernelFib,
  familyOfPrefix,
  normalizeNextHops,
  parseKernelRoutes,
  planFib,
  routeDeleteLine,
  routeReplaceLine,
  type FibFamily,
  type FibRoute,
  type FibSyncReport,
  type KernelFibOptions,
} from './kernel-fib.js';
