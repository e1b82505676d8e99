/**
 * Which IP pools an assignment may use, and where a host's next block comes from. Pure: the IPPool
 * resources and the host's labels are passed in.
 *
 * A pool is skipped for a host when it is disabled, when its nodeSelector does not select the host's
 * labels (the Node resource's labels; a host without a Node resource has none, so only `all()` and
 * empty selectors pick it), or when the caller named other pools. The reasons are kept so that a
 * "no addresses" error can say why each pool was passed over.
 */
import type { IPPool } from '../api/types.js';
import { DEFAULT_IPV4_BLOCK_SIZE, DEFAULT_IPV6_BLOCK_SIZE } from '../api/defaults.js';
import {
  cidrContainsCidr,
  cidrContainsIp,
  cidrSize,
  formatCidr,
  normalizeCidr,
  parseCidr,
} from '../net/ip.js';
import type { Cidr, IpAddress, IpFamily } from '../net/ip.js';
import { parseSelector } from '../selector/index.js';

export interface PoolView {
  readonly name: string;
  readonly cidr: Cidr;
  readonly blockSize: number;
  readonly disabled: boolean;
  readonly nodeSelector: string | undefined;
}

/** The pools as IPAM sees them; a pool whose CIDR does not parse is left out (validation forbids it). */
export function poolViews(pools: readonly IPPool[]): PoolView[] {
  const out: PoolView[] = [];
  for (const p of pools) {
    const cidr = parseCidr(p.spec.cidr);
    if (!cidr) continue;
    out.push({
      name: p.metadata.name,
      cidr: normalizeCidr(cidr),
      blockSize: p.spec.blockSize ?? (cidr.family === 4 ? DEFAULT_IPV4_BLOCK_SIZE : DEFAULT_IPV6_BLOCK_SIZE),
      disabled: p.spec.disabled === true,
      nodeSelector: p.spec.nodeSelector,
    });
  }
  return out;
}

export interface SkippedPool {
  readonly pool: PoolView;
  readonly reason: string;
}

export interface PoolChoice {
  readonly usable: PoolView[];
  readonly skipped: SkippedPool[];
}

export interface PoolRequest {
  readonly family: IpFamily;
  readonly hostLabels: Readonly<Record<string, string>>;
  /** Pool names or CIDRs; when given, only these pools are used, in this order. */
  readonly requested?: readonly string[];
}

/** True when any pool's selector needs the host's labels to be decided. */
export function selectorsNeedLabels(pools: readonly PoolView[]): boolean {
  return pools.some((p) => !selectsEveryHost(p.nodeSelector));
}

function selectsEveryHost(selector: string | undefined): boolean {
  const s = selector?.trim() ?? '';
  return s === '' || s === 'all()';
}

function poolSelectsHost(pool: PoolView, labels: Readonly<Record<string, string>>): boolean {
  if (selectsEveryHost(pool.nodeSelector)) return true;
  return parseSelector(pool.nodeSelector ?? '').evaluate(labels);
}

function matchesRequest(pool: PoolView, request: string): boolean {
  if (pool.name === request) return true;
  const c = parseCidr(request);
  return c !== undefined && formatCidr(normalizeCidr(c)) === formatCidr(pool.cidr);
}

export function choosePools(pools: readonly PoolView[], req: PoolRequest): PoolChoice {
  const ofFamily = pools.filter((p) => p.cidr.family === req.family);
  const skipped: SkippedPool[] = [];
  let candidates: PoolView[];
  if (req.requested && req.requested.length > 0) {
    candidates = [];
    for (const r of req.requested) {
      const p = ofFamily.find((pool) => matchesRequest(pool, r));
      if (p && !candidates.includes(p)) candidates.push(p);
    }
    for (const p of ofFamily)
      if (!candidates.includes(p)) skipped.push({ pool: p, reason: 'not among the requested pools' });
  } else {
    candidates = [...ofFamily].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  const usable: PoolView[] = [];
  for (const p of candidates) {
    if (p.disabled) skipped.push({ pool: p, reason: 'disabled' });
    else if (!poolSelectsHost(p, req.hostLabels))
      skipped.push({ pool: p, reason: `nodeSelector "${p.nodeSelector ?? ''}" does not select the host` });
    else usable.push(p);
  }
  return { usable, skipped };
}

/** Requested pool names/CIDRs that name no pool of either family. */
export function unknownPoolRequests(pools: readonly PoolView[], requested: readonly string[]): string[] {
  return requested.filter((r) => !pools.some((p) => matchesRequest(p, r)));
}

export function poolContainingIp(pools: readonly PoolView[], ip: IpAddress): PoolView | undefined {
  return pools.find((p) => cidrContainsIp(p.cidr, ip));
}

export function poolContainingBlock(pools: readonly PoolView[], block: Cidr): PoolView | undefined {
  return pools.find((p) => cidrContainsCidr(p.cidr, block));
}

export function blockCountOfPool(pool: PoolView): bigint {
  return cidrSize(pool.cidr) / cidrSize({ ...pool.cidr, prefixLength: pool.blockSize });
}

/**
 * The lowest block of the pool that does not exist yet, or undefined when every block exists.
 * Lowest first (not random) so that two processes claiming for the same host at the same moment
 * race for the same block: one creates it, the other finds it already affine to its host and uses
 * it, instead of the host ending up with two half-empty blocks. Looks at no more than
 * `existing.size + 1` candidates, so a huge IPv6 pool costs no more than a small one.
 */
export function firstFreeBlock(pool: PoolView, existing: ReadonlySet<bigint>): Cidr | undefined {
  const step = cidrSize({ ...pool.cidr, prefixLength: pool.blockSize });
  const total = blockCountOfPool(pool);
  const limit = BigInt(existing.size) + 1n < total ? BigInt(existing.size) + 1n : total;
  for (let i = 0n; i < limit; i++) {
    const address = pool.cidr.address + i * step;
    if (!existing.has(address)) return { family: pool.cidr.family, address, prefixLength: pool.blockSize };
  }
  return undefined;
}
