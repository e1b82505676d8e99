/**
 * `IpamClient`: Calico's block-based IP address management over any `Datastore`.
 *
 * Why blocks: each host claims small blocks (a /26 by default) from a pool and hands out addresses
 * from them, so the network carries one route per block instead of one per container.
 *
 * How it stays correct with many writers (CNI invocations on every host, calicoctl) and no lock:
 * - The block record is the truth about its addresses. Every change to it (assign, release, drop
 *   affinity) reads it, computes the new block with the pure functions of block.ts, and writes it
 *   back compare-and-swap on the revision read; a writer that loses the race reads again and
 *   retries (bounded; then IpamConflictError).
 * - Claiming a block is creating its key: create-if-absent lets exactly one host win. Hosts claim
 *   the lowest free block of a pool, so two processes of one host race for the same block and the
 *   loser uses the winner's block instead of claiming another.
 * - The host affinity keys are an index (find this host's blocks without reading every block); the
 *   block's own `affinity` field decides. A claim interrupted between the two is repaired by the
 *   next claim on that host and reported by `check()`.
 * - Handle records count addresses before the block is written (see handle.ts), so releasing by
 *   handle never misses an address.
 *
 * Assignment order for a host: its own blocks (lowest first), then a newly claimed block, then (only
 * without strictAffinity) free addresses in other hosts' blocks. `autoAssign` is all or nothing: if
 * it cannot get every address asked for, it gives back the ones it took and throws NoAddressesError.
 *
 * A block's network and broadcast addresses are handed out like any other (see block.ts).
 */
import type { Node } from '../api/types.js';
import { ResourceClient } from '../datastore/resources.js';
import type { Datastore } from '../datastore/types.js';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
  type Cidr,
  type IpAddress,
  type IpFamily,
} from '../net/ip.js';
import {
  addressAt,
  addressWithBlockPrefix,
  affineHost,
  allocateFromBlock,
  assignOrdinal,
  blockCidrFor,
  blockTextIsFull,
  freeCount,
  holderOf,
  hostAffinity,
  inUseCount,
  newBlock,
  ordinalOf,
  ordinalsHeldBy,
  releaseOrdinals,
  withAffinity,
  type AllocationAttribute,
  type AllocationBlock,
} from './block.js';
import {
  AddressInUseError,
  IpamConflictError,
  IpamError,
  NoAddressesError,
  PoolInUseError,
} from './errors.js';
import { adjustHandle, type HandleRecord } from './handle.js';
import { keySegmentProblem } from './keys.js';
import {
  choosePools,
  firstFreeBlock,
  poolContainingBlock,
  poolContainingIp,
  poolViews,
  selectorsNeedLabels,
  unknownPoolRequests,
  type PoolView,
  type SkippedPool,
} from './pools.js';
import { findProblems, summarizeUsage, type IpamCheckReport, type UsageReport } from './report.js';
import {
  DEFAULT_IPAM_CONFIG,
  IpamStore,
  isWriteRace,
  retryOnRace,
  type IpamConfig,
  type RetryPolicy,
  type StoredBlock,
} from './store.js';

export interface AutoAssignArgs {
  /** Owner of the addresses (Calico's CNI uses `<network>.<containerID>`). */
  readonly handle: string;
  /** The host the addresses are for; its blocks are used first. */
  readonly host: string;
  readonly num4?: number;
  readonly num6?: number;
  /** Stored with each address (namespace, pod, ...); `node` is always set to `host`. */
  readonly attrs?: Readonly<Record<string, string>>;
  /** Pool names or CIDRs to use instead of every enabled pool that selects the host. */
  readonly pools?: readonly string[];
}

/** Addresses with their block's prefix length, `10.77.0.5/26`, as Calico returns them. */
export interface AutoAssignResult {
  readonly ipv4: string[];
  readonly ipv6: string[];
}

export interface AssignIpArgs {
  /** The address wanted, bare or with a prefix length (which is ignored). */
  readonly ip: string;
  readonly handle: string;
  /** When set, recorded as the `node` attribute; a block created for the address becomes affine to it. */
  readonly host?: string;
  readonly attrs?: Readonly<Record<string, string>>;
}

/** An address to release, optionally only if it is still held by this handle. */
export type ReleaseTarget = string | { readonly ip: string; readonly handle?: string };

export interface ReleaseResult {
  /** Addresses that were held and are now free (bare, canonical). */
  readonly released: string[];
  /** Addresses that were not allocated (or not to the handle given); nothing happened to them. */
  readonly notAllocated: string[];
}

