/**
 * The pure half of the iptables driver, after Calico's felix/iptables/table.go:
 *
 * - Every rule we write carries `-m comment --comment "cali:<hash>"`, where the hash covers the
 *   chain name, the previous rule's hash and the rule's own text. Reading the dataplane back means
 *   reading those hashes out of `iptables-save`, never parsing rules: a chain whose hashes match the
 *   desired ones is left alone, so counters survive and an update touches only what changed.
 * - Our chains (`cali-*`) are owned whole: a chain that differs is rewritten in one
 *   `iptables-restore --noflush` transaction, and a `cali-*` chain nobody wants is removed.
 * - Kernel chains (FORWARD, INPUT, ...) are shared with other programs: we only insert our hook
 *   rules at the top and delete rules carrying our hash comment. Everybody else's rules stay put.
 */
import * as crypto from 'node:crypto';
import type { Chain, ChainHook, IptRule, IptablesState, IptablesTable } from '../model.js';
import { IPTABLES_TABLES } from '../model.js';

export const OUR_CHAIN_PREFIX = 'cali-';
const HASH_RE = /--comment "?cali:([A-Za-z0-9_-]+)"?/;

// One-shot `crypto.hash` (Node >= 20.12) is about twice as fast as createHash for short texts;
// both give the same digest, so the hashes in the kernel do not depend on which one ran.
const sha256 =
  typeof crypto.hash === 'function'
    ? (text: string) => crypto.hash('sha256', text, 'base64url')
    : (text: string) => crypto.createHash('sha256').update(text).digest('base64url');

/** One hash per rule, each chained on the one before, so an insertion shifts every later hash. */
export function ruleHashes(chain: string, rules: readonly IptRule[]): string[] {
  let prev = '';
  return rules.map((r) => {
    prev = sha256(`${chain}\u0000${prev}\u0000${r.match}\u0000${r.action}\u0000${r.comment ?? ''}`).slice(
      0,
      16,
    );
    return prev;
  });
}

/**
 * Hashes per chain or hook object. The renderer hands out the same object for a chain that did
 * not change, so a large ruleset is hashed once, and an update hashes only the chains it touched.
 */
const hashMemo = new WeakMap<Chain | ChainHook, readonly string[]>();

export function chainHashes(chain: Chain | ChainHook): readonly string[] {
  let hashes = hashMemo.get(chain);
  if (!hashes) {
    hashes = ruleHashes('name' in chain ? chain.name : chain.chain, chain.rules);
    hashMemo.set(chain, hashes);
  }
  return hashes;
}

/** Quotes a comment for iptables-restore input. */
function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '').slice(0, 250)}"`;
}

/** The rule's argument text after `-A CHAIN` / `-I CHAIN N`, with its hash comment. */
export function ruleArgs(rule: IptRule, hash: string): string {
  return [
    `-m comment --comment "cali:${hash}"`,
    rule.comment ? `-m comment --comment ${quote(rule.comment)}` : '',
    rule.match,
    rule.action,
  ]
    .filter((s) => s.length > 0)
    .join(' ');
}

export interface SavedChain {
  /** Hash of each rule, or null for a rule that is not ours. */
  readonly hashes: readonly (string | null)[];
  /**
   * The rules as iptables-save printed them (after `-A CHAIN `). Needed only for kernel chains,
   * where our rules are deleted one by one; our own `cali-*` chains are replaced whole, so a
   * remembered (not read back) `cali-*` chain may leave this empty.
   */
  readonly lines: readonly string[];
}

export type SavedTables = Map<IptablesTable, Map<string, SavedChain>>;

/** Reads `iptables-save` output into chains with their rules' hashes. */
export function parseIptablesSave(text: string): SavedTables {
  const tables: SavedTables = new Map();
  let current: Map<string, SavedChain> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      current = new Map();
      tables.set(line.slice(1).trim() as IptablesTable, current);
    } else if (line.startsWith(':') && current) {
      const name = line.slice(1).split(' ')[0] ?? '';
      current.set(name, { hashes: [], lines: [] });
    } else if (line.startsWith('-A ') && current) {
      const rest = line.slice(3);
      const space = rest.indexOf(' ');
      const chain = space < 0 ? rest : rest.slice(0, space);
      let saved = current.get(chain);
      if (!saved) current.set(chain, (saved = { hashes: [], lines: [] }));
      (saved.lines as string[]).push(space < 0 ? '' : rest.slice(space + 1));
      (saved.hashes as (string | null)[]).push(HASH_RE.exec(line)?.[1] ?? null);
    }
  }
  return tables;
}

const sameHashes = (a: readonly (string | null)[], b: readonly string[]) =>
  a.length === b.length && a.every((h, i) => h === b[i]);

