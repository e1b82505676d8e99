/**
 * The iptables driver: desired state in, `iptables-save` read back, the minimal
 * `iptables-restore --noflush` written (see iptables-plan.ts for how the difference is found).
 * One instance per IP version. It never assumes its last write is still there: every apply reads
 * the kernel first, which is also how drift (a flushed chain, a deleted jump) gets repaired.
 */
import type { CommandRunner } from '../../kernel/runner.js';
import { runChecked } from '../../kernel/runner.js';
import type { IpVersion, IptablesState } from '../model.js';
import { expectedAfter, parseIptablesSave, planIptables, type SavedTables } from './iptables-plan.js';

export interface IptablesApplyReport {
  readonly changed: boolean;
  readonly chainsWritten: number;
  readonly chainsDeleted: number;
  readonly hooksRewritten: number;
  readonly rules: number;
}

export class IptablesDriver {
  private readonly save: string;
  private readonly restore: string;
  /** What we believe the kernel holds; trusted between full applies, which read the kernel back. */
  private cache: SavedTables | undefined;
  /** The state the cache was built from, and its rule count: an identical state needs no planning. */
  private applied: { readonly state: IptablesState; readonly rules: number } | undefined;

  constructor(
    private readonly runner: CommandRunner,
    readonly version: IpVersion,
  ) {
    this.save = version === 4 ? 'iptables-save' : 'ip6tables-save';
    this.restore = version === 4 ? 'iptables-restore' : 'ip6tables-restore';
  }

  /** `full` reads the kernel back (the periodic refresh that repairs drift); otherwise the cache is trusted. */
  async apply(desired: IptablesState, full = true): Promise<IptablesApplyReport> {
    if (!full && this.cache && this.applied?.state === desired)
      return {
        changed: false,
        chainsWritten: 0,
        chainsDeleted: 0,
        hooksRewritten: 0,
        rules: this.applied.rules,
      };
    this.applied = undefined;
    const actual =
      !full && this.cache ? this.cache : parseIptablesSave(await runChecked(this.runner, this.save, []));
    const { restore, plans } = planIptables(desired, actual);
    const all = Object.values(plans);
    const rules = Object.values(desired.chains).reduce(
      (n, chains) => n + chains.reduce((m, c) => m + c.rules.length, 0),
      0,
    );
    if (restore) {
      this.cache = undefined;
      await runChecked(this.runner, this.restore, ['-w', '10', '--noflush'], { input: restore });
    }
    this.cache = expectedAfter(desired);
    this.applied = { state: desired, rules };
    return {
      changed: restore.length > 0,
      chainsWritten: all.reduce((n, p) => n + p.chainsWritten.length, 0),
      chainsDeleted: all.reduce((n, p) => n + p.chainsDeleted.length, 0),
      hooksRewritten: all.reduce((n, p) => n + p.hooksRewritten.length, 0),
      rules,
    };
  }

  /** Removes every trace of us: our chains and our hook rules (used on uninstall and by tests). */
  async removeAll(): Promise<void> {
    const empty: IptablesState = { chains: { raw: [], mangle: [], nat: [], filter: [] }, hooks: [] };
    await this.apply(empty);
  }
}