export type IpLookup =
  | {
      readonly state: 'assigned';
      readonly ip: string;
      readonly block: string;
      readonly blockHost: string | undefined;
      readonly handle: string | null;
      readonly attrs: Readonly<Record<string, string>>;
    }
  | { readonly state: 'free'; readonly ip: string; readonly block: string | undefined; readonly pool: string }
  | { readonly state: 'not-in-pool'; readonly ip: string; readonly block: string | undefined };

export interface HostRelease {
  /** Addresses attributed to the host (attribute `node`) that were released. */
  readonly releasedAddresses: string[];
  /** Empty blocks of the host that were deleted. */
  readonly deletedBlocks: string[];
  /** Blocks that still hold other hosts' addresses and so were kept, without affinity. */
  readonly unaffinedBlocks: string[];
}

export interface IpamClientOptions {
  /** Tries per record before IpamConflictError. Default 100. */
  readonly maxAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

interface AssignedAddress {
  readonly cidr: Cidr;
  readonly ordinal: number;
}

type BlockUse =
  { readonly kind: 'affine'; readonly host: string } | { readonly kind: 'borrow'; readonly host: string };

const byAddress = (a: Cidr, b: Cidr) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);

function requireName(what: 'host' | 'handle', value: string): void {
  const problem = keySegmentProblem(what, value);
  if (problem) throw new IpamError(problem);
}

function requireCount(name: string, n: number | undefined): number {
  const v = n ?? 0;
  if (!Number.isInteger(v) || v < 0 || v > 65536)
    throw new IpamError(`${name} must be a whole number from 0 to 65536, not ${String(n)}`);
  return v;
}

/** Parses `10.0.0.5` or `10.0.0.5/26` (the prefix is ignored). */
function parseAddress(text: string): IpAddress {
  const bare = text.includes('/') ? text.slice(0, text.indexOf('/')) : text;
  const ip = parseIp(bare);
  if (!ip || (text.includes('/') && !parseCidr(text)))
    throw new IpamError(`"${text}" is not an IP address (expected e.g. 10.0.0.5 or fd00::5)`);
  return ip;
}

function explainNoAddresses(
  family: IpFamily,
  host: string,
  wanted: number,
  got: number,
  usable: readonly PoolView[],
  skipped: readonly SkippedPool[],
  why: string,
): string {
  const skippedText = skipped.length
    ? `; skipped: ${skipped.map((s) => `${s.pool.name} (${s.reason})`).join(', ')}`
    : '';
  const poolsText = usable.length
    ? `pool(s) ${usable.map((p) => `${p.name} (${formatCidr(p.cidr)})`).join(', ')}`
    : `no enabled IPv${family} pool selects host "${host}"`;
  return `no addresses available: host "${host}" asked for ${wanted} IPv${family} address(es) and only ${got} were free; ${poolsText}${usable.length ? ` ${why}` : ''}${skippedText}. Add or enlarge an IP pool, or release addresses (calicoctl ipam show, calicoctl ipam release)`;
}

export class IpamClient {
  private readonly store: IpamStore;
  private readonly resources: ResourceClient;
  private readonly retry: RetryPolicy;
  /**
   * Per host and family, the block this client last took an address from. Tried first next time, so
   * a host with many full blocks does not read them all for every container; the other blocks are
   * read only when it fills up (and then the lowest with room wins again).
   */
  private readonly blockWithRoom = new Map<string, Cidr>();

  constructor(
    readonly datastore: Datastore,
    options: IpamClientOptions = {},
  ) {
    this.store = new IpamStore(datastore);
    this.resources = new ResourceClient(datastore);
    this.retry = {
      maxAttempts: options.maxAttempts ?? 100,
      sleep: options.sleep ?? ((ms) => sleep(ms)),
      random: options.random ?? Math.random,
    };
  }

  private async pools(): Promise<PoolView[]> {
    return poolViews(await this.resources.list('IPPool'));
  }

  private async hostLabels(host: string, pools: readonly PoolView[]): Promise<Record<string, string>> {
    if (!selectorsNeedLabels(pools)) return {};
    const node: Node | undefined = await this.resources.get('Node', host);
    return node?.metadata.labels ?? {};
  }

  private async config(): Promise<IpamConfig> {
    return (await this.store.getConfig())?.value ?? DEFAULT_IPAM_CONFIG;
  }

