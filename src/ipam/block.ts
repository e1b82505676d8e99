/**
 * An allocation block: a small CIDR (a /26 by default) carved out of an IP pool, the unit that a host
 * claims and that BGP advertises as one route. This module is the block's pure model: its math
 * (which address is ordinal 17 of 10.0.0.0/26) and its allocation bookkeeping. It never touches the
 * store; the IPAM client reads a block, calls these functions, and writes the result back with a
 * compare-and-swap on the block's revision.
 *
 * The shape follows Calico's AllocationBlock:
 * - `allocations[i]` is the index into `attributes` of whoever holds ordinal `i`, or null when free;
 * - `unallocated` lists the free ordinals in the order they will be handed out. A new block lists
 *   them lowest first; a released ordinal goes to the back, so an address just given up is the
 *   last to be reused (a stale route or ARP entry for it has time to age out);
 * - `attributes` are shared by every ordinal with the same handle and attributes, so a handle with
 *   many addresses in one block costs one entry.
 *
 * Every address of the block is usable, its network and broadcast addresses included, as in Calico:
 * a block is not a subnet (workloads get /32 and /128 routes), so nothing on the wire treats
 * 10.0.0.0 or 10.0.0.63 of 10.0.0.0/26 as special.
 *
 * The functions return new blocks and never change their argument, so a retry after a lost
 * compare-and-swap starts again from what was read.
 */
import {
  cidrContainsIp,
  familyBits,
  formatCidr,
  formatIp,
  normalizeCidr,
  type Cidr,
  type IpAddress,
} from '../net/ip.js';

/** Who holds an address: the handle (one per container or use) and free-form attributes. */
export interface AllocationAttribute {
  readonly handle: string | null;
  readonly attrs: Readonly<Record<string, string>>;
}

export interface AllocationBlock {
  /** Canonical `network/len`. */
  readonly cidr: string;
  /** `host:<name>` when a host has claimed the block, null when no host has. */
  readonly affinity: string | null;
  /** No other host may borrow addresses from this block. Copied from the IPAM config at claim time. */
  readonly strictAffinity: boolean;
  readonly allocations: readonly (number | null)[];
  readonly unallocated: readonly number[];
  readonly attributes: readonly AllocationAttribute[];
}

/** The most addresses a block may hold: a /20 of IPv4 (the largest block size an IPPool accepts). */
export const MAX_BLOCK_ADDRESSES = 4096;

export function blockAddressCount(cidr: Cidr): number {
  const hostBits = familyBits(cidr.family) - cidr.prefixLength;
  if (hostBits > 12)
    throw new RangeError(
      `block ${formatCidr(cidr)} is too large: a block holds at most ${MAX_BLOCK_ADDRESSES} addresses (a /${familyBits(cidr.family) - 12})`,
    );
  return 2 ** hostBits;
}

/** The block of size `/blockSize` that contains `ip` (its network address with host bits cleared). */
export function blockCidrFor(ip: IpAddress, blockSize: number): Cidr {
  return normalizeCidr({ family: ip.family, address: ip.value, prefixLength: blockSize });
}

/** The ordinal (0-based offset) of `ip` in the block, or undefined if the block does not contain it. */
export function ordinalOf(cidr: Cidr, ip: IpAddress): number | undefined {
  if (!cidrContainsIp(cidr, ip)) return undefined;
  return Number(ip.value - normalizeCidr(cidr).address);
}

export function addressAt(cidr: Cidr, ordinal: number): IpAddress {
  return { family: cidr.family, value: normalizeCidr(cidr).address + BigInt(ordinal) };
}

/** `10.0.0.5/26`: an address with its block's prefix length, as Calico's IPAM returns addresses. */
export function addressWithBlockPrefix(cidr: Cidr, ordinal: number): string {
  return `${formatIp(addressAt(cidr, ordinal))}/${cidr.prefixLength}`;
}

export function hostAffinity(host: string): string {
  return `host:${host}`;
}

/** The host a block is affine to, or undefined. */
export function affineHost(block: AllocationBlock): string | undefined {
  return block.affinity?.startsWith('host:') ? block.affinity.slice('host:'.length) : undefined;
}

