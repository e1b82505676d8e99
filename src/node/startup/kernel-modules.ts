/**
 * Is a kernel module there? Calico's start-up runs `modprobe -a xt_set ip6_tables`; on a machine where
 * modprobe cannot run (or the kernel is monolithic, with no /proc/modules at all) the honest answer
 * comes from what the kernel says about itself: the loaded list, /sys/module, its build config
 * (/proc/config.gz) and modules.builtin. This file decides from those sources, purely; reading them
 * is kernel-module-sources.ts. A module that is built in is present, never a failure.
 */

export type ModuleState = 'loaded' | 'builtin' | 'loadable' | 'missing' | 'unknown';

export interface KernelModuleSources {
  /** Names from /proc/modules (absent on a kernel built without module support). */
  readonly loaded?: ReadonlySet<string>;
  /** Directory names under /sys/module: loaded modules and built-ins that have parameters. */
  readonly sysModule?: ReadonlySet<string>;
  /** The kernel's build config, CONFIG_FOO → y / m. */
  readonly config?: ReadonlyMap<string, string>;
  /** Names from /lib/modules/RELEASE/modules.builtin. */
  readonly builtin?: ReadonlySet<string>;
  /** Names from /lib/modules/RELEASE/modules.dep: modules modprobe could load. */
  readonly available?: ReadonlySet<string>;
}

export interface KernelModuleInfo {
  readonly name: string;
  /** The build option that provides it, so a "missing" can say what to turn on. */
  readonly config: string;
  readonly why: string;
  readonly required: boolean;
}

/** What calico-node needs from the kernel (Felix's iptables matches, ipsets, NAT) and the optional tunnels. */
export const CALICO_KERNEL_MODULES: readonly KernelModuleInfo[] = [
  { name: 'ip_tables', config: 'CONFIG_IP_NF_IPTABLES', why: 'IPv4 iptables', required: true },
  { name: 'ip6_tables', config: 'CONFIG_IP6_NF_IPTABLES', why: 'IPv6 ip6tables', required: true },
  { name: 'ip_set', config: 'CONFIG_IP_SET', why: 'ipsets for selector matches', required: true },
  { name: 'ip_set_hash_ip', config: 'CONFIG_IP_SET_HASH_IP', why: 'hash:ip ipsets', required: true },
  { name: 'ip_set_hash_net', config: 'CONFIG_IP_SET_HASH_NET', why: 'hash:net ipsets', required: true },
  { name: 'xt_set', config: 'CONFIG_NETFILTER_XT_SET', why: 'iptables -m set', required: true },
  {
    name: 'xt_conntrack',
    config: 'CONFIG_NETFILTER_XT_MATCH_CONNTRACK',
    why: 'iptables -m conntrack',
    required: true,
  },
  {
    name: 'xt_multiport',
    config: 'CONFIG_NETFILTER_XT_MATCH_MULTIPORT',
    why: 'iptables -m multiport',
    required: true,
  },
  {
    name: 'xt_comment',
    config: 'CONFIG_NETFILTER_XT_MATCH_COMMENT',
    why: 'rule hashes in cali: comments',
    required: true,
  },
  { name: 'xt_mark', config: 'CONFIG_NETFILTER_XT_MARK', why: 'policy verdict marks', required: true },
  { name: 'nf_conntrack', config: 'CONFIG_NF_CONNTRACK', why: 'connection tracking', required: true },
  { name: 'nf_nat', config: 'CONFIG_NF_NAT', why: 'NAT outgoing', required: true },
  {
    name: 'xt_MASQUERADE',
    config: 'CONFIG_NETFILTER_XT_TARGET_MASQUERADE',
    why: 'MASQUERADE for NAT outgoing',
    required: true,
  },
  { name: 'veth', config: 'CONFIG_VETH', why: 'workload interfaces', required: true },
  { name: 'vxlan', config: 'CONFIG_VXLAN', why: 'VXLAN overlay', required: false },
  { name: 'ipip', config: 'CONFIG_NET_IPIP', why: 'IPIP overlay', required: false },
];

/** Module names use `_` where file names may use `-`; compare them in one spelling. */
export function moduleKey(name: string): string {
  return name.replace(/-/g, '_').toLowerCase();
}

/** The state of one module, from whatever sources this host offers. */
export function moduleState(
  module: Pick<KernelModuleInfo, 'name' | 'config'>,
  src: KernelModuleSources,
): ModuleState {
  const key = moduleKey(module.name);
  if (src.loaded?.has(key)) return 'loaded';
  if (src.builtin?.has(key)) return 'builtin';
  const setting = src.config?.get(module.config);
  if (setting === 'y') return 'builtin';
  if (src.available?.has(key)) return 'loadable';
  if (setting === 'm') return src.available ? 'missing' : 'loadable';
  // Built-ins with parameters appear here without being in /proc/modules.
  if (src.sysModule?.has(key)) return 'builtin';
  if (src.config) return 'missing';
  if (src.loaded && src.builtin && src.available) return 'missing';
  return 'unknown';
}

export interface ModuleReport {
  readonly module: KernelModuleInfo;
  readonly state: ModuleState;
}

export function moduleReports(
  src: KernelModuleSources,
  modules: readonly KernelModuleInfo[] = CALICO_KERNEL_MODULES,
): ModuleReport[] {
  return modules.map((m) => ({ module: m, state: moduleState(m, src) }));
}

/** A short phrase for the state, for tables and start-up lines. */
export function describeModuleState(r: ModuleReport): string {
  switch (r.state) {
    case 'loaded':
      return 'loaded';
    case 'builtin':
      return 'built into the kernel';
    case 'loadable':
      return 'not loaded (modprobe can load it)';
    case 'missing':
      return `not available (kernel built without ${r.module.config})`;
    case 'unknown':
      return 'cannot tell (no /proc/modules, kernel config or modules.builtin)';
    default: {
      const never: never = r.state;
      return String(never);
    }
  }
}

/** The start-up lines about modules, shaped like the seed's "Running command to load modules" step. */
export function moduleStartupLines(reports: readonly ModuleReport[]): string[] {
  const present = reports.filter((r) => r.state === 'loaded' || r.state === 'builtin');
  const lines = [
    `Checking kernel modules: ${present.length} of ${reports.length} present (${reports.filter((r) => r.state === 'builtin').length} built in, ${reports.filter((r) => r.state === 'loaded').length} loaded)`,
  ];
  for (const r of reports) {
    if (r.state === 'loaded' || r.state === 'builtin') continue;
    if (r.module.name === 'ipip' && r.state === 'missing') {
      lines.push('IPIP is not available on this kernel (no ipip module); use VXLAN');
      continue;
    }
    lines.push(
      `${r.module.required ? 'Warning' : 'Note'}: kernel module ${r.module.name} (${r.module.why}) is ${describeModuleState(r)}`,
    );
  }
  return lines;
}
