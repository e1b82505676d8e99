// Public face of the BGP peering configuration: which sessions a node runs, from the datastore's resources.
export {
  planNodePeerings,
  nodeAddress,
  routerIdFromName,
  type ClusterBgpResources,
  type DesiredPeer,
  type NodeBgpPlan,
  type PeerType,
  type PlanOptions,
} from './peerings.js';
