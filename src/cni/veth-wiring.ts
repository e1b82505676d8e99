/**
 * The kernel side of ADD, DEL and CHECK: the veth pair between the host and the container, wired
 * the way Felix expects a Calico workload (see test/support/workloads.ts for the same layout):
 *
 *   host namespace:  cali<hash>  MAC ee:ee:ee:ee:ee:ee, up, proxy_arp on, a /32 (/128) route to the
 *                    container through it (Felix programs the same route; it replaces ours)
 *   container:       CNI_IFNAME with the /32 (/128), a link route to 169.254.1.1 and the default via
 *                    it (IPv6: via the host side's link-local fe80::ecee:eeff:feee:eeee), and a
 *                    permanent neighbour entry for that gateway, because proxy ARP only answers for
 *                    addresses the host has a route to, and a host without a default route has none
 *                    for 169.254.1.1.
 *
 * Why two `ip -batch` processes and no more: start-up dominates a CNI call, so each namespace gets
 * one batch through the one command runner (the container's through `nsenter --net=<path>`, which,
 * unlike `ip -n`, takes any namespace path a runtime gives), and the veth is created with its peer
 * directly inside the container namespace, named and addressed, so nothing is renamed or moved.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { type CommandRunner } from '../kernel/runner.js';
import { CniError, CniErrorCode, ipFamilyOf } from './spec.js';

export const HOST_SIDE_MAC = 'ee:ee:ee:ee:ee:ee';
export const IPV4_GATEWAY = '169.254.1.1';
export const IPV6_GATEWAY = 'fe80::ecee:eeff:feee:eeee';

export interface VethWiring {
  readonly hostIface: string;
  readonly containerIface: string;
  /** Path of the container's network namespace (CNI_NETNS). */
  readonly netns: string;
  readonly containerMac: string;
  readonly mtu: number;
  /** The container's addresses with /32 or /128. */
  readonly addresses: readonly string[];
}

/** What ADD, DEL and CHECK need from the kernel; tests of the plugin logic use a fake. */
export interface WorkloadDataplane {
  /** Creates and configures both ends; on failure leaves nothing behind. Code 3 if the namespace is gone. */
  attach(wiring: VethWiring): Promise<void>;
  /** Removes the pair by its host end; removing what is not there succeeds. */
  detach(hostIface: string): Promise<void>;
  /** Differences between the kernel and `wiring`, as sentences; empty when all is as ADD left it. */
  inspect(wiring: VethWiring): Promise<string[]>;
}

/** Interface sysctls, written where the process runs (the host namespace). */
export interface SysctlWriter {
  write(path: readonly string[], value: string): void;
}

export const procSysctlWriter: SysctlWriter = {
  write(path, value) {
    writeFileSync(`/proc/sys/${path.join('/')}`, value);
  },
};

const dataplaneError = (what: string, detail: string) =>
  new CniError(CniErrorCode.DataplaneFailure, what, detail.trim());

export function hostBatch(w: VethWiring): string {
  const lines = [
    `link add ${w.hostIface} mtu ${w.mtu} address ${HOST_SIDE_MAC} type veth peer name ${w.containerIface} mtu ${w.mtu} address ${w.containerMac} netns ${w.netns}`,
    `link set ${w.hostIface} up`,
    ...w.addresses.map((a) => `route replace ${a} dev ${w.hostIface} scope link`),
  ];
  return lines.join('\n') + '\n';
}

export function containerBatch(w: VethWiring): string {
  const dev = w.containerIface;
  const v4 = w.addresses.filter((a) => ipFamilyOf(a) === '4');
  const v6 = w.addresses.filter((a) => ipFamilyOf(a) === '6');
  const lines = [`link set ${dev} up`];
  for (const a of v4) lines.push(`addr add ${a} dev ${dev}`);
  if (v4.length)
    lines.push(
      `route add ${IPV4_GATEWAY} dev ${dev} scope link`,
      `route add default via ${IPV4_GATEWAY} dev ${dev}`,
      `neigh replace ${IPV4_GATEWAY} lladdr ${HOST_SIDE_MAC} dev ${dev} nud permanent`,
    );
  // nodad: the address is ours alone (IPAM), and waiting for duplicate detection would delay traffic.
  for (const a of v6) lines.push(`addr add ${a} dev ${dev} nodad`);
  if (v6.length)
    lines.push(
      `route add default via ${IPV6_GATEWAY} dev ${dev}`,
      `neigh replace ${IPV6_GATEWAY} lladdr ${HOST_SIDE_MAC} dev ${dev} nud permanent`,
    );
  return lines.join('\n') + '\n';
}

function hostSysctls(w: VethWiring): [string[], string][] {
  const out: [string[], string][] = [];
  if (w.addresses.some((a) => ipFamilyOf(a) === '4'))
    out.push(
      [['net', 'ipv4', 'conf', w.hostIface, 'proxy_arp'], '1'],
      [['net', 'ipv4', 'neigh', w.hostIface, 'proxy_delay'], '0'],
      [['net', 'ipv4', 'conf', w.hostIface, 'forwarding'], '1'],
    );
  if (w.addresses.some((a) => ipFamilyOf(a) === '6'))
    out.push(
      [['net', 'ipv6', 'conf', w.hostIface, 'proxy_ndp'], '1'],
      [['net', 'ipv6', 'conf', w.hostIface, 'forwarding'], '1'],
    );
  return out;
}

