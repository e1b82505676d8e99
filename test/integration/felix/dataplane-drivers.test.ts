import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessRunner } from '../../../src/kernel/runner.js';
import { Dataplane } from '../../../src/felix/dataplane/index.js';
import type { DesiredDataplane, IptablesState } from '../../../src/felix/model.js';
import { NetnsLab, requireRootAndTools } from '../../support/netns.js';

const emptyV6: IptablesState = { chains: { raw: [], mangle: [], nat: [], filter: [] }, hooks: [] };

function desired(members: string[], extraRule = false): DesiredDataplane {
  return {
    iptables: {
      4: {
        chains: {
          raw: [],
          mangle: [],
          nat: [],
          filter: [
            {
              name: 'cali-FORWARD',
              rules: [
                { match: '-m conntrack --ctstate INVALID', action: '-j DROP' },
                { match: '-m set --match-set cali40s:test src', action: '-j ACCEPT' },
                ...(extraRule ? [{ match: '-p tcp --dport 80', action: '-j ACCEPT' }] : []),
              ],
            },
            { name: 'cali-pi-x', rules: [{ match: '', action: '', comment: 'Start of policy' }] },
          ],
        },
        hooks: [{ table: 'filter', chain: 'FORWARD', rules: [{ match: '', action: '-j cali-FORWARD' }] }],
      },
      6: emptyV6,
    },
    ipsets: [{ name: 'cali40s:test', type: 'hash:net', family: 4, members }],
    routes: [{ type: 'blackhole', dst: '10.65.0.0/26' }],
    interfaces: [],
  };
}

describe('dataplane drivers against real iptables, ipset and ip in a namespace', () => {
  let lab: NetnsLab;
  let ns: string;
  let dp: Dataplane;
  const save = () => lab.exec(ns, 'iptables-save', ['-t', 'filter']);

  before(() => {
    requireRootAndTools(['iptables-save', 'iptables-restore', 'ipset', 'ip']);
    lab = new NetnsLab();
    ns = lab.addNamespace('dp');
    dp = new Dataplane(new ProcessRunner(ns));
  });
  after(() => lab.cleanup());

  test('the first apply creates chains, the FORWARD hook, the ipset and the blackhole route', async () => {
    const r = await dp.apply(desired(['10.65.0.1', '10.66.0.0/24']));
    assert.equal(r.changed, true);
    const text = save();
    assert.match(text, /^:cali-FORWARD - /m);
    assert.match(text, /^-A FORWARD -m comment --comment "cali:[\w-]+" -j cali-FORWARD$/m);
    assert.match(
      text,
      /^-A cali-pi-x -m comment --comment "cali:[\w-]+" -m comment --comment "Start of policy"$/m,
    );
    const set = lab.exec(ns, 'ipset', ['list', 'cali40s:test']);
    assert.match(set, /10\.65\.0\.1\n/);
    assert.match(set, /10\.66\.0\.0\/24/);
    assert.match(lab.exec(ns, 'ip', ['route', 'show', 'proto', '80']), /blackhole 10\.65\.0\.0\/26/);
  });

  test('applying the same state again changes nothing', async () => {
    const before = save().replace(/^#.*$/gm, '');
    const r = await dp.apply(desired(['10.65.0.1', '10.66.0.0/24']));
    assert.equal(r.changed, false);
    assert.equal(save().replace(/^#.*$/gm, ''), before);
  });

  test('a member change touches the set, not the rules', async () => {
    const r = await dp.apply(desired(['10.65.0.2']));
    assert.equal(r.chainsWritten, 0);
    const set = lab.exec(ns, 'ipset', ['list', 'cali40s:test']);
    assert.match(set, /10\.65\.0\.2/);
    assert.doesNotMatch(set, /10\.65\.0\.1\n/);
  });

  test('a flushed chain and a deleted hook are put back; a foreign FORWARD rule stays', async () => {
    lab.exec(ns, 'iptables', ['-I', 'FORWARD', '1', '-s', '192.0.2.1', '-j', 'DROP']);
    lab.exec(ns, 'iptables', ['-F', 'cali-FORWARD']);
    lab.exec(ns, 'iptables', [
      '-D',
      'FORWARD',
      '-m',
      'comment',
      '--comment',
      hookComment(save()),
      '-j',
      'cali-FORWARD',
    ]);
    assert.doesNotMatch(save(), /-j cali-FORWARD/);
    const r = await dp.apply(desired(['10.65.0.2']));
    assert.equal(r.changed, true);
    const text = save();
    assert.match(text, /-A cali-FORWARD .*INVALID -j DROP/);
    const forward = text.split('\n').filter((l) => l.startsWith('-A FORWARD'));
    assert.match(forward[0] ?? '', /-j cali-FORWARD$/, 'our hook is back at the top');
    assert.ok(
      forward.some((l) => l.includes('-s 192.0.2.1/32 -j DROP')),
      'the foreign rule is untouched',
    );
  });

  test('a rule inserted in a chain rewrites that chain only', async () => {
    const r = await dp.apply(desired(['10.65.0.2'], true));
    assert.equal(r.chainsWritten, 1);
    assert.match(save(), /-A cali-FORWARD -p tcp .*--dport 80 -j ACCEPT/);
  });

  test('removeAll leaves no cali chain, hook or set, and other rules alone', async () => {
    await dp.removeAll();
    const text = save();
    assert.doesNotMatch(text, /cali/);
    assert.match(text, /-s 192\.0\.2\.1\/32 -j DROP/);
    assert.doesNotMatch(lab.exec(ns, 'ipset', ['list', '-n']), /cali/);
  });
});

function hookComment(text: string): string {
  const m = /^-A FORWARD -m comment --comment "(cali:[\w-]+)" -j cali-FORWARD$/m.exec(text);
  if (!m?.[1]) throw new Error('hook not found');
  return m[1];
}
