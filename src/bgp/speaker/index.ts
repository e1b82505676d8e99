// Public face of the BGP speaker in calico-node: the agent, its status, and the status socket.
export { BgpAgent, type BgpAgentMetrics, type BgpAgentOptions } from './agent.js';
export { originatedPrefixes, diffPrefixes, prefixText } from './origination.js';
export { SpeakerInputs, resourceKeyParts, type InputUpdate } from './inputs.js';
export {
  birdState,
  formatBgpStatus,
  formatBorderedTable,
  formatPeerRoutes,
  formatSince,
  peerInfo,
  type NodeStatusReply,
  type PeerRoutesReply,
  type PeerStatus,
  type RouteEntry,
  type SpeakerStatus,
} from './status.js';
export {
  DEFAULT_RUN_DIR,
  NodeNotRunningError,
  StatusSocketServer,
  requestStatus,
  statusSocketPath,
  type StatusRequest,
  type StatusSource,
} from './status-socket.js';
export { bgpMetricSamples, type MetricSample } from './metrics.js';
export { calicoExportPolicy, exportDecision, isExported, type ExportDecision } from './export-filter.js';