/** A fresh block: every ordinal free, handed out lowest first. */
export function newBlock(cidr: Cidr, host: string | undefined, strictAffinity: boolean): AllocationBlock {
  const size = blockAddressCount(cidr);
  return {
    cidr: formatCidr(normalizeCidr(cidr)),
    affinity: host === undefined ? null : hostAffinity(host),
    strictAffinity,
    allocations: Array<number | null>(size).fill(null),
    unallocated: Array.from({ length: size }, (_, i) => i),
    attributes: [],
  };
}

export function freeCount(block: AllocationBlock): number {
  return block.unallocated.length;
}

export function inUseCount(block: AllocationBlock): number {
  return block.allocations.length - block.unallocated.length;
}

function sameAttribute(a: AllocationAttribute, b: AllocationAttribute): boolean {
  if (a.handle !== b.handle) return false;
  const ak = Object.keys(a.attrs);
  if (ak.length !== Object.keys(b.attrs).length) return false;
  return ak.every((k) => b.attrs[k] === a.attrs[k]);
}

/** The index of an equal attribute, appending one when there is none. */
function attributeIndex(
  attributes: readonly AllocationAttribute[],
  attribute: AllocationAttribute,
): { attributes: readonly AllocationAttribute[]; index: number } {
  const found = attributes.findIndex((a) => sameAttribute(a, attribute));
  if (found >= 0) return { attributes, index: found };
  return { attributes: [...attributes, attribute], index: attributes.length };
}

/**
 * Takes up to `count` free ordinals, in `unallocated` order, for `attribute`. Returns fewer (maybe
 * none) when the block has fewer free.
 */
export function allocateFromBlock(
  block: AllocationBlock,
  count: number,
  attribute: AllocationAttribute,
): { block: AllocationBlock; ordinals: number[] } {
  const take = Math.max(0, Math.min(count, block.unallocated.length));
  if (take === 0) return { block, ordinals: [] };
  const ordinals = block.unallocated.slice(0, take);
  const { attributes, index } = attributeIndex(block.attributes, attribute);
  const allocations = block.allocations.slice();
  for (const o of ordinals) allocations[o] = index;
  return {
    block: { ...block, allocations, unallocated: block.unallocated.slice(take), attributes },
    ordinals,
  };
}

export type AssignOrdinalOutcome =
  | { readonly kind: 'assigned'; readonly block: AllocationBlock }
  | { readonly kind: 'taken'; readonly holder: AllocationAttribute };

/** Takes one chosen ordinal; reports who holds it when it is not free. */
export function assignOrdinal(
  block: AllocationBlock,
  ordinal: number,
  attribute: AllocationAttribute,
): AssignOrdinalOutcome {
  if (ordinal < 0 || ordinal >= block.allocations.length)
    throw new RangeError(`ordinal ${ordinal} is outside block ${block.cidr}`);
  const current = block.allocations[ordinal];
  if (current !== null && current !== undefined)
    return { kind: 'taken', holder: block.attributes[current] ?? { handle: null, attrs: {} } };
  const { attributes, index } = attributeIndex(block.attributes, attribute);
  const allocations = block.allocations.slice();
  allocations[ordinal] = index;
  return {
    kind: 'assigned',
    block: {
      ...block,
      allocations,
      unallocated: block.unallocated.filter((o) => o !== ordinal),
      attributes,
    },
  };
}

/** Who holds an ordinal, or undefined when it is free. */
export function holderOf(block: AllocationBlock, ordinal: number): AllocationAttribute | undefined {
  const index = block.allocations[ordinal];
  if (index === null || index === undefined) return undefined;
  return block.attributes[index] ?? { handle: null, attrs: {} };
}

export interface BlockRelease {
  readonly block: AllocationBlock;
  /** Ordinals that were held and are now free, in the order asked for. */
  readonly released: number[];
  /** Ordinals that were not held (or were held by another handle than the one required). */
  readonly notAllocated: number[];
  /** How many addresses each handle gave up, for the handle records. */
  readonly releasedPerHandle: ReadonlyMap<string, number>;
}

/**
 * Frees the given ordinals. With `onlyHandle`, an ordinal held by another handle is left alone and
 * reported as not allocated (so a stale release cannot free an address that was since given to
 * someone else). Freed ordinals join the back of `unallocated`; attributes nobody uses any more are
 * dropped and the indexes renumbered.
 */
