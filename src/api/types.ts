/**
 * The v3 resource model, with Calico v3's field names (projectcalico.org/v3). These are the shapes
 * stored in the datastore and printed by calicoctl; the seed's v1 documents are converted into them
 * (see v1.ts). Optional fields stay optional here: defaults are applied by defaults.ts, so a stored
 * resource says exactly what the user wrote plus the documented defaults.
 */

export const API_VERSION = 'projectcalico.org/v3';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** The datastore revision of the stored copy; set by the store, used for compare-and-swap. */
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
}

/** A port number, a `"from:to"` range, or the name of a port declared on the endpoint. */
export type Port = number | string;

/** `TCP`, `UDP`, `ICMP`, `ICMPv6`, `SCTP`, `UDPLite`, or a protocol number 1..255. */
export type Protocol = string | number;

export type RuleAction = 'Allow' | 'Deny' | 'Log' | 'Pass';

export interface IcmpFields {
  type?: number;
  code?: number;
}

export interface EntityRule {
  nets?: string[];
  notNets?: string[];
  selector?: string;
  notSelector?: string;
  namespaceSelector?: string;
  ports?: Port[];
  notPorts?: Port[];
}

export interface Rule {
  action: RuleAction;
  ipVersion?: 4 | 6;
  protocol?: Protocol;
  notProtocol?: Protocol;
  icmp?: IcmpFields;
  notICMP?: IcmpFields;
  source?: EntityRule;
  destination?: EntityRule;
  metadata?: { annotations?: Record<string, string> };
}

export type PolicyType = 'Ingress' | 'Egress';

export interface EndpointPort {
  name: string;
  protocol: Protocol;
  port: number;
}

export interface NodeSpec {
  bgp?: {
    asNumber?: number;
    ipv4Address?: string;
    ipv6Address?: string;
    ipv4IPIPTunnelAddr?: string;
    routeReflectorClusterID?: string;
  };
  ipv4VXLANTunnelAddr?: string;
  vxlanTunnelMACAddr?: string;
  orchRefs?: { nodeName?: string; orchestrator: string }[];
}

export interface BGPConfigurationSpec {
  logSeverityScreen?: string;
  nodeToNodeMeshEnabled?: boolean;
  asNumber?: number;
  listenPort?: number;
  serviceClusterIPs?: { cidr: string }[];
  serviceExternalIPs?: { cidr: string }[];
  communities?: { name: string; value: string }[];
}

export interface BGPPeerSpec {
  node?: string;
  peerIP?: string;
  asNumber?: number;
  nodeSelector?: string;
  peerSelector?: string;
  keepOriginalNextHop?: boolean;
  sourceAddress?: 'UseNodeIP' | 'None';
  maxRestartTime?: string;
}

export type EncapMode = 'Never' | 'Always' | 'CrossSubnet';

export interface IPPoolSpec {
  cidr: string;
  blockSize?: number;
  ipipMode?: EncapMode;
  vxlanMode?: EncapMode;
  natOutgoing?: boolean;
  disabled?: boolean;
  nodeSelector?: string;
  allowedUses?: ('Workload' | 'Tunnel')[];
}

export interface GlobalNetworkPolicySpec {
  tier?: string;
  order?: number;
  selector?: string;
  namespaceSelector?: string;
  types?: PolicyType[];
  ingress?: Rule[];
  egress?: Rule[];
  doNotTrack?: boolean;
  preDNAT?: boolean;
  applyOnForward?: boolean;
}

export interface NetworkPolicySpec {
  tier?: string;
  order?: number;
  selector?: string;
  types?: PolicyType[];
  ingress?: Rule[];
  egress?: Rule[];
}

export interface ProfileSpec {
  ingress?: Rule[];
  egress?: Rule[];
  labelsToApply?: Record<string, string>;
}

export interface IPNAT {
  internalIP: string;
  externalIP: string;
}

export interface WorkloadEndpointSpec {
  orchestrator?: string;
  workload?: string;
  node?: string;
  containerID?: string;
  pod?: string;
  endpoint?: string;
  ipNetworks?: string[];
  ipNATs?: IPNAT[];
  ipv4Gateway?: string;
  ipv6Gateway?: string;
  profiles?: string[];
  interfaceName?: string;
  mac?: string;
  ports?: EndpointPort[];
}

export interface HostEndpointSpec {
  node?: string;
  interfaceName?: string;
  expectedIPs?: string[];
  profiles?: string[];
  ports?: EndpointPort[];
}

export interface FelixConfigurationSpec {
  logSeverityScreen?: string;
  logSeverityFile?: string;
  iptablesRefreshInterval?: string;
  ipipEnabled?: boolean;
  vxlanEnabled?: boolean;
  defaultEndpointToHostAction?: 'Drop' | 'Accept' | 'Return';
  iptablesMarkMask?: number;
  failsafeInboundHostPorts?: { protocol: string; port: number }[];
  failsafeOutboundHostPorts?: { protocol: string; port: number }[];
  healthPort?: number;
  prometheusMetricsEnabled?: boolean;
  prometheusMetricsPort?: number;
  routeRefreshInterval?: string;
}

export interface ClusterInformationSpec {
  clusterGUID?: string;
  clusterType?: string;
  calicoVersion?: string;
  datastoreReady?: boolean;
}

interface ResourceOf<K extends string, S> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
}

export type Node = ResourceOf<'Node', NodeSpec>;
export type BGPConfiguration = ResourceOf<'BGPConfiguration', BGPConfigurationSpec>;
export type BGPPeer = ResourceOf<'BGPPeer', BGPPeerSpec>;
export type IPPool = ResourceOf<'IPPool', IPPoolSpec>;
export type GlobalNetworkPolicy = ResourceOf<'GlobalNetworkPolicy', GlobalNetworkPolicySpec>;
export type NetworkPolicy = ResourceOf<'NetworkPolicy', NetworkPolicySpec>;
export type Profile = ResourceOf<'Profile', ProfileSpec>;
export type WorkloadEndpoint = ResourceOf<'WorkloadEndpoint', WorkloadEndpointSpec>;
export type HostEndpoint = ResourceOf<'HostEndpoint', HostEndpointSpec>;
export type FelixConfiguration = ResourceOf<'FelixConfiguration', FelixConfigurationSpec>;
export type ClusterInformation = ResourceOf<'ClusterInformation', ClusterInformationSpec>;

export type Resource =
  | Node
  | BGPConfiguration
  | BGPPeer
  | IPPool
  | GlobalNetworkPolicy
  | NetworkPolicy
  | Profile
  | WorkloadEndpoint
  | HostEndpoint
  | FelixConfiguration
  | ClusterInformation;

export type ResourceKind = Resource['kind'];

/** The resource of a given kind. */
export type ResourceOfKind<K extends ResourceKind> = Extract<Resource, { kind: K }>;
