/**
 * The dataplane: one `apply(desired)` that brings the kernel to the desired state through the
 * drivers, in the order that never leaves a rule pointing at a missing set: ipsets created/updated,
 * then iptables (v4, v6), then unused ipsets destroyed, then routes and interface settings.
 * A failing step throws after the earlier steps completed; the caller retries with backoff, and since
 * each driver diffs against the kernel, a retry redoes only what is still missing.
 *
 * With IPv6 off no driver writes anything IPv6 (no ip6tables, no IPv6 set, route or sysctl), and our
 * IPv6 routes left from a run with IPv6 on are deleted (routes.ts says why those and only those).
 */
import type { CommandRunner } from '../../kernel/runner.js';
import type { DesiredDataplane } from '../model.js';
import { IptablesDriver } from './iptables.js';
import { IpsetDriver } from './ipsets.js';
import { FELIX_ROUTE_PROTO, InterfaceSysctlDriver, RouteDriver } from './routes.js';

export interface ApplyReport {
  readonly changed: boolean;
  readonly rules: number;
  readonly ipsetMembers: number;
  readonly chainsWritten: number;
  readonly routesChanged: number;
  readonly warnings: string[];
}

export interface DataplaneOptions {
  /** Program IPv6 too (ip6tables, IPv6 sets, routes and interface sysctls). Default true. */
  readonly ipv6?: boolean;
}

export class Dataplane {
  private readonly iptables: IptablesDriver[];
  private readonly ipsets: IpsetDriver;
  private readonly routes: RouteDriver;
  private readonly sysctls: InterfaceSysctlDriver;

  constructor(runner: CommandRunner, options: DataplaneOptions = {}) {
    const ipv6 = options.ipv6 ?? true;
    this.iptables = [new IptablesDriver(runner, 4)];
    if (ipv6) this.iptables.push(new IptablesDriver(runner, 6));
    this.ipsets = new IpsetDriver(runner, { ipv6 });
    this.routes = new RouteDriver(runner, { ipv6 });
    this.sysctls = new InterfaceSysctlDriver(runner, { ipv6 });
  }

  /**
   * `full` reads everything back from the kernel and re-applies interface settings (the periodic
   * refresh that repairs drift); otherwise the drivers diff against what they last wrote, so an
   * update costs only its own changes.
   */
  async apply(desired: DesiredDataplane, full = true): Promise<ApplyReport> {
    const sets = await this.ipsets.ensure(desired.ipsets, full);
    let rules = 0;
    let chainsWritten = 0;
    let changed = sets.changed;
    for (const driver of this.iptables) {
      const r = await driver.apply(desired.iptables[driver.version], full);
      rules += r.rules;
      chainsWritten += r.chainsWritten;
      changed ||= r.changed;
    }
    // `ensure` read the kernel at the start of this apply when `full`; its view is current.
    changed = (await this.ipsets.prune(desired.ipsets, false)) || changed;
    const routes = await this.routes.apply(desired.routes, full);
    const sysctlErrors = await this.sysctls.apply(desired.interfaces, full);
    return {
      changed: changed || routes.changed > 0,
      rules,
      ipsetMembers: sets.members,
      chainsWritten,
      routesChanged: routes.changed,
      warnings: [
        ...routes.errors,
        ...sysctlErrors,
        ...(routes.ipv6RoutesRemoved
          ? [
              `IPv6 is off: deleted ${routes.ipv6RoutesRemoved} IPv6 route(s) of ours (proto ${FELIX_ROUTE_PROTO}) left from a run with IPv6 on`,
            ]
          : []),
      ],
    };
  }

  /**
   * Removes all our chains, hooks and sets of the IP versions this dataplane programs (routes stay:
   * they belong to live workloads).
   */
  async removeAll(): Promise<void> {
    for (const d of this.iptables) await d.removeAll();
    await this.ipsets.prune([]);
  }
}

export { IptablesDriver } from './iptables.js';
export { IpsetDriver } from './ipsets.js';
export { RouteDriver, InterfaceSysctlDriver, FELIX_ROUTE_PROTO } from './routes.js';
export { ruleHashes, parseIptablesSave, planTable, planIptables } from './iptables-plan.js';
export { WrittenIptables, type IptablesUpdate } from './iptables-delta.js';