export function releaseOrdinals(
  block: AllocationBlock,
  ordinals: readonly number[],
  onlyHandle?: string,
): BlockRelease {
  const allocations = block.allocations.slice();
  const released: number[] = [];
  const notAllocated: number[] = [];
  const perHandle = new Map<string, number>();
  for (const o of ordinals) {
    const index = allocations[o];
    const holder = index === null || index === undefined ? undefined : block.attributes[index];
    if (
      index === null ||
      index === undefined ||
      (onlyHandle !== undefined && holder?.handle !== onlyHandle)
    ) {
      notAllocated.push(o);
      continue;
    }
    allocations[o] = null;
    released.push(o);
    if (holder?.handle) perHandle.set(holder.handle, (perHandle.get(holder.handle) ?? 0) + 1);
  }
  if (released.length === 0) return { block, released, notAllocated, releasedPerHandle: perHandle };
  return {
    block: compactAttributes({ ...block, allocations, unallocated: [...block.unallocated, ...released] }),
    released,
    notAllocated,
    releasedPerHandle: perHandle,
  };
}

/** Ordinals whose holder passes `pick`, lowest first. */
export function ordinalsHeldBy(
  block: AllocationBlock,
  pick: (holder: AllocationAttribute) => boolean,
): number[] {
  const out: number[] = [];
  block.allocations.forEach((index, ordinal) => {
    if (index === null || index === undefined) return;
    if (pick(block.attributes[index] ?? { handle: null, attrs: {} })) out.push(ordinal);
  });
  return out;
}

/** How many addresses each handle holds in the block. */
export function countsByHandle(block: AllocationBlock): Map<string, number> {
  const counts = new Map<string, number>();
  for (const index of block.allocations) {
    if (index === null || index === undefined) continue;
    const handle = block.attributes[index]?.handle;
    if (handle) counts.set(handle, (counts.get(handle) ?? 0) + 1);
  }
  return counts;
}

function compactAttributes(block: AllocationBlock): AllocationBlock {
  const used = new Set<number>();
  for (const index of block.allocations) if (index !== null) used.add(index);
  if (used.size === block.attributes.length) return block;
  const renumber = new Map<number, number>();
  const attributes: AllocationAttribute[] = [];
  block.attributes.forEach((a, i) => {
    if (!used.has(i)) return;
    renumber.set(i, attributes.length);
    attributes.push(a);
  });
  return {
    ...block,
    attributes,
    allocations: block.allocations.map((i) => (i === null ? null : (renumber.get(i) ?? null))),
  };
}

export function withAffinity(block: AllocationBlock, host: string | undefined): AllocationBlock {
  return { ...block, affinity: host === undefined ? null : hostAffinity(host) };
}

/**
 * Checks a block read from the store and returns it typed, or a message naming what is wrong, so a
 * hand-edited or corrupt record is reported with its key rather than crashing an assignment.
 */
export function decodeBlock(json: string): AllocationBlock | string {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    return `not JSON (${(e as Error).message})`;
  }
  if (typeof raw !== 'object' || raw === null) return 'not an object';
  const b = raw as Record<string, unknown>;
  if (typeof b.cidr !== 'string') return 'cidr is missing';
  if (b.affinity !== null && typeof b.affinity !== 'string') return 'affinity must be a string or null';
  if (!Array.isArray(b.allocations) || !Array.isArray(b.unallocated) || !Array.isArray(b.attributes))
    return 'allocations, unallocated and attributes must be arrays';
  return {
    cidr: b.cidr,
    affinity: (b.affinity as string | null) ?? null,
    strictAffinity: b.strictAffinity === true,
    allocations: b.allocations as (number | null)[],
    unallocated: b.unallocated as number[],
    attributes: b.attributes as AllocationAttribute[],
  };
}

/**
 * True when the stored text of a block says it has no free address, found without parsing it:
 * scans for a host's free addresses read many full blocks, and parsing each costs far more than
 * this search. It can only be true of a full block: inside a JSON string a quote is escaped, so
 * the unescaped `"unallocated":[]` is the field itself. Text written some other way (spaces after
 * the colon) just reads as "maybe free" and gets parsed.
 */
export function blockTextIsFull(json: string): boolean {
  return json.includes('"unallocated":[]');
}

export function encodeBlock(block: AllocationBlock): string {
  return JSON.stringify(block);
}