export interface TablePlan {
  /** iptables-restore --noflush input, or empty when the table is already as desired. */
  readonly restore: string;
  readonly chainsWritten: string[];
  readonly chainsDeleted: string[];
  readonly hooksRewritten: string[];
}

/** What it takes to bring one table from `actual` to the desired chains and hooks. */
export function planTable(
  table: IptablesTable,
  desiredChains: readonly Chain[],
  desiredHooks: readonly ChainHook[],
  actual: Map<string, SavedChain> | undefined,
): TablePlan {
  const have = actual ?? new Map<string, SavedChain>();
  const declare: string[] = [];
  const body: string[] = [];
  const tail: string[] = [];
  const chainsWritten: string[] = [];
  const chainsDeleted: string[] = [];
  const hooksRewritten: string[] = [];
  const wanted = new Set(desiredChains.map((c) => c.name));

  for (const chain of desiredChains) {
    const hashes = chainHashes(chain);
    const saved = have.get(chain.name);
    // The same array means we wrote exactly this chain object last time (see expectedAfter).
    if (saved && (saved.hashes === hashes || sameHashes(saved.hashes, hashes))) continue;
    // Declaring a chain in --noflush mode creates it, or flushes it if it exists.
    declare.push(`:${chain.name} - [0:0]`);
    chain.rules.forEach((r, i) => body.push(`-A ${chain.name} ${ruleArgs(r, hashes[i] ?? '')}`));
    chainsWritten.push(chain.name);
  }

  for (const hook of desiredHooks.filter((h) => h.table === table)) {
    const hashes = chainHashes(hook);
    const saved = have.get(hook.chain) ?? { hashes: [], lines: [] };
    const ours = saved.hashes.filter((h) => h !== null);
    const atTop = sameHashes(saved.hashes.slice(0, hashes.length), hashes) && ours.length === hashes.length;
    if (atTop) continue;
    saved.lines.forEach((l, i) => {
      if (saved.hashes[i] !== null) body.push(`-D ${hook.chain} ${l}`);
    });
    hook.rules.forEach((r, i) => body.push(`-I ${hook.chain} ${i + 1} ${ruleArgs(r, hashes[i] ?? '')}`));
    hooksRewritten.push(hook.chain);
  }
  // Our rules left in kernel chains that no longer have a hook (e.g. a table we stopped using).
  const hooked = new Set(desiredHooks.filter((h) => h.table === table).map((h) => h.chain));
  for (const [name, saved] of have) {
    if (name.startsWith(OUR_CHAIN_PREFIX) || hooked.has(name)) continue;
    saved.lines.forEach((l, i) => {
      if (saved.hashes[i] !== null) body.push(`-D ${name} ${l}`);
    });
    if (saved.hashes.some((h) => h !== null)) hooksRewritten.push(name);
  }
  for (const name of have.keys()) {
    if (!name.startsWith(OUR_CHAIN_PREFIX) || wanted.has(name)) continue;
    declare.push(`:${name} - [0:0]`);
    tail.push(`-X ${name}`);
    chainsDeleted.push(name);
  }
  if (!declare.length && !body.length && !tail.length)
    return { restore: '', chainsWritten, chainsDeleted, hooksRewritten };
  const restore = [`*${table}`, ...declare, ...body, ...tail, 'COMMIT', ''].join('\n');
  return { restore, chainsWritten, chainsDeleted, hooksRewritten };
}

/** Plans every table of one IP version; returns the combined restore input (empty if nothing to do). */
export function planIptables(
  desired: IptablesState,
  actual: SavedTables,
): { restore: string; plans: Record<IptablesTable, TablePlan> } {
  const plans = {} as Record<IptablesTable, TablePlan>;
  let restore = '';
  for (const table of IPTABLES_TABLES) {
    const plan = planTable(table, desired.chains[table] ?? [], desired.hooks, actual.get(table));
    plans[table] = plan;
    restore += plan.restore;
  }
  return { restore, plans };
}

/**
 * What the kernel holds after a successful restore of `desired`, in the form `parseIptablesSave`
 * returns, so the next apply can diff against it without reading the kernel. Foreign rules in
 * kernel chains are not known here; they only matter on a full (read-back) apply.
 */
export function expectedAfter(desired: IptablesState): SavedTables {
  const tables: SavedTables = new Map();
  for (const table of IPTABLES_TABLES) {
    const chains = new Map<string, SavedChain>();
    // Our chains are replaced whole, never edited rule by rule: their hashes are all we need.
    for (const chain of desired.chains[table] ?? [])
      chains.set(chain.name, { hashes: chainHashes(chain), lines: [] });
    for (const hook of desired.hooks.filter((h) => h.table === table)) {
      const hashes = chainHashes(hook);
      chains.set(hook.chain, { hashes, lines: hook.rules.map((r, i) => ruleArgs(r, hashes[i] ?? '')) });
    }
    tables.set(table, chains);
  }
  return tables;
}
