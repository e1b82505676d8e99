/**
 * Where a container's addresses come from: Calico IPAM, or another IPAM plugin named in the network
 * configuration. One interface, two implementations:
 *
 * - `CalicoIpamSource` calls `IpamClient` in this process. Calico's plugin execs `calico-ipam` as a
 *   separate binary; we run the same code in-process because a second Node start-up would double the
 *   latency of every ADD. The `calico-ipam` executable (ipam-plugin.ts) shares this class, so both
 *   paths hand out and release addresses identically.
 *   With `IP=` in CNI_ARGS it assigns exactly the addresses asked for (IPAM's `assignIP`, as
 *   Calico's calico-ipam does) instead of auto-assigning.
 * - `ExecIpamSource` runs any other IPAM plugin (`host-local`, `static`...) from CNI_PATH as the CNI
 *   spec says: same environment with its own CNI_COMMAND, the network configuration on stdin, its
 *   result or error object on stdout.
 */
import type { IpamClient } from '../ipam/index.js';
import { type CommandRunner } from '../kernel/runner.js';
import type { CniInvocation } from './environment.js';
import type { CalicoIpamSection } from './network-config.js';
import { CniError, CniErrorCode, decodeResult, ipFamilyOf, type CniIpConfig } from './spec.js';
import type { WorkloadIdentity } from './workload-identity.js';

export interface AddressSource {
  /** Takes the container's addresses; all or nothing. */
  assign(): Promise<CniIpConfig[]>;
  /** Gives them back; giving back what is not held succeeds. */
  release(): Promise<void>;
  /** The addresses held now (bare IPs), for CHECK; undefined when the source cannot say. */
  held(): Promise<string[] | undefined>;
}

/** The part of `IpamClient` a CNI call uses. */
export type CniIpamClient = Pick<IpamClient, 'autoAssign' | 'assignIP' | 'releaseByHandle' | 'ipsByHandle'>;

/** `10.77.0.5/26` as IPAM returns it → `10.77.0.5/32`: a Calico workload owns one address, not a subnet. */
export function hostPrefix(address: string): string {
  const bare = address.includes('/') ? address.slice(0, address.indexOf('/')) : address;
  return `${bare}/${ipFamilyOf(bare) === '4' ? 32 : 128}`;
}

/** Turns IPAM's failures into CNI errors that say what to do. */
export function ipamFailure(e: unknown, what: string): CniError {
  if (e instanceof CniError) return e;
  const err = e as Error;
  switch (err.name) {
    case 'NoAddressesError':
    case 'IpamError':
    case 'AddressInUseError':
      return new CniError(
        CniErrorCode.AddressesUnavailable,
        `${what}: ${err.message}`,
        'calicoctl ipam show lists pools and their usage',
      );
    case 'IpamConflictError':
      return new CniError(
        CniErrorCode.TryAgainLater,
        `${what}: ${err.message}`,
        'other writers kept changing the same IPAM records; retry',
      );
    default:
      return new CniError(
        CniErrorCode.DatastoreFailure,
        `${what}: ${err.message}`,
        'check the datastore settings and that it is reachable',
      );
  }
}

/** IPAM's AddressInUseError for an address that `handle` itself holds (by name, as `ipamFailure`). */
function isHeldBy(e: unknown, handle: string): boolean {
  return e instanceof Error && e.name === 'AddressInUseError' && 'holder' in e && e.holder === handle;
}

export class CalicoIpamSource implements AddressSource {
  /**
   * `requested`: the addresses of `IP=` in CNI_ARGS (bare, at most one per family). When given they
   * are the container's addresses, whatever `assign_ipv4`/`assign_ipv6` and the pool lists say, as in
   * Calico: an explicit address only has to lie in some IP pool.
   */
  constructor(
    private readonly ipam: CniIpamClient,
    private readonly section: CalicoIpamSection,
    private readonly identity: Pick<WorkloadIdentity, 'handle' | 'ipamAttributes'>,
    private readonly node: string,
    private readonly requested: readonly string[] = [],
  ) {}

  async assign(): Promise<CniIpConfig[]> {
    return this.requested.length ? this.assignRequested() : this.autoAssign();
  }

