/**
 * The plan between two desired states, for the incremental apply: the kernel holds a state we wrote
 * (nothing has been read back since), and a new one is wanted. It gives the same restore input as
 * `planIptables(next, expectedAfter(prev))`, but its cost follows what changed, not the table size:
 * the renderer hands out the same `Chain` object for a chain that did not change, so one lookup and
 * one identity comparison per chain find the few that did, and only those (with the hooks, which
 * are few) go through `planTable`. The index by name is kept across applies and edited in place,
 * because the renderer's chain order is not stable (policy chains move as policies come and go) and
 * rebuilding a ~3,000-entry index, or the whole picture of the kernel, for each label change cost
 * milliseconds (and garbage) per change.
 */
import type { Chain, IptablesState, IptablesTable } from '../model.js';
import { IPTABLES_TABLES } from '../model.js';
import { chainHashes, planTable, ruleArgs, type SavedChain, type TablePlan } from './iptables-plan.js';

export interface IptablesUpdate {
  /** iptables-restore --noflush input, or empty when nothing differs. */
  readonly restore: string;
  readonly plans: Record<IptablesTable, TablePlan>;
  /** Records `next` as what the kernel holds; call it once the restore has succeeded. */
  readonly written: () => WrittenIptables;
}

type ChainsByName = Map<string, Chain>;

function sameContent(a: Chain, b: Chain): boolean {
  const x = chainHashes(a);
  const y = chainHashes(b);
  return x === y || (x.length === y.length && x.every((h, i) => h === y[i]));
}

interface ChainChanges {
  /** Chains of `next` the kernel does not hold as they are: to be written. */
  readonly changed: Chain[];
  /** Chains of `next` that are new objects with the rules the kernel holds: nothing to write. */
  readonly renewed: Chain[];
  /** Held chains `next` drops: to be deleted. */
  readonly removed: Chain[];
}

function changedChains(held: readonly Chain[], byName: ChainsByName, next: readonly Chain[]): ChainChanges {
  const changes: ChainChanges = { changed: [], renewed: [], removed: [] };
  if (held === next) return changes;
  let kept = 0;
  for (const n of next) {
    const h = byName.get(n.name);
    if (h === n) kept++;
    else if (!h) changes.changed.push(n);
    else {
      kept++;
      (sameContent(h, n) ? changes.renewed : changes.changed).push(n);
    }
  }
  if (kept === byName.size) return changes;
  // Chains went away (rare: an endpoint or a policy gone); in the held order, as the full plan has them.
  const wanted = new Set(next.map((c) => c.name));
  return { ...changes, removed: held.filter((h) => !wanted.has(h.name)) };
}

/** What the kernel holds of our iptables state because we wrote it, ready to plan the next change. */
export class WrittenIptables {
  private constructor(
    private held: IptablesState,
    private readonly byName: Map<IptablesTable, ChainsByName>,
    private ruleCount: number,
  ) {}

  static of(state: IptablesState): WrittenIptables {
    const byName = new Map<IptablesTable, ChainsByName>();
    let rules = 0;
    for (const table of IPTABLES_TABLES) {
      const chains = state.chains[table] ?? [];
      byName.set(table, new Map(chains.map((c) => [c.name, c])));
      for (const c of chains) rules += c.rules.length;
    }
    return new WrittenIptables(state, byName, rules);
  }

  get state(): IptablesState {
    return this.held;
  }

  /** Rules in our chains (hooks not counted). */
  get rules(): number {
    return this.ruleCount;
  }

  /** The restore input that turns the held state into `next`. */
  planTo(next: IptablesState): IptablesUpdate {
    const prev = this.held;
    const plans = {} as Record<IptablesTable, TablePlan>;
    const edits: { byName: ChainsByName; changes: ChainChanges }[] = [];
    let restore = '';
    for (const table of IPTABLES_TABLES) {
      const byName = this.byName.get(table) ?? new Map<string, Chain>();
      const changes = changedChains(prev.chains[table] ?? [], byName, next.chains[table] ?? []);
      const { changed, removed } = changes;
      edits.push({ byName, changes });
      // What the kernel holds, as far as this update needs it: the dropped chains (in the held
      // order, as the full plan deletes them) and our hook rules, whose kernel lines are needed to
      // delete them. Changed chains are written whatever they held, so they need no entry.
      const held = new Map<string, SavedChain>();
      for (const chain of removed) held.set(chain.name, { hashes: chainHashes(chain), lines: [] });
      for (const hook of prev.hooks) {
        if (hook.table !== table) continue;
        const hashes = chainHashes(hook);
        held.set(hook.chain, { hashes, lines: hook.rules.map((r, i) => ruleArgs(r, hashes[i] ?? '')) });
      }
      const plan = planTable(table, changed, next.hooks, held);
      plans[table] = plan;
      restore += plan.restore;
    }
    const written = () => {
      for (const { byName, changes } of edits) {
        for (const c of changes.removed) {
          this.ruleCount -= c.rules.length;
          byName.delete(c.name);
        }
        for (const c of changes.changed) {
          this.ruleCount += c.rules.length - (byName.get(c.name)?.rules.length ?? 0);
          byName.set(c.name, c);
        }
        // Renewed ones too, so the next update finds them by identity instead of by content.
        for (const c of changes.renewed) byName.set(c.name, c);
      }
      this.held = next;
      return this;
    };
    return { restore, plans, written };
  }
}