  /**
   * Takes `num4` IPv4 and `num6` IPv6 addresses for `handle` on `host`. All or nothing: on failure
   * nothing stays assigned and NoAddressesError says which pools were tried and why they fell short.
   */
  async autoAssign(args: AutoAssignArgs): Promise<AutoAssignResult> {
    requireName('handle', args.handle);
    requireName('host', args.host);
    const num4 = requireCount('num4', args.num4);
    const num6 = requireCount('num6', args.num6);
    const pools = await this.pools();
    if (args.pools?.length) {
      const unknown = unknownPoolRequests(pools, args.pools);
      if (unknown.length)
        throw new IpamError(
          `requested pool(s) ${unknown.map((u) => `"${u}"`).join(', ')} do not exist (calicoctl get ippool lists them)`,
        );
    }
    const labels = await this.hostLabels(args.host, pools);
    const attribute: AllocationAttribute = { handle: args.handle, attrs: { ...args.attrs, node: args.host } };
    const taken: AssignedAddress[] = [];
    try {
      const ipv4 = num4 ? await this.assignFamily(4, num4, args, pools, labels, attribute, taken) : [];
      const ipv6 = num6 ? await this.assignFamily(6, num6, args, pools, labels, attribute, taken) : [];
      return {
        ipv4: ipv4.map((a) => addressWithBlockPrefix(a.cidr, a.ordinal)),
        ipv6: ipv6.map((a) => addressWithBlockPrefix(a.cidr, a.ordinal)),
      };
    } catch (e) {
      // Give back what this call took. If that fails too, the caller still learns the first cause;
      // what stays assigned belongs to the handle, so releaseByHandle (or ipam check) finds it.
      if (taken.length)
        await this.releaseIPs(
          taken.map((a) => ({ ip: formatIp(addressAt(a.cidr, a.ordinal)), handle: args.handle })),
        ).catch(() => undefined);
      throw e;
    }
  }

  private async assignFamily(
    family: IpFamily,
    wanted: number,
    args: AutoAssignArgs,
    pools: readonly PoolView[],
    labels: Readonly<Record<string, string>>,
    attribute: AllocationAttribute,
    taken: AssignedAddress[],
  ): Promise<AssignedAddress[]> {
    const { usable, skipped } = choosePools(pools, {
      family,
      hostLabels: labels,
      ...(args.pools?.length ? { requested: args.pools } : {}),
    });
    const host = args.host;
    const fail = (why: string) =>
      new NoAddressesError(explainNoAddresses(family, host, wanted, got.length, usable, skipped, why));
    const got: AssignedAddress[] = [];
    if (usable.length === 0) throw fail('');
    const inUsablePool = (c: Cidr) => poolContainingBlock(usable, c) !== undefined;
    const affine: BlockUse = { kind: 'affine', host };

    // 1. The host's own blocks: the one this client last took from first (no listing needed when it
    // has room, the common case), then the others lowest first.
    const hintKey = `${host} ${family}`;
    const hint = this.blockWithRoom.get(hintKey);
    if (hint && inUsablePool(hint)) await this.assignFromBlock(hint, wanted, attribute, affine, got, taken);
    if (got.length < wanted) {
      const mine = (await this.store.hostAffinities(host, family))
        .filter((c) => inUsablePool(c) && c.address !== hint?.address)
        .sort(byAddress);
      for (const cidr of mine) {
        if (got.length === wanted) break;
        await this.assignFromBlock(cidr, wanted - got.length, attribute, affine, got, taken);
      }
    }
    // 2. New blocks for the host.
    let config: IpamConfig | undefined;
    const cfg = async () => (config ??= await this.config());
    for (let round = 0; got.length < wanted && (await cfg()).autoAllocateBlocks; round++) {
      if (round >= this.retry.maxAttempts)
        throw new IpamConflictError(
          `gave up claiming blocks for host "${host}" after ${round} rounds: other hosts kept taking the addresses of each block claimed; try again`,
        );
      const cidr = await this.claimBlock(host, family, usable, (await cfg()).strictAffinity);
      if (!cidr) break;
      await this.assignFromBlock(cidr, wanted - got.length, attribute, affine, got, taken);
    }
    const last = got.at(-1);
    if (last) this.blockWithRoom.set(hintKey, last.cidr);
    if (got.length === wanted) return got;
    // 3. Borrow from other hosts' blocks.
    if ((await cfg()).strictAffinity)
      throw fail(
        "have no free block left, and strictAffinity forbids borrowing from other hosts' blocks (calicoctl ipam configure --strictaffinity=false allows it)",
      );
    const others = (await this.store.scanBlocks(family, (json) => !blockTextIsFull(json))).read
      .filter((b) => affineHost(b.value) !== host && inUsablePool(b.cidr) && freeCount(b.value) > 0)
      .sort((a, b) => byAddress(a.cidr, b.cidr));
    const lenders = others.filter((b) => !b.value.strictAffinity);
    for (const b of lenders) {
      if (got.length === wanted) break;
      await this.assignFromBlock(
        b.cidr,
        wanted - got.length,
        attribute,
        { kind: 'borrow', host },
        got,
        taken,
        b,
      );
    }
    if (got.length < wanted)
      throw fail(
        lenders.length < others.length
          ? 'have no free address left that this host may use (the blocks with room are strictAffinity blocks of other hosts)'
          : 'have no free address left',
      );
    return got;
  }

