// Public face of the policy model (issue 4): selection and ordering, rule matching, packet
// evaluation with a trace, and the explain tool.
export {
  resolveEndpointPolicies,
  namespaceSelectorAdmits,
  policySelectsEndpoint,
  policyTypes,
  namespaceLabels,
  tierOrder,
  DEFAULT_TIER,
  DEFAULT_TIER_ORDER,
  type Direction,
  type PolicyResource,
  type NamespaceInfo,
  type TierInfo,
  type PolicyEnvironment,
  type ApplyingPolicy,
  type ResolvedTier,
  type ResolvedProfile,
  type EndpointPolicies,
} from './resolve.js';
export {
  workloadEndpointView,
  workloadEndpointLabels,
  hostEndpointView,
  profileMap,
  endpointAddress,
  NAMESPACE_LABEL,
  ORCHESTRATOR_LABEL,
  NAMESPACE_NAME_LABEL,
  DEFAULT_NAMESPACE,
  type PolicyEndpoint,
} from './endpoint.js';
export { ruleMatches, ruleMismatch, portMatches, type Flow, type Peer, type RuleScope } from './rulematch.js';
export {
  evaluatePacket,
  describeDecision,
  type Verdict,
  type TraceStep,
  type DecidingStep,
  type DirectionResult,
  type PolicyRef,
  type SkippedRule,
} from './evaluate.js';
export {
  explainTraffic,
  formatExplanation,
  policyResourcesFrom,
  ExplainInputError,
  type PolicyResources,
  type ExplainRequest,
  type ExplainedPeer,
  type Explanation,
} from './explain.js';
export { protocolNumber, protocolName } from './protocol.js';
