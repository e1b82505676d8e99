/**
 * The route driver: each local workload gets a host route through its `cali*` interface, each IPAM
 * block this host owns gets a blackhole route (so traffic to unassigned addresses in our blocks stops
 * here instead of looping via the default route). Our routes carry our own protocol number, so we
 * can list exactly ours and leave everyone else's alone; one `ip -batch` per family per apply.
 *
 * With IPv6 off the drivers write nothing IPv6, whatever they are handed (the calculation already
 * leaves IPv6 out; this is the last line). One IPv6 leftover is not left alone: our own IPv6 routes
 * (proto 80) from a run with IPv6 on. Calico with IPv6 off ignores IPv6 entirely, leftovers
 * included, but such a route forwards a workload's IPv6 traffic while no ip6tables rule of ours is
 * kept up to date for it, so the route driver still lists our IPv6 routes and deletes them. Other
 * IPv6 leftovers stay: the interfaces' IPv6 sysctls forward nothing without a route (and go with the
 * veth), and our ip6tables chains and IPv6 sets can only restrict traffic.
 */
import type { CommandRunner } from '../../kernel/runner.js';
import { runChecked } from '../../kernel/runner.js';
import type { IpVersion, RouteSpec } from '../model.js';

/** Routes programmed by Felix (`ip route ... proto 80`); BGP-learned routes use their own number. */
export const FELIX_ROUTE_PROTO = 80;

const withPrefix = (dst: string) => (dst.includes('/') ? dst : `${dst}/${dst.includes(':') ? 128 : 32}`);
const keyOf = (r: RouteSpec) =>
  r.type === 'blackhole' ? `blackhole ${withPrefix(r.dst)}` : `${withPrefix(r.dst)} dev ${r.dev}`;

interface KernelRoute {
  dst: string;
  dev?: string;
  type?: string;
}

export function parseRoutes(json: string): RouteSpec[] {
  const list = JSON.parse(json || '[]') as KernelRoute[];
  return list.map((r) =>
    r.type === 'blackhole'
      ? { type: 'blackhole', dst: withPrefix(r.dst) }
      : { type: 'workload', dst: withPrefix(r.dst), dev: r.dev ?? '' },
  );
}

/** `ip -batch` lines that turn `actual` into `desired`. */
export function planRoutes(desired: readonly RouteSpec[], actual: readonly RouteSpec[]): string[] {
  const want = new Map(desired.map((r) => [keyOf(r), r]));
  const have = new Map(actual.map((r) => [keyOf(r), r]));
  const lines: string[] = [];
  for (const [k, r] of have) {
    if (want.has(k)) continue;
    lines.push(
      r.type === 'blackhole'
        ? `route del blackhole ${r.dst} proto ${FELIX_ROUTE_PROTO}`
        : `route del ${r.dst} dev ${r.dev} proto ${FELIX_ROUTE_PROTO}`,
    );
  }
  for (const [k, r] of want) {
    if (have.has(k)) continue;
    lines.push(
      r.type === 'blackhole'
        ? `route replace blackhole ${withPrefix(r.dst)} proto ${FELIX_ROUTE_PROTO}`
        : `route replace ${withPrefix(r.dst)} dev ${r.dev} scope link proto ${FELIX_ROUTE_PROTO}`,
    );
  }
  return lines;
}

export interface RouteApplyReport {
  /** Routes added or deleted. */
  readonly changed: number;
  readonly errors: string[];
  /** With IPv6 off: our IPv6 routes found and deleted (left from a run with IPv6 on). */
  readonly ipv6RoutesRemoved: number;
}

const isIpv6Route = (r: RouteSpec) => r.dst.includes(':');

export class RouteDriver {
  /** Our routes per family as last written; trusted between full applies. */
  private readonly cache = new Map<IpVersion, readonly RouteSpec[]>();
  /** The desired list last applied without error; the renderer reuses it while routes are unchanged. */
  private applied: readonly RouteSpec[] | undefined;
  private readonly ipv6: boolean;

  /** `ipv6: false`: write no IPv6 route, delete ours that are there. */
  constructor(
    private readonly runner: CommandRunner,
    options: { readonly ipv6?: boolean } = {},
  ) {
    this.ipv6 = options.ipv6 ?? true;
  }

