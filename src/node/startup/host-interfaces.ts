/**
 * The host's interfaces and addresses as the start-up steps see them, read from `ip -j addr show`
 * (one JSON document, so no text parsing) and `ip -j route get`. Parsing is pure; the two readers
 * take the command runner so tests feed them canned output.
 */
import { runChecked, type CommandRunner } from '../../kernel/runner.js';
import type { IpFamily } from '../../net/ip.js';

export interface InterfaceAddress {
  readonly family: IpFamily;
  readonly address: string;
  readonly prefixLength: number;
  /** `global`, `link`, `host`: link-local and host-scoped addresses are never a node's address. */
  readonly scope: string;
}

export interface HostInterface {
  readonly name: string;
  readonly index: number;
  readonly up: boolean;
  readonly addresses: readonly InterfaceAddress[];
}

/** The kernel's answer to "which way to DEST": the outgoing device and the source it would use. */
export interface RouteLookup {
  readonly dev: string;
  readonly prefsrc?: string;
}

interface IpAddrJson {
  ifindex?: number;
  ifname?: string;
  flags?: string[];
  operstate?: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[];
}

/** Parses `ip -j addr show`, keeping the kernel's order (by interface index), as Calico does. */
export function parseIpAddrJson(text: string): HostInterface[] {
  const doc = JSON.parse(text) as IpAddrJson[];
  return doc
    .filter((i) => typeof i.ifname === 'string')
    .map((i) => ({
      name: i.ifname as string,
      index: i.ifindex ?? 0,
      up: (i.flags ?? []).includes('UP'),
      addresses: (i.addr_info ?? [])
        .filter((a) => (a.family === 'inet' || a.family === 'inet6') && typeof a.local === 'string')
        .map((a) => ({
          family: a.family === 'inet' ? (4 as const) : (6 as const),
          address: a.local as string,
          prefixLength: a.prefixlen ?? (a.family === 'inet' ? 32 : 128),
          scope: a.scope ?? 'global',
        })),
    }))
    .sort((a, b) => a.index - b.index);
}

/** Parses `ip -j route get DEST`; undefined when the kernel has no route. */
export function parseRouteGetJson(text: string): RouteLookup | undefined {
  const doc = JSON.parse(text) as { dev?: string; prefsrc?: string }[];
  const first = doc[0];
  if (!first?.dev) return undefined;
  return first.prefsrc ? { dev: first.dev, prefsrc: first.prefsrc } : { dev: first.dev };
}

export async function readHostInterfaces(runner: CommandRunner): Promise<HostInterface[]> {
  return parseIpAddrJson(await runChecked(runner, 'ip', ['-j', 'addr', 'show']));
}

export async function lookupRoute(
  runner: CommandRunner,
  destination: string,
): Promise<RouteLookup | undefined> {
  const r = await runner.run('ip', ['-j', 'route', 'get', destination]);
  if (r.code !== 0) return undefined;
  return parseRouteGetJson(r.stdout);
}
