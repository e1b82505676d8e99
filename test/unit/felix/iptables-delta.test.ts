import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WrittenIptables } from '../../../src/felix/dataplane/iptables-delta.js';
import { expectedAfter, planIptables } from '../../../src/felix/dataplane/iptables-plan.js';
import type { Chain, ChainHook, IptRule, IptablesState, IptablesTable } from '../../../src/felix/model.js';

const rule = (action: string, match = ''): IptRule => ({ match, action });
const chain = (name: string, ...rules: IptRule[]): Chain => ({ name, rules });
const state = (filter: Chain[], hooks: ChainHook[] = [], nat: Chain[] = []): IptablesState => ({
  chains: { raw: [], mangle: [], nat, filter },
  hooks,
});

const a = chain('cali-a', rule('-j DROP', '-i cali+'));
const b = chain('cali-b', rule('-j ACCEPT'));
const c = chain('cali-c', rule('-j RETURN', '-m mark --mark 0x1/0x1'));
const hookFwd: ChainHook = { table: 'filter', chain: 'FORWARD', rules: [rule('-j cali-FORWARD')] };
const hookIn: ChainHook = { table: 'filter', chain: 'INPUT', rules: [rule('-j cali-INPUT')] };
const prev = state([a, b, c], [hookFwd, hookIn]);

/** The restore lines that name a chain's fate: declared (written or deleted), deleted, hook edits. */
const fateLines = (restore: string) => restore.split('\n').filter((l) => /^(:|-X |-D |-I |\*)/.test(l));

describe('WrittenIptables.planTo: the restore between the state we wrote and the next', () => {
  const cases: { name: string; next: IptablesState; lines: string[] }[] = [
    { name: 'the very same state writes nothing', next: prev, lines: [] },
    {
      name: 'new chain arrays holding the same chain objects write nothing',
      next: state([a, b, c], [hookFwd, hookIn]),
      lines: [],
    },
    {
      name: 'a chain copied with the same rules writes nothing',
      next: state([a, chain('cali-b', rule('-j ACCEPT')), c], [hookFwd, hookIn]),
      lines: [],
    },
    {
      name: 'a chain replaced in place is the only one declared',
      next: state([a, chain('cali-b', rule('-j DROP')), c], [hookFwd, hookIn]),
      lines: ['*filter', ':cali-b - [0:0]'],
    },
    {
      name: 'a chain added in the middle is declared, its neighbours are not',
      next: state([a, chain('cali-ab', rule('-j DROP')), b, c], [hookFwd, hookIn]),
      lines: ['*filter', ':cali-ab - [0:0]'],
    },
    {
      name: 'a chain dropped is declared (flushed) and deleted',
      next: state([a, c], [hookFwd, hookIn]),
      lines: ['*filter', ':cali-b - [0:0]', '-X cali-b'],
    },
    {
      name: "a changed hook's old rules are deleted and the new ones inserted at the top",
      next: state([a, b, c], [{ ...hookFwd, rules: [rule('-j cali-FORWARD', '-i eth0')] }, hookIn]),
      lines: [
        '*filter',
        '-D FORWARD -m comment --comment "cali:',
        '-I FORWARD 1 -m comment --comment "cali:',
      ],
    },
    {
      name: 'a hook no longer wanted has its rules deleted and nothing inserted',
      next: state([a, b, c], [hookFwd]),
      lines: ['*filter', '-D INPUT -m comment --comment "cali:'],
    },
    {
      name: 'a chain in another table gets its own table block',
      next: state([a, b, c], [hookFwd, hookIn], [chain('cali-nat-outgoing', rule('-j MASQUERADE'))]),
      lines: ['*nat', ':cali-nat-outgoing - [0:0]'],
    },
  ];
  for (const t of cases)
    test(t.name, () => {
      const lines = fateLines(WrittenIptables.of(prev).planTo(t.next).restore);
      assert.equal(lines.length, t.lines.length, lines.join('\n'));
      t.lines.forEach((expected, i) =>
        assert.ok(lines[i]?.startsWith(expected), `${lines[i]} / ${expected}`),
      );
    });

  test('each step gives the restore input the full plan gives against what the kernel holds', () => {
    const names = ['cali-a', 'cali-b', 'cali-c', 'cali-d', 'cali-e'];
    const rules = fc.array(
      fc.record({
        match: fc.constantFrom('', '-i cali+', '-m mark --mark 0x1/0x1'),
        action: fc.constantFrom('-j DROP', '-j ACCEPT', '-j RETURN'),
      }),
      { maxLength: 3 },
    );
    const chainsArb = fc
      .uniqueArray(fc.constantFrom(...names), { maxLength: names.length })
      .chain((ns) => fc.tuple(...ns.map((name) => rules.map((rs) => chain(name, ...rs)))));
    const hooksArb = fc.array(
      fc.record({
        table: fc.constantFrom<IptablesTable>('filter', 'nat'),
        chain: fc.constantFrom('FORWARD', 'INPUT', 'POSTROUTING'),
        rules,
      }),
      { maxLength: 3 },
    );
    // How each chain of the next state relates to the one before: the same object, a copy, new
    // rules, or gone; plus chains that were not there, and the order shuffled or not.
    const step = fc.record({
      fates: fc.array(fc.constantFrom('same', 'copy', 'rewritten', 'gone'), { minLength: 5, maxLength: 5 }),
      fresh: fc.record({ filter: chainsArb, nat: chainsArb }),
      reverse: fc.boolean(),
      hooks: fc.option(hooksArb),
    });
    const evolve = (
      cs: readonly Chain[],
      s: { fates: string[]; reverse: boolean },
      extra: readonly Chain[],
    ) => {
      const out: Chain[] = [];
      cs.forEach((ch, i) => {
        const f = s.fates[i % s.fates.length];
        if (f === 'same') out.push(ch);
        else if (f === 'copy') out.push({ name: ch.name, rules: ch.rules.map((r) => ({ ...r })) });
        else if (f === 'rewritten') out.push(chain(ch.name, rule('-j DROP', '-p tcp')));
      });
      out.splice(Math.min(1, out.length), 0, ...extra.filter((e) => !cs.some((ch) => ch.name === e.name)));
      return s.reverse ? out.reverse() : out;
    };
    const ruleCount = (st: IptablesState) =>
      Object.values(st.chains).reduce((n, cs) => n + cs.reduce((m, c) => m + c.rules.length, 0), 0);
    fc.assert(
      fc.property(
        fc.record({ filter: chainsArb, nat: chainsArb }),
        hooksArb,
        fc.array(step, { minLength: 1, maxLength: 4 }),
        (first, hooks, steps) => {
          let held: IptablesState = { chains: { raw: [], mangle: [], ...first }, hooks };
          let written = WrittenIptables.of(held);
          for (const s of steps) {
            const next: IptablesState = {
              chains: {
                raw: [],
                mangle: [],
                filter: evolve(held.chains.filter, s, s.fresh.filter),
                nat: evolve(held.chains.nat, s, s.fresh.nat),
              },
              hooks: s.hooks ?? held.hooks,
            };
            const update = written.planTo(next);
            assert.equal(update.restore, planIptables(next, expectedAfter(held)).restore);
            written = update.written();
            assert.equal(written.rules, ruleCount(next));
            held = next;
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
