/**
 * What `calicoctl ipam show` and `calicoctl ipam check` print, computed from a snapshot of the IPAM
 * records and the resources they refer to. Pure: the client gathers the snapshot, these functions
 * only read it, so both commands change nothing and are tested without a store.
 */
import { cidrContainsCidr, cidrSize, formatCidr, formatIp, type Cidr } from '../net/ip.js';
import {
  addressAt,
  affineHost,
  countsByHandle,
  inUseCount,
  type AllocationAttribute,
  type AllocationBlock,
} from './block.js';
import type { HandleRecord } from './handle.js';
import type { PoolView } from './pools.js';

export interface BlockEntry {
  readonly cidr: Cidr;
  readonly block: AllocationBlock;
}

export interface BlockUsage {
  readonly cidr: string;
  /** The host the block is affine to, if any. */
  readonly host: string | undefined;
  readonly total: number;
  readonly inUse: number;
}

export interface PoolUsage {
  readonly name: string;
  readonly cidr: string;
  readonly disabled: boolean;
  /** Addresses in the pool (a bigint: an IPv6 pool can hold more than 2^53). */
  readonly total: bigint;
  readonly inUse: number;
  readonly blocks: BlockUsage[];
}

export interface UsageReport {
  readonly pools: PoolUsage[];
  /** Blocks that lie in no pool (their pool was deleted while they still held addresses). */
  readonly orphanBlocks: BlockUsage[];
}

function byAddress(a: BlockEntry, b: BlockEntry): number {
  return a.cidr.address < b.cidr.address ? -1 : a.cidr.address > b.cidr.address ? 1 : 0;
}

function blockUsage(e: BlockEntry): BlockUsage {
  return {
    cidr: formatCidr(e.cidr),
    host: affineHost(e.block),
    total: e.block.allocations.length,
    inUse: inUseCount(e.block),
  };
}

export function summarizeUsage(pools: readonly PoolView[], blocks: readonly BlockEntry[]): UsageReport {
  const sorted = [...blocks].sort(byAddress);
  const placed = new Set<BlockEntry>();
  const poolUsage = [...pools]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p): PoolUsage => {
      const mine = sorted.filter((e) => cidrContainsCidr(p.cidr, e.cidr));
      mine.forEach((e) => placed.add(e));
      const usage = mine.map(blockUsage);
      return {
        name: p.name,
        cidr: formatCidr(p.cidr),
        disabled: p.disabled,
        total: cidrSize(p.cidr),
        inUse: usage.reduce((n, b) => n + b.inUse, 0),
        blocks: usage,
      };
    });
  return { pools: poolUsage, orphanBlocks: sorted.filter((e) => !placed.has(e)).map(blockUsage) };
}

/** Everything `ipam check` compares. */
export interface IpamSnapshot {
  readonly pools: readonly PoolView[];
  readonly blocks: readonly BlockEntry[];
  readonly affinityIndex: readonly { host: string; cidr: Cidr }[];
  readonly handles: readonly HandleRecord[];
  /** Names of the Node resources. */
  readonly nodes: ReadonlySet<string>;
  /** Addresses in use by something the datastore knows: workload endpoints' ipNetworks, node tunnel addresses. */
  readonly addressesInUse: ReadonlySet<string>;
  /** Container IDs of the workload endpoints; a handle `<network>.<containerID>` or `<containerID>` belongs to one. */
  readonly containerIds: ReadonlySet<string>;
}

export type IpamProblem =
  | {
      readonly kind: 'leaked-address';
      readonly ip: string;
      readonly block: string;
      readonly handle: string | null;
    }
  | { readonly kind: 'block-host-missing'; readonly block: string; readonly host: string }
  | { readonly kind: 'affinity-index-missing'; readonly block: string; readonly host: string }
  | { readonly kind: 'affinity-index-stale'; readonly block: string; readonly host: string }
  | {
      readonly kind: 'handle-count-mismatch';
      readonly handle: string;
      readonly block: string;
      readonly recorded: number;
      readonly actual: number;
    }
  | { readonly kind: 'block-outside-pools'; readonly block: string };

export interface IpamCheckReport {
  readonly blocks: number;
  readonly addressesInUse: number;
  readonly handles: number;
  readonly problems: IpamProblem[];
}

/**
 * Whether an allocation belongs to a live container: by the `containerID` attribute our CNI plugin
 * records, else by the handle, which is the container ID itself or Calico's
 * `<network>.<containerID>`. Both network names and container IDs may contain dots, so every split
 * point is tried (the network name is never empty).
 */
