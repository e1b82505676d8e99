/**
 * The FIB driver: BGP-learned best paths into the kernel's main table, with ECMP.
 *
 * Same shape as Felix's route driver (desired state in, diff against actual, minimal apply): the
 * speaker sets the desired next hops per prefix from each RIB flush, and `sync()` writes only the
 * prefixes that differ from what it believes the kernel has, as one `ip -batch` per family. A full
 * sync (at start, periodically, and after any failed batch) reads our routes back from the kernel
 * instead of trusting the cache, so a route someone deleted or changed is put back, and a route of
 * ours nobody wants any more (left by a previous run) is removed.
 *
 * Our routes carry protocol number 81 (`ip route ... proto 81`), ours alone: Felix's workload and
 * blackhole routes are proto 80, BIRD's are proto bird (12), so we list and delete exactly ours.
 * An ECMP route is `route replace P proto 81 nexthop via A nexthop via B`; the kernel picks a
 * next hop per flow.
 */
import type { CommandRunner } from '../../kernel/runner.js';
import { runChecked } from '../../kernel/runner.js';
import { canonicalCidr, canonicalIp } from '../../net/ip.js';

/** `ip route ... proto 81`: routes our BGP speaker installed ("calico-bgp"). */
export const BGP_ROUTE_PROTO = 81;

export type FibFamily = 4 | 6;

/** One kernel route: a prefix and its next hops (sorted, so equal sets compare equal). */
export interface FibRoute {
  readonly prefix: string;
  readonly nextHops: readonly string[];
}

export interface FibSyncReport {
  /** Routes added, replaced or deleted. */
  readonly changed: number;
  readonly errors: readonly string[];
}

export function familyOfPrefix(prefix: string): FibFamily {
  return prefix.includes(':') ? 6 : 4;
}

/** `10.0.0.1` → `10.0.0.1/32`; other prefixes canonical. */
function canonicalPrefix(dst: string): string {
  const withLength = dst.includes('/') ? dst : `${dst}/${dst.includes(':') ? 128 : 32}`;
  return canonicalCidr(withLength) ?? withLength;
}

function sameHops(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((h, i) => h === b[i]);
}

/** The `ip -batch` line that installs `route` (replacing whatever the kernel has for the prefix). */
export function routeReplaceLine(route: FibRoute, proto = BGP_ROUTE_PROTO): string {
  const [only, ...more] = route.nextHops;
  if (only === undefined) throw new Error(`FIB: route ${route.prefix} has no next hop to install`);
  if (more.length === 0) return `route replace ${route.prefix} via ${only} proto ${proto}`;
  return `route replace ${route.prefix} proto ${proto} ${route.nextHops.map((h) => `nexthop via ${h}`).join(' ')}`;
}

export function routeDeleteLine(prefix: string, proto = BGP_ROUTE_PROTO): string {
  return `route del ${prefix} proto ${proto}`;
}

/** Lines that turn `actual` into `desired` for the prefixes in `only` (all prefixes when omitted). */
export function planFib(
  desired: ReadonlyMap<string, readonly string[]>,
  actual: ReadonlyMap<string, readonly string[]>,
  only?: Iterable<string>,
  proto = BGP_ROUTE_PROTO,
): string[] {
  const prefixes = only ? new Set(only) : new Set([...desired.keys(), ...actual.keys()]);
  const lines: string[] = [];
  for (const prefix of prefixes) {
    const want = desired.get(prefix);
    const have = actual.get(prefix);
    if (want === undefined || want.length === 0) {
      if (have !== undefined) lines.push(routeDeleteLine(prefix, proto));
    } else if (have === undefined || !sameHops(want, have)) {
      lines.push(routeReplaceLine({ prefix, nextHops: want }, proto));
    }
  }
  return lines;
}

interface KernelRouteJson {
  dst?: string;
  gateway?: string;
  nexthops?: { gateway?: string }[];
}

/** Our routes from `ip -j route show proto 81`: prefix → sorted next hops. */
export function parseKernelRoutes(json: string): Map<string, string[]> {
  const list = JSON.parse(json.trim() || '[]') as KernelRouteJson[];
  const out = new Map<string, string[]>();
  for (const r of list) {
    if (r.dst === undefined || r.dst === 'default') continue;
    const gateways = r.nexthops
      ? r.nexthops.map((n) => n.gateway).filter((g): g is string => g !== undefined)
      : r.gateway !== undefined
        ? [r.gateway]
        : [];
    out.set(canonicalPrefix(r.dst), normalizeNextHops(gateways));
  }
  return out;
}

