/**
 * The iptables driver: desired state in, `iptables-save` read back, the minimal
 * `iptables-restore --noflush` written (see iptables-plan.ts for how the difference is found).
 * One instance per IP version. A full apply (the periodic refresh) reads the kernel first, which
 * is how drift (a flushed chain, a deleted jump) gets repaired; between full applies the driver
 * trusts what it last wrote and plans from that alone (iptables-delta.ts), so a label change costs
 * its own chains. A failed restore forgets what was written: the next apply reads the kernel back.
 */
import type { CommandRunner } from '../../kernel/runner.js';
import { runChecked } from '../../kernel/runner.js';
import type { IpVersion, IptablesState } from '../model.js';
import { parseIptablesSave, planIptables } from './iptables-plan.js';
import { WrittenIptables } from './iptables-delta.js';

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
  /**
   * The state the kernel holds because we wrote it, and its rule count; trusted between full
   * applies (which read the kernel back), so an incremental apply plans from it alone.
   */
  private written: WrittenIptables | undefined;

  constructor(
    private readonly runner: CommandRunner,
    readonly version: IpVersion,
  ) {
    this.save = version === 4 ? 'iptables-save' : 'ip6tables-save';
    this.restore = version === 4 ? 'iptables-restore' : 'ip6tables-restore';
  }

  /** `full` reads the kernel back (the periodic refresh that repairs drift); otherwise what we last wrote is trusted. */
  async apply(desired: IptablesState, full = true): Promise<IptablesApplyReport> {
    const trusted = full ? undefined : this.written;
    if (trusted?.state === desired)
      return { changed: false, chainsWritten: 0, chainsDeleted: 0, hooksRewritten: 0, rules: trusted.rules };
    this.written = undefined;
    const update = trusted?.planTo(desired);
    const { restore, plans } =
      update ?? planIptables(desired, parseIptablesSave(await runChecked(this.runner, this.save, [])));
    const all = Object.values(plans);
    // If the restore fails, `written` stays unset: the next apply reads the kernel back.
    if (restore) await runChecked(this.runner, this.restore, ['-w', '10', '--noflush'], { input: restore });
    this.written = update ? update.written() : WrittenIptables.of(desired);
    const rules = this.written.rules;
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
