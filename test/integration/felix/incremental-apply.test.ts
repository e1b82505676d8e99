import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessRunner } from '../../../src/kernel/runner.js';
import { Dataplane } from '../../../src/felix/dataplane/index.js';
import type { Chain, ChainHook, DesiredDataplane } from '../../../src/felix/model.js';
import { NetnsLab, requireRootAndTools } from '../../support/netns.js';

/**
 * The incremental apply (what a label change uses) plans from what it wrote, not from the kernel;
 * these tests hold it to the kernel: after each step, our chains in the namespace are exactly what
 * a full apply of the same state writes into a fresh namespace, and chains the step did not
 * change keep their rules (the same kernel rule handles, so their counters too).
 */
const rule = (match: string, action: string) => ({ match, action });
const fwA: Chain = { name: 'cali-fw-a', rules: [rule('-p tcp', '-j cali-pi-x'), rule('', '-j DROP')] };
const fwB: Chain = { name: 'cali-fw-b', rules: [rule('', '-j cali-pi-x'), rule('', '-j RETURN')] };
const piX: Chain = { name: 'cali-pi-x', rules: [rule('-p udp --dport 53', '-j ACCEPT')] };
const forward = (...to: string[]): Chain => ({
  name: 'cali-FORWARD',
  rules: to.map((name) => rule('-i cali+', `-j ${name}`)),
});
const hook: ChainHook = { table: 'filter', chain: 'FORWARD', rules: [rule('', '-j cali-FORWARD')] };

function desired(filter: Chain[], hooks: ChainHook[] = [hook]): DesiredDataplane {
  const none = { chains: { raw: [], mangle: [], nat: [], filter: [] }, hooks: [] };
  return {
    iptables: { 4: { chains: { raw: [], mangle: [], nat: [], filter }, hooks }, 6: none },
    ipsets: [],
    routes: [],
    interfaces: [],
  };
}

const steps: { name: string; state: DesiredDataplane; untouched: string[] }[] = [
  {
    name: 'an endpoint chain rewritten and another added',
    state: desired([
      forward('cali-fw-a', 'cali-fw-b', 'cali-fw-c'),
      fwA,
      { name: 'cali-fw-b', rules: [rule('-p tcp --dport 80', '-j ACCEPT'), rule('', '-j DROP')] },
      { name: 'cali-fw-c', rules: [rule('', '-j cali-pi-x')] },
      piX,
    ]),
    untouched: ['cali-fw-a', 'cali-pi-x'],
  },
  {
    name: 'an endpoint chain dropped, a policy chain renewed with the same rules, the hook changed',
    state: desired(
      [
        forward('cali-fw-c'),
        { name: 'cali-fw-c', rules: [rule('', '-j cali-pi-x')] },
        { name: 'cali-pi-x', rules: piX.rules.map((r) => ({ ...r })) },
      ],
      [{ ...hook, rules: [rule('-m conntrack --ctstate NEW', '-j cali-FORWARD')] }],
    ),
    untouched: ['cali-fw-c', 'cali-pi-x'],
  },
];

describe('incremental applies against a real kernel', () => {
  let lab: NetnsLab;
  let ns: string;
  let dp: Dataplane;

  /** Our chains and hook rules as iptables-save prints them, chain by chain (declaration order aside). */
  const ours = (namespace: string) => {
    const chains = new Map<string, string[]>();
    for (const line of lab.exec(namespace, 'iptables-save', ['-t', 'filter']).split('\n')) {
      const m = /^-A (\S+) (.*)$/.exec(line);
      if (!m?.[1] || !(m[1].startsWith('cali-') || m[2]?.includes('cali:'))) continue;
      chains.set(m[1], [...(chains.get(m[1]) ?? []), m[2] ?? '']);
    }
    return [...chains].sort(([a], [b]) => a.localeCompare(b));
  };
  const handles = (chain: string) =>
    [...lab.exec(ns, 'nft', ['-a', 'list', 'chain', 'ip', 'filter', chain]).matchAll(/# handle (\d+)/g)].map(
      (m) => m[1],
    );

  before(async () => {
    requireRootAndTools(['iptables-save', 'iptables-restore', 'ipset', 'ip', 'nft']);
    lab = new NetnsLab();
    ns = lab.addNamespace('inc');
    dp = new Dataplane(new ProcessRunner(ns), { ipv6: false });
    await dp.apply(desired([forward('cali-fw-a', 'cali-fw-b'), fwA, fwB, piX]), true);
  });
  after(() => lab.cleanup());

  steps.forEach((step, i) =>
    test(`${step.name}: the kernel holds what a full apply writes, and only the changed chains were replaced`, async () => {
      const before = new Map(step.untouched.map((c) => [c, handles(c)]));
      const report = await dp.apply(step.state, false);
      assert.equal(report.changed, true);
      const fresh = lab.addNamespace(`full${i}`);
      await new Dataplane(new ProcessRunner(fresh), { ipv6: false }).apply(step.state, true);
      assert.deepEqual(ours(ns), ours(fresh));
      for (const [chain, hs] of before) assert.deepEqual(handles(chain), hs, `${chain} was rewritten`);
    }),
  );
});
