/** The start-up side of calico-node: what `calicoctl node run`, `node diags` and `node checksystem` use. */
export {
  parseAutodetectionMethod,
  chooseNodeAddress,
  autodetectedLine,
  DEFAULT_EXCLUDED_INTERFACES,
  AutodetectionMethodError,
  type AutodetectionMethod,
  type AutodetectionResult,
} from './autodetect.js';
export {
  parseIpAddrJson,
  parseRouteGetJson,
  readHostInterfaces,
  lookupRoute,
  type HostInterface,
  type InterfaceAddress,
  type RouteLookup,
} from './host-interfaces.js';
export {
  planDefaultPools,
  defaultPoolSettingsFromEnv,
  randomUniqueLocalPrefix,
  createdPoolLine,
  ipipPoolWarnings,
  parseEncapMode,
  DefaultPoolError,
  IPIP_UNAVAILABLE,
  DEFAULT_IPV4_POOL_CIDR,
  DEFAULT_IPV4_POOL_NAME,
  DEFAULT_IPV6_POOL_NAME,
  type DefaultPoolSettings,
} from './default-pools.js';
export {
  parseAddressSetting,
  decideNodeAddress,
  planNodeResource,
  NodeAddressError,
  type AddressSetting,
} from './node-resource.js';
export {
  CALICO_KERNEL_MODULES,
  moduleState,
  moduleReports,
  moduleStartupLines,
  describeModuleState,
  type KernelModuleSources,
  type ModuleState,
} from './kernel-modules.js';
export { readKernelModuleSources, parseKernelConfig } from './kernel-module-sources.js';
export { renderSystemdUnit, quoteSystemdArgument, type SystemdUnitInput } from './systemd-unit.js';
export {
  formatCheckReport,
  checksystemExitCode,
  requiredFailures,
  type CheckResult,
  type CheckStatus,
} from './checksystem-report.js';
export { runChecksystem, type ChecksystemDeps } from './checksystem.js';
export { DIAGS_COMMANDS, DIAGS_KINDS, resourceDocuments, bundleName } from './diags-plan.js';
export { collectDiags, type DiagsDeps } from './diags.js';
export {
  runStartupSteps,
  nodeNameOf,
  StartupError,
  CONNTRACK_MAX,
  type StartupDeps,
  type StartupOptions,
  type StartupOutcome,
} from './node-startup.js';
export {
  calicoNodeCommand,
  calicoctlCommand,
  launchDetached,
  waitForReady,
  stopRecordedNode,
  isCalicoNodeProcess,
  readPid,
  processAlive,
  logFileIn,
  pidFileIn,
  READY_LINE,
  DEFAULT_LOG_DIR,
  DEFAULT_RUN_DIR,
  type LaunchSpec,
  type Launched,
  type ReadyOutcome,
} from './launcher.js';
