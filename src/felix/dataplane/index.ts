/**
 * The dataplane: one `apply(desired)` that brings the kernel to the desired state through the
 * drivers, in the order that never leaves a rule pointing at a missing set: ipsets created/updated,
 * then iptables (v4, v6), then unused ipsets destroyed, then routes and interface settings.
 * When the ipset update only adds and removes members of sets that exist, it runs alongside the
 * iptables write instead of before it: no rule can find such a set missing, and the two are
 * separate kernel transactions either way (the rules could already see new members with old
 * chains in between), so only the wait goes away, not an ordering anything relies on. A label
 * change that moves an endpoint to other policies needs both, and the iptables one is the long one.
 * A failing step throws after the earlier steps completed; the caller retries with backoff, and since
 * each driver forgets what it wrote when its command fails (and reads the kernel back next time),
 * a retry redoes only what is still missing.
 */
import type { CommandRunner } from '../../kernel/runner.js';
import type { DesiredDataplane } from '../model.js';
import { IptablesDriver } from './iptables.js';
import { IpsetDriver } from './ipsets.js';
import { InterfaceSysctlDriver, RouteDriver } from './routes.js';

export interface ApplyReport {
  readonly changed: boolean;
  readonly rules: number;
  readonly ipsetMembers: number;
  readonly chainsWritten: number;
  readonly routesChanged: number;
  readonly warnings: string[];
}

export interface DataplaneOptions {
  /** Program IPv6 too (ip6tables, IPv6 routes). Default true. */
  readonly ipv6?: boolean;
}

export class Dataplane {
  private readonly iptables: IptablesDriver[];
  private readonly ipsets: IpsetDriver;
  private readonly routes: RouteDriver;
  private readonly sysctls: InterfaceSysctlDriver;

  constructor(runner: CommandRunner, options: DataplaneOptions = {}) {
    this.iptables = [new IptablesDriver(runner, 4)];
    if (options.ipv6 ?? true) this.iptables.push(new IptablesDriver(runner, 6));
    this.ipsets = new IpsetDriver(runner);
    this.routes = new RouteDriver(runner);
    this.sysctls = new InterfaceSysctlDriver(runner);
  }

  /**
   * `full` reads everything back from the kernel and re-applies interface settings (the periodic
   * refresh that repairs drift); otherwise the drivers diff against what they last wrote, so an
   * update costs only its own changes.
   */
  async apply(desired: DesiredDataplane, full = true): Promise<ApplyReport> {
    const planned = await this.ipsets.planEnsure(desired.ipsets, full);
    const setsWritten = planned.createsSets ? Promise.resolve(await planned.run()) : planned.run();
    const tablesWritten = this.applyTables(desired, full);
    // Both settle before either failure is raised, so no command is still running when the caller retries.
    const [setsResult, tablesResult] = await Promise.allSettled([setsWritten, tablesWritten]);
    if (setsResult.status === 'rejected') throw setsResult.reason;
    if (tablesResult.status === 'rejected') throw tablesResult.reason;
    const sets = setsResult.value;
    const { rules, chainsWritten } = tablesResult.value;
    let changed = sets.changed || tablesResult.value.changed;
    // `planEnsure` read the kernel at the start of this apply when `full`; its view is current.
    changed = (await this.ipsets.prune(desired.ipsets, false)) || changed;
    const routes = await this.routes.apply(desired.routes, full);
    const sysctlErrors = await this.sysctls.apply(desired.interfaces, full);
    return {
      changed: changed || routes.changed > 0,
      rules,
      ipsetMembers: sets.members,
      chainsWritten,
      routesChanged: routes.changed,
      warnings: [...routes.errors, ...sysctlErrors],
    };
  }

  private async applyTables(
    desired: DesiredDataplane,
    full: boolean,
  ): Promise<{ rules: number; chainsWritten: number; changed: boolean }> {
    let rules = 0;
    let chainsWritten = 0;
    let changed = false;
    for (const driver of this.iptables) {
      const r = await driver.apply(desired.iptables[driver.version], full);
      rules += r.rules;
      chainsWritten += r.chainsWritten;
      changed ||= r.changed;
    }
    return { rules, chainsWritten, changed };
  }

  /** Removes all our chains, hooks and sets (routes stay: they belong to live workloads). */
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