interface IpLinkJson {
  readonly ifname?: string;
  readonly flags?: readonly string[];
  readonly address?: string;
  readonly mtu?: number;
  readonly addr_info?: readonly {
    readonly local?: string;
    readonly prefixlen?: number;
    readonly family?: string;
  }[];
}
interface IpRouteJson {
  readonly dst?: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly scope?: string;
}

/** The kernel implementation over `ip` and `nsenter`, run through the one command runner. */
export class IpWorkloadDataplane implements WorkloadDataplane {
  constructor(
    private readonly runner: CommandRunner,
    private readonly sysctl: SysctlWriter = procSysctlWriter,
    private readonly pathExists: (path: string) => boolean = existsSync,
  ) {}

  private requireNamespace(netns: string): void {
    if (!this.pathExists(netns))
      throw new CniError(
        CniErrorCode.UnknownContainer,
        `network namespace ${netns} does not exist`,
        'CNI_NETNS must be the path of the container network namespace, e.g. /run/netns/<name> or /proc/<pid>/ns/net',
      );
  }

  private inContainer(netns: string, args: readonly string[], input?: string) {
    return this.runner.run(
      'nsenter',
      [`--net=${netns}`, 'ip', ...args],
      input === undefined ? {} : { input },
    );
  }

  async attach(w: VethWiring): Promise<void> {
    this.requireNamespace(w.netns);
    const host = await this.runner.run('ip', ['-batch', '-'], { input: hostBatch(w) });
    if (host.code !== 0) {
      // The peer is created with the pair; if the pair exists, the batch stopped before touching it.
      if (!/File exists/.test(host.stderr)) await this.detach(w.hostIface);
      throw dataplaneError(
        `cannot create veth ${w.hostIface} ↔ ${w.containerIface} in ${w.netns}`,
        `${host.stderr}${/File exists/.test(host.stderr) ? ` (an interface named ${w.hostIface} on the host, or ${w.containerIface} in the container, already exists)` : ''}`,
      );
    }
    try {
      for (const [path, value] of hostSysctls(w)) this.sysctl.write(path, value);
      const inside = await this.inContainer(w.netns, ['-batch', '-'], containerBatch(w));
      if (inside.code !== 0)
        throw dataplaneError(`cannot configure ${w.containerIface} inside ${w.netns}`, inside.stderr);
    } catch (e) {
      await this.detach(w.hostIface);
      if (e instanceof CniError) throw e;
      throw dataplaneError(`cannot configure ${w.hostIface}`, (e as Error).message);
    }
  }

  async detach(hostIface: string): Promise<void> {
    const r = await this.runner.run('ip', ['link', 'del', hostIface]);
    if (r.code !== 0 && !/Cannot find device|does not exist/.test(r.stderr))
      throw dataplaneError(`cannot delete ${hostIface}`, r.stderr);
  }

  async inspect(w: VethWiring): Promise<string[]> {
    const problems: string[] = [];
    const hostLink = await this.runner.run('ip', ['-j', 'link', 'show', 'dev', w.hostIface]);
    if (hostLink.code !== 0) problems.push(`host interface ${w.hostIface} does not exist`);
    else {
      const link = (JSON.parse(hostLink.stdout) as IpLinkJson[])[0];
      if (!link?.flags?.includes('UP')) problems.push(`host interface ${w.hostIface} is down`);
      if (link?.address !== HOST_SIDE_MAC)
        problems.push(
          `host interface ${w.hostIface} has MAC ${link?.address ?? 'none'}, not ${HOST_SIDE_MAC}`,
        );
    }
    if (!this.pathExists(w.netns)) return [...problems, `network namespace ${w.netns} does not exist`];
    const addr = await this.inContainer(w.netns, ['-j', 'addr', 'show', 'dev', w.containerIface]);
    if (addr.code !== 0) return [...problems, `${w.containerIface} does not exist in ${w.netns}`];
    const link = (JSON.parse(addr.stdout) as IpLinkJson[])[0];
    if (!link?.flags?.includes('UP')) problems.push(`${w.containerIface} in ${w.netns} is down`);
    if (link?.address !== w.containerMac)
      problems.push(`${w.containerIface} has MAC ${link?.address ?? 'none'}, expected ${w.containerMac}`);
    const have = new Set(
      (link?.addr_info ?? []).filter((a) => a.family !== undefined).map((a) => `${a.local}/${a.prefixlen}`),
    );
    for (const a of w.addresses)
      if (!have.has(a)) problems.push(`${w.containerIface} does not have address ${a}`);
    for (const family of ['4', '6'] as const) {
      if (!w.addresses.some((a) => ipFamilyOf(a) === family)) continue;
      const gateway = family === '4' ? IPV4_GATEWAY : IPV6_GATEWAY;
      const routes = await this.inContainer(w.netns, [
        `-${family}`,
        '-j',
        'route',
        'show',
        'dev',
        w.containerIface,
      ]);
      const list = routes.code === 0 ? (JSON.parse(routes.stdout || '[]') as IpRouteJson[]) : [];
      if (!list.some((r) => r.dst === 'default' && r.gateway === gateway))
        problems.push(`no default route via ${gateway} on ${w.containerIface} (IPv${family})`);
      if (family === '4' && !list.some((r) => r.dst === IPV4_GATEWAY && r.scope === 'link'))
        problems.push(`no link route to ${IPV4_GATEWAY} on ${w.containerIface}`);
    }
    return problems;
  }
}