  /** Whether an assignment of this kind may take addresses from the block as it is now. */
  private mayUse(block: AllocationBlock, use: BlockUse): boolean {
    switch (use.kind) {
      case 'affine':
        return affineHost(block) === use.host;
      case 'borrow':
        return !block.strictAffinity || affineHost(block) === use.host;
      default: {
        const never: never = use;
        return never;
      }
    }
  }

  /**
   * Takes up to `count` addresses of one block: counts them on the handle, then writes the block
   * (retrying lost races against fresh reads), then gives back the handle count it did not use.
   */
  private async assignFromBlock(
    cidr: Cidr,
    count: number,
    attribute: AllocationAttribute,
    use: BlockUse,
    got: AssignedAddress[],
    taken: AssignedAddress[],
    alreadyRead?: StoredBlock,
  ): Promise<void> {
    const first = alreadyRead ?? (await this.store.getBlockWithRoom(cidr));
    if (!first || !this.mayUse(first.value, use) || freeCount(first.value) === 0) return;
    const handle = attribute.handle as string;
    const blockText = formatCidr(cidr);
    // Count on the handle only what this block can give, so a big request does not write the
    // handle twice per block just to take the surplus back.
    const want = Math.min(count, freeCount(first.value));
    await this.adjustHandleCount(handle, blockText, want);
    let ordinals: number[] = [];
    // The first attempt uses the read that found room (one round trip fewer, which matters on etcd);
    // a lost race reads again.
    let reuse: StoredBlock | undefined = first;
    try {
      ordinals = await retryOnRace(`assigning addresses in block ${blockText}`, this.retry, async () => {
        const stored = reuse ?? (await this.store.getBlock(cidr));
        reuse = undefined;
        if (!stored || !this.mayUse(stored.value, use)) return [];
        const { block, ordinals: picked } = allocateFromBlock(stored.value, want, attribute);
        if (picked.length === 0) return [];
        await this.store.updateBlock(cidr, block, stored.revision);
        return picked;
      });
    } finally {
      if (ordinals.length < want) await this.adjustHandleCount(handle, blockText, ordinals.length - want);
    }
    for (const ordinal of ordinals) {
      got.push({ cidr, ordinal });
      taken.push({ cidr, ordinal });
    }
  }

  private async adjustHandleCount(handle: string, block: string, delta: number): Promise<void> {
    if (delta === 0) return;
    let maybeNew = delta > 0;
    await retryOnRace(`updating handle "${handle}"`, this.retry, async () => {
      if (maybeNew) {
        // A new container's handle does not exist yet: create it without reading first.
        maybeNew = false;
        await this.store.writeHandle({ handle, blocks: { [block]: delta } }, undefined);
        return;
      }
      const stored = await this.store.getHandle(handle);
      if (!stored && delta < 0) return;
      const record: HandleRecord = stored?.value ?? { handle, blocks: {} };
      await this.store.writeHandle(adjustHandle(record, block, delta), stored?.revision);
    });
  }

