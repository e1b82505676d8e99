// Public face of the FIB driver: BGP best paths into the kernel (proto 81), with ECMP.
export { KernelFib, planRouteOp, type FibSyncReport, type KernelFibOptions } from './kernel-fib.js';
export {
  canonicalPrefix,
  familyOfPrefix,
  fibPrefixKey,
  fibPrefixText,
  normalizeNextHops,
  type FibFamily,
  type FibPrefixKey,
} from './canonical-route-text.js';
export {
  BGP_ROUTE_PROTO,
  IpBatchRouteWriter,
  parseIpBatchFailures,
  parseKernelRoutes,
  routeDeleteLine,
  routeOpLine,
  routeReplaceLine,
  type FibRoute,
} from './ip-batch-route-writer.js';
export { NetlinkRouteWriter, type NetlinkRouteWriterOptions } from './netlink-route-writer.js';
export { FIB_WRITER_PROGRAM, routeWriterFor, type RouteWriterChoice } from './choose-route-writer.js';
export {
  encodeBarrier,
  encodeListRequest,
  decodeRouteOpLine,
  encodeRouteOp,
  parseWriterReply,
  LineSplitter,
  type WriterReply,
} from './fib-writer-protocol.js';
export type {
  RouteOp,
  RouteOpFailure,
  RouteWriteResult,
  RouteWriter,
  RouteWriterKind,
} from './route-writer.js';
