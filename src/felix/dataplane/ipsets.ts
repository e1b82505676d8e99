/**
 * The ipset driver. Selector and net matches in our rules point at ipsets, so a rule costs one
 * line whatever its member count, and a label change is a member add/delete here, not a rule rewrite.
 * Apply runs in two phases around the iptables write: `ensure` creates and updates the sets the new
 * rules need (before the rules that reference them exist), `prune` destroys the sets no rule uses any
 * more (after the rules that referenced them are gone). Both read `ipset save` first and write one
 * `ipset restore` batch. A set whose type changed is rebuilt beside the old one and swapped in.
 *
 * With IPv6 off the driver neither sees nor writes IPv6 sets (`cali6...`): it creates none, and it
 * does not destroy ours left from a run with IPv6 on, because our ip6tables chains from that run may
 * still reference them (a destroy of a set in use fails, and with it the whole apply).
 */
import type { CommandRunner } from '../../kernel/runner.js';
import { runChecked } from '../../kernel/runner.js';
import type { IpsetSpec } from '../model.js';

/** Our sets are named `cali40...` / `cali60...` (IPv4 / IPv6), as Calico names them. */
export const isOurSet = (name: string): boolean => /^cali[46]/.test(name);

interface SavedSet {
  type: string;
  family: string;
  members: Set<string>;
}

/** Host entries print without their /32 or /128; compare on that form. */
export function canonicalMember(m: string): string {
  return m.replace(/\/(32|128)$/, '');
}

export function parseIpsetSave(text: string): Map<string, SavedSet> {
  const sets = new Map<string, SavedSet>();
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts[0] === 'create' && parts[1]) {
      const fi = parts.indexOf('family');
      sets.set(parts[1], {
        type: parts[2] ?? '',
        family: fi > 0 ? (parts[fi + 1] ?? '') : 'inet',
        members: new Set(),
      });
    } else if (parts[0] === 'add' && parts[1] && parts[2]) {
      sets.get(parts[1])?.members.add(canonicalMember(parts[2]));
    }
  }
  return sets;
}

const familyOf = (s: IpsetSpec) => (s.family === 4 ? 'inet' : 'inet6');

/** The restore input that makes every desired set exist with exactly its members. */
export function planIpsetEnsure(desired: readonly IpsetSpec[], actual: Map<string, SavedSet>): string {
  const lines: string[] = [];
  for (const set of desired) {
    const want = new Set(set.members.map(canonicalMember));
    const have = actual.get(set.name);
    const create = (name: string) => `create ${name} ${set.type} family ${familyOf(set)} maxelem 1048576`;
    if (!have) {
      lines.push(create(set.name));
      for (const m of want) lines.push(`add ${set.name} ${m}`);
    } else if (have.type !== set.type || have.family !== familyOf(set)) {
      // Rebuild beside it and swap, so rules referencing the set never see it missing.
      const tmp = `cali${set.family}t:${set.name.slice(6, 28)}`.slice(0, 31);
      if (actual.has(tmp)) lines.push(`destroy ${tmp}`);
      lines.push(create(tmp));
      for (const m of want) lines.push(`add ${tmp} ${m}`);
      lines.push(`swap ${tmp} ${set.name}`, `destroy ${tmp}`);
    } else {
      for (const m of want) if (!have.members.has(m)) lines.push(`add ${set.name} ${m}`);
      for (const m of have.members) if (!want.has(m)) lines.push(`del ${set.name} ${m}`);
    }
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

export function planIpsetPrune(desired: readonly IpsetSpec[], actual: Map<string, SavedSet>): string {
  const wanted = new Set(desired.map((s) => s.name));
  const lines = [...actual.keys()].filter((n) => isOurSet(n) && !wanted.has(n)).map((n) => `destroy ${n}`);
  return lines.length ? lines.join('\n') + '\n' : '';
}

export class IpsetDriver {
  /** Our sets as we last wrote them; trusted between full applies, which read the kernel back. */
  private cache: Map<string, SavedSet> | undefined;
  /**
   * The member array each set was last brought in line with. The renderer hands out the same array
   * while a set's members do not change, so an incremental apply skips those sets by identity
   * instead of comparing tens of thousands of members.
   */
  private readonly appliedMembers = new Map<string, readonly string[]>();

  private readonly ipv6: boolean;

  /** `ipv6: false`: leave `cali6...` sets alone, ours included. */
  constructor(
    private readonly runner: CommandRunner,
    options: { readonly ipv6?: boolean } = {},
  ) {
    this.ipv6 = options.ipv6 ?? true;
  }

  /** Our sets of the families this driver programs (the name says the family: `cali4...`, `cali6...`). */
  private manages(name: string): boolean {
    return isOurSet(name) && (this.ipv6 || !name.startsWith('cali6'));
  }

  private programmed(desired: readonly IpsetSpec[]): readonly IpsetSpec[] {
    return this.ipv6 ? desired : desired.filter((s) => s.family === 4);
  }

  private async read(full: boolean): Promise<Map<string, SavedSet>> {
    if (!full && this.cache) return this.cache;
    this.appliedMembers.clear();
    const all = parseIpsetSave(await runChecked(this.runner, 'ipset', ['save']));
    this.cache = new Map([...all].filter(([name]) => this.manages(name)));
    return this.cache;
  }

  private async restore(input: string): Promise<void> {
    if (!input) return;
    const cache = this.cache;
    // If the restore fails, nothing we remember can be trusted: the next apply reads the kernel.
    this.cache = undefined;
    try {
      await runChecked(this.runner, 'ipset', ['restore'], { input });
    } catch (e) {
      this.appliedMembers.clear();
      throw e;
    }
    this.cache = cache;
  }

  /** Phase 1: create and update; returns the number of members programmed. */
  async ensure(requested: readonly IpsetSpec[], full = true): Promise<{ changed: boolean; members: number }> {
    const desired = this.programmed(requested);
    const actual = await this.read(full);
    const applied = this.appliedMembers;
    // The same member array as last time says nothing about the type: a set rebuilt with another
    // type (and the same members) must not be skipped.
    const unchanged = (s: IpsetSpec) => {
      const have = applied.get(s.name) === s.members ? actual.get(s.name) : undefined;
      return have !== undefined && have.type === s.type && have.family === familyOf(s);
    };
    const todo = desired.filter((s) => !unchanged(s));
    const input = planIpsetEnsure(todo, actual);
    await this.restore(input);
    for (const s of todo) {
      actual.set(s.name, {
        type: s.type,
        family: s.family === 4 ? 'inet' : 'inet6',
        members: new Set(s.members.map(canonicalMember)),
      });
      this.appliedMembers.set(s.name, s.members);
    }
    return { changed: input.length > 0, members: desired.reduce((n, s) => n + s.members.length, 0) };
  }

  /** Phase 2: destroy our sets that nothing wants. */
  async prune(requested: readonly IpsetSpec[], full = true): Promise<boolean> {
    const desired = this.programmed(requested);
    const actual = await this.read(full);
    const input = planIpsetPrune(desired, actual);
    await this.restore(input);
    const wanted = new Set(desired.map((s) => s.name));
    for (const name of [...actual.keys()])
      if (!wanted.has(name)) {
        actual.delete(name);
        this.appliedMembers.delete(name);
      }
    return input.length > 0;
  }
}