  /**
   * Finds or claims a block for the host with room in it: first a block already affine to the host
   * that its index did not list (claimed a moment ago by a sibling process, or a claim interrupted
   * before its index entry was written), else the lowest free block of the first usable pool with one.
   * Returns undefined when every usable pool is fully carved into blocks.
   */
  private async claimBlock(
    host: string,
    family: IpFamily,
    usable: readonly PoolView[],
    strictAffinity: boolean,
  ): Promise<Cidr | undefined> {
    return retryOnRace(`claiming a block for host "${host}"`, this.retry, async () => {
      const affinity = JSON.stringify(hostAffinity(host));
      const { cidrs, read } = await this.store.scanBlocks(
        family,
        (json) => json.includes(affinity) && !blockTextIsFull(json),
      );
      const hostsOwn = read
        .filter((b) => affineHost(b.value) === host && freeCount(b.value) > 0)
        .filter((b) => poolContainingBlock(usable, b.cidr))
        .sort((a, b) => byAddress(a.cidr, b.cidr));
      const own = hostsOwn[0];
      if (own) {
        await this.store.putAffinity(host, own.cidr);
        return own.cidr;
      }
      const existing = new Set(cidrs.map((c) => c.address));
      for (const pool of usable) {
        const cidr = firstFreeBlock(pool, existing);
        if (!cidr) continue;
        await this.store.createBlock(cidr, newBlock(cidr, host, strictAffinity));
        await this.store.putAffinity(host, cidr);
        return cidr;
      }
      return undefined;
    });
  }

  /**
   * Assigns one chosen address (`ip` bare or with a prefix length, which is ignored) and returns it
   * with its block's prefix length. The address must lie in an IP pool (disabled pools included: an
   * explicit choice is honoured). Fails with AddressInUseError when someone holds it.
   */
  async assignIP(args: AssignIpArgs): Promise<string> {
    requireName('handle', args.handle);
    if (args.host !== undefined) requireName('host', args.host);
    const ip = parseAddress(args.ip);
    const pool = poolContainingIp(await this.pools(), ip);
    if (!pool)
      throw new IpamError(
        `IP address ${formatIp(ip)} is not in any IP pool; create a pool that contains it (calicoctl get ippool lists them)`,
      );
    const cidr = blockCidrFor(ip, pool.blockSize);
    const ordinal = ordinalOf(cidr, ip) as number;
    const attribute: AllocationAttribute = {
      handle: args.handle,
      attrs: args.host === undefined ? { ...args.attrs } : { ...args.attrs, node: args.host },
    };
    const blockText = formatCidr(cidr);
    await this.adjustHandleCount(args.handle, blockText, 1);
    let done = false;
    try {
      await retryOnRace(`assigning ${formatIp(ip)}`, this.retry, async () => {
        const stored = await this.store.getBlock(cidr);
        const base = stored?.value ?? newBlock(cidr, args.host, (await this.config()).strictAffinity);
        const outcome = assignOrdinal(base, ordinal, attribute);
        if (outcome.kind === 'taken') throw new AddressInUseError(formatIp(ip), outcome.holder.handle);
        if (stored) await this.store.updateBlock(cidr, outcome.block, stored.revision);
        else {
          await this.store.createBlock(cidr, outcome.block);
          if (args.host !== undefined) await this.store.putAffinity(args.host, cidr);
        }
      });
      done = true;
    } finally {
      if (!done) await this.adjustHandleCount(args.handle, blockText, -1);
    }
    return `${formatIp(ip)}/${cidr.prefixLength}`;
  }

  /**
   * Releases addresses (bare or with a prefix length). Not an error when some were not allocated:
   * they are listed in `notAllocated` and the rest are released. A target with a handle is released
   * only if that handle still holds it. An empty block that no host has is deleted, as in Calico.
   */
  async releaseIPs(targets: readonly ReleaseTarget[]): Promise<ReleaseResult> {
    const parsed = targets.map((t) => {
      const text = typeof t === 'string' ? t : t.ip;
      const handle = typeof t === 'string' ? undefined : t.handle;
      return { ip: parseAddress(text), handle };
    });
    const released: string[] = [];
    const notAllocated: string[] = [];
    if (parsed.length === 0) return { released, notAllocated };
    const pools = await this.pools();
    let allBlocks: StoredBlock[] | undefined;
    const groups = new Map<
      string,
      { cidr: Cidr; items: { ordinal: number; ip: string; handle?: string }[] }
    >();
    for (const p of parsed) {
      const pool = poolContainingIp(pools, p.ip);
      let cidr = pool ? blockCidrFor(p.ip, pool.blockSize) : undefined;
      if (!cidr) {
        // The pool is gone; its blocks may still hold addresses.
        allBlocks ??= await this.store.listBlocks();
        cidr = allBlocks.find((b) => ordinalOf(b.cidr, p.ip) !== undefined)?.cidr;
      }
      if (!cidr) {
        notAllocated.push(formatIp(p.ip));
        continue;
      }
      const key = formatCidr(cidr);
      const group = groups.get(key) ?? { cidr, items: [] };
      group.items.push({
        ordinal: ordinalOf(cidr, p.ip) as number,
        ip: formatIp(p.ip),
        ...(p.handle !== undefined ? { handle: p.handle } : {}),
      });
      groups.set(key, group);
    }
    for (const [blockText, { cidr, items }] of groups) {
      const outcome = await retryOnRace(`releasing addresses in block ${blockText}`, this.retry, async () => {
        const stored = await this.store.getBlock(cidr);
        const freed: string[] = [];
        const missed: string[] = [];
        const perHandle = new Map<string, number>();
        if (!stored) return { freed, missed: items.map((i) => i.ip), perHandle };
        let block = stored.value;
        for (const item of items) {
          const r = releaseOrdinals(block, [item.ordinal], item.handle);
          block = r.block;
          if (r.released.length) freed.push(item.ip);
          else missed.push(item.ip);
          for (const [h, n] of r.releasedPerHandle) perHandle.set(h, (perHandle.get(h) ?? 0) + n);
        }
        if (freed.length) await this.writeReleasedBlock(cidr, block, stored.revision);
        return { freed, missed, perHandle };
      });
      released.push(...outcome.freed);
      notAllocated.push(...outcome.missed);
      for (const [h, n] of outcome.perHandle) await this.adjustHandleCount(h, blockText, -n);
    }
    // Report in the order asked, whatever the grouping by block did to it.
    const order = new Map<string, number>();
    parsed.forEach((p, i) => order.set(formatIp(p.ip), order.get(formatIp(p.ip)) ?? i));
    const asAsked = (a: string, b: string) => (order.get(a) ?? 0) - (order.get(b) ?? 0);
    return { released: released.sort(asAsked), notAllocated: notAllocated.sort(asAsked) };
  }