  private async autoAssign(): Promise<CniIpConfig[]> {
    const s = this.section;
    // One request per family, each with its own pool list, so ipv4_pools does not hide the IPv6 pools.
    const requests = [
      ...(s.assignIpv4 ? [{ num4: 1, num6: 0, pools: s.ipv4Pools }] : []),
      ...(s.assignIpv6 ? [{ num4: 0, num6: 1, pools: s.ipv6Pools }] : []),
    ];
    const out: CniIpConfig[] = [];
    try {
      for (const r of requests) {
        const got = await this.ipam.autoAssign({
          handle: this.identity.handle,
          host: this.node,
          num4: r.num4,
          num6: r.num6,
          attrs: this.identity.ipamAttributes,
          ...(r.pools.length ? { pools: r.pools } : {}),
        });
        for (const a of [...got.ipv4, ...got.ipv6]) out.push({ address: hostPrefix(a) });
      }
    } catch (e) {
      if (out.length) await this.release().catch(() => undefined);
      throw ipamFailure(e, `assigning addresses to ${this.identity.handle} on node ${this.node}`);
    }
    return out;
  }

  /**
   * The addresses of `IP=`, all or none: a failure for one family releases what the other got. An
   * address this handle already holds counts as assigned, so a repeated ADD (runtimes retry) gets
   * the same answer instead of "in use".
   */
  private async assignRequested(): Promise<CniIpConfig[]> {
    const out: CniIpConfig[] = [];
    for (const ip of this.requested) {
      try {
        await this.ipam.assignIP({
          ip,
          handle: this.identity.handle,
          host: this.node,
          attrs: this.identity.ipamAttributes,
        });
      } catch (e) {
        if (!isHeldBy(e, this.identity.handle)) {
          await this.release().catch(() => undefined);
          throw ipamFailure(
            e,
            `assigning the requested address ${ip} (CNI_ARGS IP=) to ${this.identity.handle} on node ${this.node}`,
          );
        }
      }
      out.push({ address: hostPrefix(ip) });
    }
    return out;
  }

  async release(): Promise<void> {
    try {
      await this.ipam.releaseByHandle(this.identity.handle);
    } catch (e) {
      throw ipamFailure(e, `releasing the addresses of ${this.identity.handle}`);
    }
  }

  async held(): Promise<string[]> {
    try {
      return await this.ipam.ipsByHandle(this.identity.handle);
    } catch (e) {
      throw ipamFailure(e, `reading the addresses of ${this.identity.handle}`);
    }
  }
}

/** Finds an executable plugin by its type in CNI_PATH. */
export type PluginLocator = (type: string, cniPath: readonly string[]) => string | undefined;

export class ExecIpamSource implements AddressSource {
  constructor(
    private readonly runner: CommandRunner,
    private readonly locate: PluginLocator,
    private readonly type: string,
    private readonly invocation: CniInvocation,
    private readonly configText: string,
    private readonly cniArgsText: string,
  ) {}

  private async exec(command: 'ADD' | 'DEL'): Promise<string> {
    const inv = this.invocation;
    const path = this.locate(this.type, inv.cniPath);
    if (!path)
      throw new CniError(
        CniErrorCode.DelegateFailure,
        `IPAM plugin "${this.type}" was not found in CNI_PATH`,
        `searched: ${inv.cniPath.join(':') || '(CNI_PATH is empty)'}; install it there or set ipam.type to calico-ipam`,
      );
    const env = [
      `CNI_COMMAND=${command}`,
      `CNI_CONTAINERID=${inv.containerId}`,
      `CNI_NETNS=${inv.netns}`,
      `CNI_IFNAME=${inv.ifname}`,
      `CNI_ARGS=${this.cniArgsText}`,
      `CNI_PATH=${inv.cniPath.join(':')}`,
    ];
    const r = await this.runner.run('env', [...env, path], { input: this.configText });
    if (r.code === 0) return r.stdout;
    let reported: { code?: unknown; msg?: unknown; details?: unknown } | undefined;
    try {
      reported = JSON.parse(r.stdout) as typeof reported;
    } catch {
      reported = undefined;
    }
    if (reported && typeof reported.code === 'number' && typeof reported.msg === 'string')
      throw new CniError(
        reported.code,
        `IPAM plugin ${this.type} (${command}): ${reported.msg}`,
        typeof reported.details === 'string' ? reported.details : '',
      );
    throw new CniError(
      CniErrorCode.DelegateFailure,
      `IPAM plugin ${this.type} (${command}) failed with exit code ${r.code}`,
      (r.stderr || r.stdout).trim(),
    );
  }

  async assign(): Promise<CniIpConfig[]> {
    const out = await this.exec('ADD');
    let parsed: unknown;
    try {
      parsed = JSON.parse(out);
    } catch {
      throw new CniError(
        CniErrorCode.DecodingFailure,
        `IPAM plugin ${this.type} printed no JSON result`,
        out.slice(0, 200),
      );
    }
    const result = decodeResult(parsed, `the result of IPAM plugin ${this.type}`);
    return result.ips.map((ip) => ({ address: hostPrefix(ip.address) }));
  }

  async release(): Promise<void> {
    await this.exec('DEL');
  }

  async held(): Promise<undefined> {
    return undefined;
  }
}