/** Canonical, de-duplicated, sorted next-hop addresses. */
export function normalizeNextHops(hops: Iterable<string>): string[] {
  return [...new Set([...hops].map((h) => canonicalIp(h) ?? h))].sort();
}

export interface KernelFibOptions {
  readonly proto?: number;
  /** Program IPv6 routes too (default true). */
  readonly ipv6?: boolean;
}

export class KernelFib {
  /** Per family, so a sync never scans the other family's routes. */
  private readonly desired = new Map<FibFamily, Map<string, readonly string[]>>([
    [4, new Map()],
    [6, new Map()],
  ]);
  /** What we believe the kernel holds; undefined per family until read (or after a failure). */
  private readonly actual = new Map<FibFamily, Map<string, readonly string[]>>();
  private readonly dirty = new Set<string>();
  private readonly proto: number;
  private readonly families: readonly FibFamily[];

  constructor(
    private readonly runner: CommandRunner,
    options: KernelFibOptions = {},
  ) {
    this.proto = options.proto ?? BGP_ROUTE_PROTO;
    this.families = options.ipv6 === false ? [4] : [4, 6];
  }

  /** Desired next hops for a prefix; none (or an empty list) means no route of ours. */
  set(prefix: string, nextHops: Iterable<string>): void {
    const key = canonicalPrefix(prefix);
    const hops = normalizeNextHops(nextHops);
    const family = this.desiredFor(familyOfPrefix(key));
    if (hops.length === 0) family.delete(key);
    else family.set(key, hops);
    this.dirty.add(key);
  }

  delete(prefix: string): void {
    const key = canonicalPrefix(prefix);
    this.desiredFor(familyOfPrefix(key)).delete(key);
    this.dirty.add(key);
  }

  /** The routes we want, for status and tests. */
  routes(): FibRoute[] {
    const out: FibRoute[] = [];
    for (const family of this.desired.values()) {
      for (const [prefix, nextHops] of family) out.push({ prefix, nextHops });
    }
    return out;
  }

  get size(): number {
    let n = 0;
    for (const family of this.desired.values()) n += family.size;
    return n;
  }

  /** Our routes as the kernel has them now (a fresh read). */
  async readKernel(): Promise<Map<string, readonly string[]>> {
    const all = new Map<string, readonly string[]>();
    for (const family of this.families) {
      for (const [k, v] of await this.readFamily(family)) all.set(k, v);
    }
    return all;
  }

  /**
   * Writes the difference. `full` reads the kernel first and repairs every prefix; otherwise only
   * prefixes changed since the last sync are compared, against the cached kernel state.
   */
  async sync(full = false): Promise<FibSyncReport> {
    let changed = 0;
    const errors: string[] = [];
    const dirty = [...this.dirty];
    this.dirty.clear();
    for (const family of this.families) {
      try {
        let actual = full ? undefined : this.actual.get(family);
        let only: string[] | undefined = dirty.filter((p) => familyOfPrefix(p) === family);
        if (actual === undefined) {
          actual = await this.readFamily(family);
          only = undefined;
        }
        const desired = this.desiredFor(family);
        const lines = planFib(desired, actual, only, this.proto);
        for (const p of only ?? new Set([...desired.keys(), ...actual.keys()])) {
          const want = desired.get(p);
          if (want === undefined) actual.delete(p);
          else actual.set(p, want);
        }
        this.actual.set(family, actual);
        if (lines.length === 0) continue;
        changed += lines.length;
        // -force: one bad route (an unreachable gateway) must not stop the rest; a full sync retries.
        const r = await this.runner.run('ip', [`-${family}`, '-force', '-batch', '-'], {
          input: lines.join('\n') + '\n',
        });
        if (r.code !== 0) {
          errors.push(r.stderr.trim() || `ip -batch exited ${r.code}`);
          this.actual.delete(family);
        }
      } catch (e) {
        errors.push((e as Error).message);
        this.actual.delete(family);
      }
    }
    return { changed, errors };
  }

  /** Removes every route of ours from the kernel (a clean stop without graceful restart). */
  async removeAll(): Promise<FibSyncReport> {
    for (const family of this.desired.values()) family.clear();
    this.dirty.clear();
    this.actual.clear();
    return this.sync(true);
  }

  private desiredFor(family: FibFamily): Map<string, readonly string[]> {
    return this.desired.get(family) as Map<string, readonly string[]>;
  }

  private async readFamily(family: FibFamily): Promise<Map<string, readonly string[]>> {
    const json = await runChecked(this.runner, 'ip', [
      '-j',
      `-${family}`,
      'route',
      'show',
      'proto',
      String(this.proto),
    ]);
    return parseKernelRoutes(json);
  }
}