  /** Writes a block after releases; deletes it instead when it is empty and no host has it. */
  private async writeReleasedBlock(cidr: Cidr, block: AllocationBlock, revision: number): Promise<void> {
    if (inUseCount(block) === 0 && block.affinity === null) await this.store.deleteBlock(cidr, revision);
    else await this.store.updateBlock(cidr, block, revision);
  }

  /** Releases every address of the handle and forgets the handle. Idempotent: an unknown handle releases nothing. */
  async releaseByHandle(handle: string): Promise<string[]> {
    requireName('handle', handle);
    const released: string[] = [];
    await retryOnRace(`releasing handle "${handle}"`, this.retry, async () => {
      const stored = await this.store.getHandle(handle);
      if (!stored) return;
      for (const blockText of Object.keys(stored.value.blocks)) {
        const cidr = parseCidr(blockText);
        if (!cidr) continue;
        released.push(...(await this.releaseHandleInBlock(cidr, handle)));
      }
      // Fails (and so retries) if an assignment for the same handle ran meanwhile.
      await this.store.writeHandle({ handle, blocks: {} }, stored.revision);
    });
    return released;
  }

  private async releaseHandleInBlock(cidr: Cidr, handle: string): Promise<string[]> {
    return retryOnRace(`releasing handle "${handle}" in block ${formatCidr(cidr)}`, this.retry, async () => {
      const stored = await this.store.getBlock(cidr);
      if (!stored) return [];
      const ordinals = ordinalsHeldBy(stored.value, (h) => h.handle === handle);
      if (!ordinals.length) return [];
      const r = releaseOrdinals(stored.value, ordinals, handle);
      await this.writeReleasedBlock(cidr, r.block, stored.revision);
      return r.released.map((o) => formatIp(addressAt(cidr, o)));
    });
  }

  /** The addresses a handle holds (bare), lowest first per block. */
  async ipsByHandle(handle: string): Promise<string[]> {
    requireName('handle', handle);
    const stored = await this.store.getHandle(handle);
    if (!stored) return [];
    const out: string[] = [];
    for (const blockText of Object.keys(stored.value.blocks)) {
      const cidr = parseCidr(blockText);
      const block = cidr && (await this.store.getBlock(cidr));
      if (!cidr || !block) continue;
      for (const o of ordinalsHeldBy(block.value, (h) => h.handle === handle))
        out.push(formatIp(addressAt(cidr, o)));
    }
    return out;
  }

