/**
 * The desired dataplane: what the pure parts of Felix (calc → rules) hand to the dataplane drivers.
 * Rules are kept as iptables argument text (the part after `-A CHAIN`), without the `cali:<hash>`
 * comment: the table driver adds that hash itself, so reading the kernel back means reading hashes,
 * not parsing rules (the design of Calico's felix/iptables/table.go).
 */

export type IptablesTable = 'raw' | 'mangle' | 'nat' | 'filter';
export const IPTABLES_TABLES: readonly IptablesTable[] = ['raw', 'mangle', 'nat', 'filter'];

export type IpVersion = 4 | 6;

export interface IptRule {
  /** Match arguments, e.g. `-i cali+ -m mark --mark 0x0/0x4000000`; empty for an unconditional rule. */
  readonly match: string;
  /** Action arguments, e.g. `-j cali-from-wl-dispatch`, `-g cali-fw-cali0ef24b1`, `-j MARK --set-xmark 0x1000000/0x1000000`; empty for a comment-only rule. */
  readonly action: string;
  /** Human comments, rendered as extra `-m comment --comment "..."` (the seed's "Start of policy"). */
  readonly comment?: string;
}

export interface Chain {
  readonly name: string;
  readonly rules: readonly IptRule[];
}

/** The rules we insert at the top of a kernel chain (`FORWARD`, `PREROUTING`, ...) to reach ours. */
export interface ChainHook {
  readonly table: IptablesTable;
  readonly chain: string;
  readonly rules: readonly IptRule[];
}

export interface IptablesState {
  /** Our chains (all named `cali-*`), per table. */
  readonly chains: Readonly<Record<IptablesTable, readonly Chain[]>>;
  readonly hooks: readonly ChainHook[];
}

export type IpsetType = 'hash:ip' | 'hash:net';

export interface IpsetSpec {
  /** At most 31 characters, e.g. `cali40s:AbC...`. */
  readonly name: string;
  readonly type: IpsetType;
  readonly family: IpVersion;
  /** Addresses or CIDRs, canonical text. */
  readonly members: readonly string[];
}

export type RouteSpec =
  | { readonly type: 'workload'; readonly dst: string; readonly dev: string }
  | { readonly type: 'blackhole'; readonly dst: string };

/** A local workload interface: host side of the veth, which needs proxy ARP and forwarding. */
export interface WorkloadInterface {
  readonly name: string;
  readonly family: readonly IpVersion[];
}

export interface DesiredDataplane {
  readonly iptables: Readonly<Record<IpVersion, IptablesState>>;
  readonly ipsets: readonly IpsetSpec[];
  readonly routes: readonly RouteSpec[];
  readonly interfaces: readonly WorkloadInterface[];
}
