/**
 * The route driver: each local workload gets a host route through its `cali*` interface, each IPAM
 * block this host owns gets a blackhole route (so traffic to unassigned addresses in our blocks stops
 * here instead of looping via the default route). Our routes carry our own protocol number, so we
 * can list exactly ours and leave everyone else's alone; one `ip -batch` per family per apply.
 */
import type { CommandRunner } from '../../kernel/runner.js';
import { runChecked } from '../../kernel/runner.js';
import type { RouteSpec } from '../model.js';

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

export class RouteDriver {
  /** Our routes per family as last written; trusted between full applies. */
  private readonly cache = new Map<4 | 6, readonly RouteSpec[]>();
  /** The desired list last applied without error; the renderer reuses it while routes are unchanged. */
  private applied: readonly RouteSpec[] | undefined;

  constructor(private readonly runner: CommandRunner) {}

  async apply(desired: readonly RouteSpec[], full = true): Promise<{ changed: number; errors: string[] }> {
    if (!full && desired === this.applied && this.cache.size === 2) return { changed: 0, errors: [] };
    this.applied = undefined;
    let changed = 0;
    const errors: string[] = [];
    for (const family of [4, 6] as const) {
      const mine = desired.filter((r) => r.dst.includes(':') === (family === 6));
      const cached = full ? undefined : this.cache.get(family);
      const actual =
        cached ??
        parseRoutes(
          await runChecked(this.runner, 'ip', [
            '-j',
            `-${family}`,
            'route',
            'show',
            'proto',
            String(FELIX_ROUTE_PROTO),
          ]),
        );
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
      }
    }
    if (!errors.length) this.applied = desired;
    return { changed, errors };
  }
}

/** Proxy ARP (and NDP) plus forwarding on each workload interface, as Calico sets them. */
export class InterfaceSysctlDriver {
  private done = new Set<string>();
  /** The interface list last fully applied; the renderer reuses it while interfaces are unchanged. */
  private applied: readonly { name: string; family: readonly (4 | 6)[] }[] | undefined;
  constructor(private readonly runner: CommandRunner) {}

  private static settings(iface: { name: string; family: readonly (4 | 6)[] }): string[] {
    const n = iface.name;
    const s = [
      `net.ipv4.conf.${n}.proxy_arp=1`,
      `net.ipv4.conf.${n}.forwarding=1`,
      `net.ipv4.neigh.${n}.proxy_delay=0`,
    ];
    if (iface.family.includes(6)) s.push(`net.ipv6.conf.${n}.proxy_ndp=1`, `net.ipv6.conf.${n}.forwarding=1`);
    return s;
  }

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
    const all = await this.runner.run('sysctl', [
      '-q',
      '-w',
      ...todo.flatMap(InterfaceSysctlDriver.settings),
    ]);
    if (all.code === 0) {
      for (const i of todo) this.done.add(i.name);
      this.applied = interfaces;
      return [];
    }
    const errors: string[] = [];
    for (const iface of todo) {
      const r = await this.runner.run('sysctl', ['-q', '-w', ...InterfaceSysctlDriver.settings(iface)]);
      if (r.code === 0) this.done.add(iface.name);
      else errors.push(`${iface.name}: ${r.stderr.trim()}`);
    }
    return errors;
  }
}