  /** Who holds an address, or why nobody can. */
  async lookupIP(ipText: string): Promise<IpLookup> {
    const ip = parseAddress(ipText);
    const text = formatIp(ip);
    const pool = poolContainingIp(await this.pools(), ip);
    let stored: StoredBlock | undefined;
    if (pool) stored = await this.store.getBlock(blockCidrFor(ip, pool.blockSize));
    else stored = (await this.store.listBlocks(ip.family)).find((b) => ordinalOf(b.cidr, ip) !== undefined);
    const block = stored ? formatCidr(stored.cidr) : undefined;
    const holder = stored && holderOf(stored.value, ordinalOf(stored.cidr, ip) as number);
    if (stored && holder)
      return {
        state: 'assigned',
        ip: text,
        block: formatCidr(stored.cidr),
        blockHost: affineHost(stored.value),
        handle: holder.handle,
        attrs: holder.attrs,
      };
    if (!pool) return { state: 'not-in-pool', ip: text, block };
    return { state: 'free', ip: text, block, pool: pool.name };
  }

  /** Per pool: addresses in use and blocks (with their hosts). */
  async usage(): Promise<UsageReport> {
    const blocks = await this.store.listBlocks();
    return summarizeUsage(
      await this.pools(),
      blocks.map((b) => ({ cidr: b.cidr, block: b.value })),
    );
  }

  /** Every block, lowest first within each family. */
  async listBlocks(): Promise<{ cidr: string; block: AllocationBlock }[]> {
    return (await this.store.listBlocks())
      .sort((a, b) => a.cidr.family - b.cidr.family || byAddress(a.cidr, b.cidr))
      .map((b) => ({ cidr: formatCidr(b.cidr), block: b.value }));
  }

  /**
   * Looks for leaked addresses (held, but no workload endpoint or node uses them), blocks of hosts
   * that no longer exist, a stale or missing affinity index, and handle counts that disagree with
   * the blocks. Reads only. The records are read one after another, not as one snapshot, so an
   * assignment running meanwhile can show up as a passing handle-count mismatch; run it again.
   */
  async check(): Promise<IpamCheckReport> {
    const [blocks, affinityIndex, handles, pools, nodes, weps] = await Promise.all([
      this.store.listBlocks(),
      this.store.allAffinities(),
      this.store.listHandles(),
      this.pools(),
      this.resources.list('Node'),
      this.resources.list('WorkloadEndpoint'),
    ]);
    const addressesInUse = new Set<string>();
    const addIp = (text: string | undefined) => {
      if (!text) return;
      const ip = parseIp(text.includes('/') ? text.slice(0, text.indexOf('/')) : text);
      if (ip) addressesInUse.add(formatIp(ip));
    };
    for (const w of weps) for (const n of w.spec.ipNetworks ?? []) addIp(n);
    for (const n of nodes) {
      addIp(n.spec.bgp?.ipv4IPIPTunnelAddr);
      addIp(n.spec.ipv4VXLANTunnelAddr);
    }
    return findProblems({
      pools,
      blocks: blocks.map((b) => ({ cidr: b.cidr, block: b.value })),
      affinityIndex,
      handles: handles.map((h) => h.value),
      nodes: new Set(nodes.map((n) => n.metadata.name)),
      addressesInUse,
      containerIds: new Set(weps.flatMap((w) => (w.spec.containerID ? [w.spec.containerID] : []))),
    });
  }

  /**
   * Forgets a host (node removal): releases every address attributed to it, deletes its empty
   * blocks, drops its affinity from blocks that still hold other hosts' borrowed addresses, and
   * removes its affinity index. Safe to repeat.
   */
  async releaseHost(host: string): Promise<HostRelease> {
    requireName('host', host);
    const releasedAddresses: string[] = [];
    const deletedBlocks: string[] = [];
    const unaffinedBlocks: string[] = [];
    for (const listed of await this.store.listBlocks()) {
      const blockText = formatCidr(listed.cidr);
      const outcome = await retryOnRace(
        `releasing host "${host}" in block ${blockText}`,
        this.retry,
        async () => {
          const stored = await this.store.getBlock(listed.cidr);
          if (!stored) return undefined;
          const ordinals = ordinalsHeldBy(stored.value, (h) => h.attrs.node === host);
          const mine = affineHost(stored.value) === host;
          if (!ordinals.length && !mine) return undefined;
          const r = releaseOrdinals(stored.value, ordinals);
          const block = mine ? withAffinity(r.block, undefined) : r.block;
          const deleted = inUseCount(block) === 0 && (mine || block.affinity === null);
          if (deleted) await this.store.deleteBlock(listed.cidr, stored.revision);
          else await this.store.updateBlock(listed.cidr, block, stored.revision);
          return { r, mine, deleted };
        },
      );
      if (!outcome) continue;
      releasedAddresses.push(...outcome.r.released.map((o) => formatIp(addressAt(listed.cidr, o))));
      if (outcome.deleted) deletedBlocks.push(blockText);
      else if (outcome.mine) unaffinedBlocks.push(blockText);
      for (const [h, n] of outcome.r.releasedPerHandle) await this.adjustHandleCount(h, blockText, -n);
    }
    for (const family of [4, 6] as const)
      for (const cidr of await this.store.hostAffinities(host, family))
        await this.store.deleteAffinity(host, cidr);
    return { releasedAddresses, deletedBlocks, unaffinedBlocks };
  }