  /** Our routes of one family in the kernel. */
  private async read(family: IpVersion): Promise<RouteSpec[]> {
    const args = ['-j', `-${family}`, 'route', 'show', 'proto', String(FELIX_ROUTE_PROTO)];
    let text: string;
    if (family === 6 && !this.ipv6) {
      // Only looking for leftovers: a kernel without IPv6 (ipv6.disable=1) fails the listing and
      // has no IPv6 route of ours either.
      const r = await this.runner.run('ip', args);
      if (r.code !== 0) return [];
      text = r.stdout;
    } else {
      text = await runChecked(this.runner, 'ip', args);
    }
    // The family is checked again on our side: a listing of the other family must not be deleted here.
    return parseRoutes(text).filter((r) => isIpv6Route(r) === (family === 6));
  }

  async apply(desired: readonly RouteSpec[], full = true): Promise<RouteApplyReport> {
    if (!full && desired === this.applied && this.cache.size === 2)
      return { changed: 0, errors: [], ipv6RoutesRemoved: 0 };
    this.applied = undefined;
    let changed = 0;
    let ipv6RoutesRemoved = 0;
    const errors: string[] = [];
    for (const family of [4, 6] as const) {
      const off = family === 6 && !this.ipv6;
      const mine = off ? [] : desired.filter((r) => isIpv6Route(r) === (family === 6));
      const actual = (full ? undefined : this.cache.get(family)) ?? (await this.read(family));
      const lines = planRoutes(mine, actual);
      this.cache.set(family, mine);
      if (!lines.length) continue;
      // -force: one missing interface must not stop the other routes; the next full apply retries them.
      const r = await this.runner.run('ip', [`-${family}`, '-force', '-batch', '-'], {
        input: lines.join('\n') + '\n',
      });
      changed += lines.length;
      if (r.code !== 0) {
        errors.push(r.stderr.trim());
        this.cache.delete(family);
      } else if (off) {
        ipv6RoutesRemoved = lines.length;
      }
    }
    if (!errors.length) this.applied = desired;
    return { changed, errors, ipv6RoutesRemoved };
  }
}

/** Proxy ARP (and NDP) plus forwarding on each workload interface, as Calico sets them. */
export class InterfaceSysctlDriver {
  private done = new Set<string>();
  /** The interface list last fully applied; the renderer reuses it while interfaces are unchanged. */
  private applied: readonly { name: string; family: readonly (4 | 6)[] }[] | undefined;
  private readonly ipv6: boolean;

  /** `ipv6: false`: write no `net.ipv6.*` setting. */
  constructor(
    private readonly runner: CommandRunner,
    options: { readonly ipv6?: boolean } = {},
  ) {
    this.ipv6 = options.ipv6 ?? true;
  }

  private readonly settings = (iface: { name: string; family: readonly (4 | 6)[] }): string[] => {
    const n = iface.name;
    const s = [
      `net.ipv4.conf.${n}.proxy_arp=1`,
      `net.ipv4.conf.${n}.forwarding=1`,
      `net.ipv4.neigh.${n}.proxy_delay=0`,
    ];
    if (this.ipv6 && iface.family.includes(6))
      s.push(`net.ipv6.conf.${n}.proxy_ndp=1`, `net.ipv6.conf.${n}.forwarding=1`);
    return s;
  };

  /** One `sysctl` for every interface that needs it; only if that fails, one per interface to find the culprit. */
  async apply(
    interfaces: readonly { name: string; family: readonly (4 | 6)[] }[],
    force = false,
  ): Promise<string[]> {
    if (!force && interfaces === this.applied) return [];
    this.applied = undefined;
    if (force) this.done.clear();
    const current = new Set(interfaces.map((i) => i.name));
    for (const name of this.done) if (!current.has(name)) this.done.delete(name);
    const todo = interfaces.filter((i) => !this.done.has(i.name));
    if (!todo.length) {
      this.applied = interfaces;
      return [];
    }
    const all = await this.runner.run('sysctl', ['-q', '-w', ...todo.flatMap(this.settings)]);
    if (all.code === 0) {
      for (const i of todo) this.done.add(i.name);
      this.applied = interfaces;
      return [];
    }
    const errors: string[] = [];
    for (const iface of todo) {
      const r = await this.runner.run('sysctl', ['-q', '-w', ...this.settings(iface)]);
      if (r.code === 0) this.done.add(iface.name);
      else errors.push(`${iface.name}: ${r.stderr.trim()}`);
    }
    return errors;
  }
}