function allocationBelongsToWorkload(
  attribute: AllocationAttribute | undefined,
  containerIds: ReadonlySet<string>,
): boolean {
  const recorded = attribute?.attrs.containerID;
  if (recorded !== undefined && containerIds.has(recorded)) return true;
  const handle = attribute?.handle;
  if (handle === null || handle === undefined) return false;
  if (containerIds.has(handle)) return true;
  for (let dot = handle.indexOf('.'); dot >= 0; dot = handle.indexOf('.', dot + 1))
    if (dot > 0 && containerIds.has(handle.slice(dot + 1))) return true;
  return false;
}

export function findProblems(s: IpamSnapshot): IpamCheckReport {
  const problems: IpamProblem[] = [];
  const blocks = [...s.blocks].sort(byAddress);
  const indexed = new Set(s.affinityIndex.map((a) => `${a.host} ${formatCidr(a.cidr)}`));
  const blockHosts = new Map(blocks.map((e) => [formatCidr(e.cidr), affineHost(e.block)]));
  const actualCounts = new Map<string, Map<string, number>>();
  let inUse = 0;
  for (const e of blocks) {
    const cidr = formatCidr(e.cidr);
    const host = affineHost(e.block);
    if (!s.pools.some((p) => cidrContainsCidr(p.cidr, e.cidr)))
      problems.push({ kind: 'block-outside-pools', block: cidr });
    if (host !== undefined) {
      if (!s.nodes.has(host)) problems.push({ kind: 'block-host-missing', block: cidr, host });
      if (!indexed.has(`${host} ${cidr}`))
        problems.push({ kind: 'affinity-index-missing', block: cidr, host });
    }
    e.block.allocations.forEach((index, ordinal) => {
      if (index === null || index === undefined) return;
      inUse++;
      const ip = formatIp(addressAt(e.cidr, ordinal));
      const attribute = e.block.attributes[index];
      const handle = attribute?.handle ?? null;
      const used = s.addressesInUse.has(ip) || allocationBelongsToWorkload(attribute, s.containerIds);
      if (!used) problems.push({ kind: 'leaked-address', ip, block: cidr, handle });
    });
    for (const [handle, n] of countsByHandle(e.block)) {
      const perBlock = actualCounts.get(handle) ?? new Map<string, number>();
      perBlock.set(cidr, n);
      actualCounts.set(handle, perBlock);
    }
  }
  for (const a of s.affinityIndex) {
    const cidr = formatCidr(a.cidr);
    if (blockHosts.get(cidr) !== a.host)
      problems.push({ kind: 'affinity-index-stale', block: cidr, host: a.host });
  }
  const recorded = new Map(s.handles.map((h) => [h.handle, h]));
  const handleNames = new Set([...recorded.keys(), ...actualCounts.keys()]);
  for (const handle of [...handleNames].sort()) {
    const rec = recorded.get(handle)?.blocks ?? {};
    const act = actualCounts.get(handle) ?? new Map<string, number>();
    for (const block of [...new Set([...Object.keys(rec), ...act.keys()])].sort()) {
      const r = rec[block] ?? 0;
      const a = act.get(block) ?? 0;
      if (r !== a) problems.push({ kind: 'handle-count-mismatch', handle, block, recorded: r, actual: a });
    }
  }
  return { blocks: blocks.length, addressesInUse: inUse, handles: handleNames.size, problems };
}

/** One line per problem, saying what is wrong and what to do about it. */
export function describeProblem(p: IpamProblem): string {
  switch (p.kind) {
    case 'leaked-address':
      return `leaked address ${p.ip} in block ${p.block} (handle ${p.handle ?? 'none'}): no workload endpoint or node uses it; release it with calicoctl ipam release --ip=${p.ip}`;
    case 'block-host-missing':
      return `block ${p.block} is affine to host ${p.host}, which has no Node resource; release the host's addresses and blocks with calicoctl ipam release --host=${p.host}`;
    case 'affinity-index-missing':
      return `block ${p.block} is affine to host ${p.host} but the host's affinity index does not list it (a claim was interrupted); the next assignment on ${p.host} repairs it`;
    case 'affinity-index-stale':
      return `host ${p.host}'s affinity index lists block ${p.block}, which is not affine to it`;
    case 'handle-count-mismatch':
      return `handle ${p.handle} records ${p.recorded} address(es) in block ${p.block} but the block holds ${p.actual} for it${p.recorded > p.actual ? ' (an interrupted assignment; harmless, released with the handle)' : ''}`;
    case 'block-outside-pools':
      return `block ${p.block} lies in no IP pool (its pool was deleted); release its addresses`;
    default: {
      const never: never = p;
      return String(never);
    }
  }
}