  /**
   * Gives up the host's blocks that hold no addresses ("on request": an empty block otherwise stays
   * with its host, ready for the next container). Returns the deleted blocks.
   */
  async releaseEmptyBlocks(host: string): Promise<string[]> {
    requireName('host', host);
    const deleted: string[] = [];
    for (const family of [4, 6] as const) {
      for (const cidr of await this.store.hostAffinities(host, family)) {
        const gone = await retryOnRace(`releasing empty block ${formatCidr(cidr)}`, this.retry, async () => {
          const stored = await this.store.getBlock(cidr);
          if (!stored) return true;
          if (affineHost(stored.value) !== host) return true;
          if (inUseCount(stored.value) > 0) return false;
          await this.store.deleteBlock(cidr, stored.revision);
          return true;
        });
        if (gone) {
          await this.store.deleteAffinity(host, cidr);
          deleted.push(formatCidr(cidr));
        }
      }
    }
    return deleted;
  }

  async getConfig(): Promise<IpamConfig> {
    return this.config();
  }

  /** Changes the cluster IPAM settings; blocks claimed from now on carry the new strictAffinity. */
  async setConfig(change: Partial<IpamConfig>): Promise<IpamConfig> {
    return retryOnRace('updating the IPAM config', this.retry, async () => {
      const stored = await this.store.getConfig();
      const next = { ...(stored?.value ?? DEFAULT_IPAM_CONFIG), ...change };
      await this.store.writeConfig(next, stored?.revision);
      return next;
    });
  }

  /**
   * Called before an IPPool is deleted. Refuses (PoolInUseError) while any block of the pool holds an
   * address; otherwise deletes the pool's empty blocks and their affinity index so a later pool over
   * the same range starts clean. The pool is disabled while this looks, so no assignment can slip in
   * between the look and the delete; when it refuses, the pool's `disabled` setting is put back.
   */
  async prepareToDeletePool(poolName: string): Promise<void> {
    const pool = await this.resources.get('IPPool', poolName);
    if (!pool) return;
    const view = poolViews([pool])[0];
    if (!view) return;
    const wasEnabled = pool.spec.disabled !== true;
    if (wasEnabled) await this.resources.update({ ...pool, spec: { ...pool.spec, disabled: true } });
    try {
      const blocks = (await this.store.listBlocks(view.cidr.family)).filter(
        (b) => poolContainingBlock([view], b.cidr) !== undefined,
      );
      const busy = blocks.filter((b) => inUseCount(b.value) > 0);
      if (busy.length) {
        const n = busy.reduce((s, b) => s + inUseCount(b.value), 0);
        const list = busy
          .slice(0, 5)
          .map(
            (b) =>
              `${formatCidr(b.cidr)} (${inUseCount(b.value)} in use${affineHost(b.value) ? `, host ${affineHost(b.value)}` : ''})`,
          )
          .join(', ');
        throw new PoolInUseError(
          `cannot delete IPPool(${poolName}): ${n} address(es) are still allocated from it, in block(s) ${list}${busy.length > 5 ? ', ...' : ''}. Disable it first (spec.disabled: true) so no new addresses come from it, release or move the workloads using its addresses (calicoctl ipam show --show-blocks, calicoctl ipam release), then delete it`,
        );
      }
      for (const b of blocks) {
        try {
          await this.store.deleteBlock(b.cidr, b.revision);
        } catch (e) {
          if (!isWriteRace(e)) throw e;
          throw new PoolInUseError(
            `cannot delete IPPool(${poolName}): block ${formatCidr(b.cidr)} changed while the pool was being emptied; try again`,
          );
        }
        const host = affineHost(b.value);
        if (host !== undefined) await this.store.deleteAffinity(host, b.cidr);
      }
    } catch (e) {
      if (wasEnabled) {
        const now = await this.resources.get('IPPool', poolName);
        if (now) await this.resources.update({ ...now, spec: { ...now.spec, disabled: pool.spec.disabled } });
      }
      throw e;
    }
  }
}
