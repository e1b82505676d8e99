// Public face of IPAM (issue 6): the client, its argument and result types, and its errors.
export {
  IpamClient,
  type AutoAssignArgs,
  type AutoAssignResult,
  type AssignIpArgs,
  type ReleaseTarget,
  type ReleaseResult,
  type IpLookup,
  type HostRelease,
  type IpamClientOptions,
} from './client.js';
export { DEFAULT_IPAM_CONFIG, type IpamConfig } from './store.js';
export {
  IpamError,
  NoAddressesError,
  AddressInUseError,
  IpamConflictError,
  IpamCorruptRecordError,
  PoolInUseError,
} from './errors.js';
export type { AllocationBlock, AllocationAttribute } from './block.js';
export {
  describeProblem,
  type IpamProblem,
  type IpamCheckReport,
  type UsageReport,
  type PoolUsage,
  type BlockUsage,
} from './report.js';
