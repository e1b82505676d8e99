// Public face of the CNI plugins (issue 9): the process-level entry points, the pure pieces other
// parts reuse (names a container gets, the endpoint record), the protocol types, and calico-node's
// CNI server with the shim's wire format.
export {
  runCalicoPlugin,
  runCalicoIpamPlugin,
  locatePluginInPath,
  type PluginOutcome,
  type PluginEnvironment,
} from './run-plugin.js';
export {
  workloadIdentity,
  hostInterfaceName,
  containerMacFor,
  type WorkloadIdentity,
} from './workload-identity.js';
export { workloadEndpointFor, networkProfileFor, type EndpointFacts } from './endpoint-record.js';
export {
  parseCalicoConfig,
  parseCalicoIpamConfig,
  decodeConfigText,
  type CalicoNetworkConfig,
  type CalicoIpamConfig,
} from './network-config.js';
export {
  parseInvocation,
  parseCniArgs,
  type CniInvocation,
  type CniArgs,
  type CniCommand,
} from './environment.js';
export {
  CniError,
  CniErrorCode,
  SUPPORTED_CNI_VERSIONS,
  encodeResult,
  decodeResult,
  type CniResult,
  type CniVersion,
} from './spec.js';
export {
  IpWorkloadDataplane,
  HOST_SIDE_MAC,
  IPV4_GATEWAY,
  IPV6_GATEWAY,
  type WorkloadDataplane,
  type VethWiring,
} from './veth-wiring.js';
export {
  CniServer,
  cniSocketPath,
  currentNetnsInode,
  NETNS_FD_VARIABLE,
  type CniServerOptions,
} from './server.js';
export {
  encodeRequest,
  decodeRequest,
  encodeReply,
  decodeReply,
  ShimFrameError,
  type ShimRequest,
  type ShimReply,
  type ShimPlugin,
} from './shim-protocol.js';
