/**
 * The fallback route writer: `ip -batch`, one run per family and write. Always available (iproute2
 * is a dependency anyway), but ip waits for the kernel's answer to each route before it parses the
 * next line, so a full table is slow; used when calico-fib-writer was not built, and by tests that
 * drive a fake kernel through `ip` commands.
 *
 * `-force` keeps going past a refused route; ip names each refused line (`Command failed -:N`)
 * after the kernel's message, which maps the failure back to its operation.
 */
import type { CommandRunner } from '../../kernel/runner.js';
import { runChecked } from '../../kernel/runner.js';
import {
  canonicalPrefix,
  familyOfPrefix,
  normalizeNextHops,
  type FibFamily,
} from './canonical-route-text.js';
import type { RouteOp, RouteOpFailure, RouteWriteResult, RouteWriter } from './route-writer.js';

/** `ip route ... proto 81`: routes our BGP speaker installed ("calico-bgp"). */
export const BGP_ROUTE_PROTO = 81;

/** One kernel route: a prefix and its next hops (sorted, so equal sets compare equal). */
export interface FibRoute {
  readonly prefix: string;
  readonly nextHops: readonly string[];
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

export function routeOpLine(op: RouteOp, proto = BGP_ROUTE_PROTO): string {
  return op.kind === 'replace' ? routeReplaceLine(op, proto) : routeDeleteLine(op.prefix, proto);
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
    out.set(canonicalPrefix(r.dst), [...normalizeNextHops(gateways)]);
  }
  return out;
}

/**
 * Which input lines `ip -force -batch -` refused, from its stderr: each `Command failed -:N` line
 * closes the message lines before it. Line numbers start at 1.
 */
export function parseIpBatchFailures(stderr: string): { line: number; error: string }[] {
  const out: { line: number; error: string }[] = [];
  let message: string[] = [];
  for (const text of stderr.split('\n')) {
    const m = /^Command failed \S*:(\d+)$/.exec(text.trim());
    if (m) {
      out.push({ line: Number(m[1]), error: message.join(' ').trim() || 'refused' });
      message = [];
    } else if (text.trim() !== '') {
      message.push(text.trim());
    }
  }
  return out;
}

export class IpBatchRouteWriter implements RouteWriter {
  readonly kind = 'ip-batch' as const;
  /** Each write is its own ip process: two at once could land in either order. */
  readonly ordered = false;

  constructor(
    private readonly runner: CommandRunner,
    private readonly proto = BGP_ROUTE_PROTO,
  ) {}

  async readRoutes(family: FibFamily): Promise<Map<string, readonly string[]>> {
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

  async write(ops: readonly RouteOp[]): Promise<RouteWriteResult> {
    const failed: RouteOpFailure[] = [];
    const unknown: string[] = [];
    for (const family of [4, 6] as const) {
      const mine = ops.filter((op) => familyOfPrefix(op.prefix) === family);
      if (mine.length === 0) continue;
      try {
        const r = await this.runner.run('ip', [`-${family}`, '-force', '-batch', '-'], {
          input: mine.map((op) => routeOpLine(op, this.proto)).join('\n') + '\n',
        });
        if (r.code === 0) continue;
        const refused = parseIpBatchFailures(r.stderr);
        if (refused.length === 0) unknown.push(r.stderr.trim() || `ip -batch exited ${r.code}`);
        for (const f of refused) {
          const op = mine[f.line - 1];
          if (op === undefined)
            unknown.push(`ip -batch refused line ${f.line} of ${mine.length}: ${f.error}`);
          else failed.push({ op, error: f.error });
        }
      } catch (e) {
        unknown.push((e as Error).message);
      }
    }
    return unknown.length > 0 ? { failed, unknown: unknown.join('; ') } : { failed };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
