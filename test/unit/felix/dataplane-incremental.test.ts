import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { CommandResult, CommandRunner, RunOptions } from '../../../src/kernel/runner.js';
import { Dataplane } from '../../../src/felix/dataplane/index.js';
import { chainHashes, ruleHashes } from '../../../src/felix/dataplane/iptables-plan.js';
import type { Chain, DesiredDataplane, IpsetSpec } from '../../../src/felix/model.js';

/** Records every command; answers reads as an empty kernel would. */
class FakeKernel implements CommandRunner {
  readonly calls: { cmd: string; args: readonly string[]; input: string }[] = [];
  run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.calls.push({ cmd, args, input: options.input ?? '' });
    const stdout = cmd === 'ip' && args.includes('show') ? '[]' : '';
    return Promise.resolve({ code: 0, stdout, stderr: '' });
  }
  take(): FakeKernel['calls'] {
    return this.calls.splice(0);
  }
}

const chainA: Chain = { name: 'cali-a', rules: [{ match: '-i cali+', action: '-j DROP' }] };
const chainB: Chain = { name: 'cali-b', rules: [{ match: '', action: '-j ACCEPT', comment: 'b' }] };
const setX: IpsetSpec = { name: 'cali40s:x', type: 'hash:net', family: 4, members: ['10.0.0.1', '10.0.0.2'] };
const setY: IpsetSpec = { name: 'cali40s:y', type: 'hash:net', family: 4, members: ['10.0.1.1'] };

function desired(filter: Chain[], ipsets: IpsetSpec[]): DesiredDataplane {
  const empty = { chains: { raw: [], mangle: [], nat: [], filter: [] }, hooks: [] };
  return {
    iptables: { 4: { chains: { raw: [], mangle: [], nat: [], filter }, hooks: [] }, 6: empty },
    ipsets,
    routes: [{ type: 'workload', dst: '10.0.0.1/32', dev: 'cali0' }],
    interfaces: [{ name: 'cali0', family: [4] }],
  };
}

describe('incremental dataplane applies', () => {
  test('rule hashes are the sha256 chain of Calico-style rule texts, cached or not', () => {
    let prev = '';
    const expected = chainA.rules.concat(chainB.rules).map((r) => {
      prev = createHash('sha256')
        .update(`cali-a\u0000${prev}\u0000${r.match}\u0000${r.action}\u0000${r.comment ?? ''}`)
        .digest('base64url')
        .slice(0, 16);
      return prev;
    });
    const both: Chain = { name: 'cali-a', rules: [...chainA.rules, ...chainB.rules] };
    assert.deepEqual(ruleHashes('cali-a', both.rules), expected);
    assert.deepEqual(chainHashes(both), expected);
    assert.equal(chainHashes(both), chainHashes(both), 'the same chain object is hashed once');
  });

  test('re-applying the same desired state incrementally runs no command at all', async () => {
    const kernel = new FakeKernel();
    const dp = new Dataplane(kernel, { ipv6: false });
    const d = desired([chainA, chainB], [setX, setY]);
    await dp.apply(d, true);
    assert.ok(kernel.take().length > 0);
    const report = await dp.apply(d, false);
    assert.deepEqual(kernel.take(), []);
    assert.equal(report.changed, false);
  });

  const cases: {
    name: string;
    next: DesiredDataplane;
    ipsetInput: string | undefined;
    declared: string[] | undefined;
  }[] = [
    {
      name: "a set with a new member array sends only that set's difference",
      next: desired([chainA, chainB], [{ ...setX, members: ['10.0.0.2', '10.0.0.3'] }, setY]),
      ipsetInput: 'add cali40s:x 10.0.0.3\ndel cali40s:x 10.0.0.1\n',
      declared: undefined,
    },
    {
      name: 'a changed chain is the only one declared (rewritten) in the restore',
      next: desired([chainA, { ...chainB, rules: [{ match: '', action: '-j DROP' }] }], [setX, setY]),
      ipsetInput: undefined,
      declared: [':cali-b - [0:0]'],
    },
  ];
  for (const c of cases)
    test(c.name, async () => {
      const kernel = new FakeKernel();
      const dp = new Dataplane(kernel, { ipv6: false });
      await dp.apply(desired([chainA, chainB], [setX, setY]), true);
      kernel.take();
      await dp.apply(c.next, false);
      const calls = kernel.take();
      const ipset = calls.find((x) => x.cmd === 'ipset');
      assert.equal(ipset?.input, c.ipsetInput);
      const restore = calls.find((x) => x.cmd === 'iptables-restore');
      assert.deepEqual(
        restore?.input.split('\n').filter((l) => l.startsWith(':')),
        c.declared,
      );
      assert.deepEqual(
        calls.map((x) => x.cmd).filter((x) => x !== 'ipset' && x !== 'iptables-restore'),
        [],
        'no reads, no route or sysctl commands on an incremental apply',
      );
    });

  test('a full apply reads the kernel back even when nothing changed', async () => {
    const kernel = new FakeKernel();
    const dp = new Dataplane(kernel, { ipv6: false });
    const d = desired([chainA], [setX]);
    await dp.apply(d, true);
    kernel.take();
    await dp.apply(d, true);
    const cmds = kernel.take().map((c) => `${c.cmd} ${c.args.join(' ')}`);
    assert.ok(cmds.includes('iptables-save '), cmds.join('; '));
    assert.ok(cmds.includes('ipset save'), cmds.join('; '));
  });
});

/**
 * Answers like FakeKernel, but each write (ipset restore, iptables-restore) takes a few event-loop
 * turns and can be told to fail, and the log records when each starts and ends.
 */
class SlowKernel implements CommandRunner {
  readonly log: string[] = [];
  failing: string | undefined;
  async run(cmd: string, args: readonly string[]): Promise<CommandResult> {
    const write = (cmd === 'ipset' && args[0] === 'restore') || cmd === 'iptables-restore';
    if (!write) return { code: 0, stdout: cmd === 'ip' && args.includes('show') ? '[]' : '', stderr: '' };
    this.log.push(`start ${cmd}`);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    this.log.push(`end ${cmd}`);
    return cmd === this.failing
      ? { code: 1, stdout: '', stderr: `${cmd}: refused` }
      : { code: 0, stdout: '', stderr: '' };
  }
}

describe('the ipset write before the iptables write', () => {
  const rewrittenB: Chain = { name: 'cali-b', rules: [{ match: '-p udp', action: '-j DROP' }] };
  const setZ: IpsetSpec = { name: 'cali40s:z', type: 'hash:net', family: 4, members: ['10.0.2.1'] };
  const sequential = ['start ipset', 'end ipset', 'start iptables-restore', 'end iptables-restore'];
  const cases: { name: string; next: DesiredDataplane; log: string[] }[] = [
    {
      name: 'members of existing sets change before the rules are written',
      next: desired([chainA, rewrittenB], [{ ...setX, members: ['10.0.0.9'] }, setY]),
      log: sequential,
    },
    {
      name: 'a new set exists before the rules that may use it are written',
      next: desired([chainA, rewrittenB], [setX, setY, setZ]),
      log: sequential,
    },
    {
      name: 'a set whose type changes (same member array) is rebuilt before the rules are written',
      next: desired([chainA, rewrittenB], [{ ...setX, type: 'hash:ip' }, setY]),
      log: sequential,
    },
    {
      name: 'unchanged sets with changed rules run only the iptables write',
      next: desired([chainA, rewrittenB], [setX, setY]),
      log: ['start iptables-restore', 'end iptables-restore'],
    },
  ];
  for (const c of cases)
    test(c.name, async () => {
      const kernel = new SlowKernel();
      const dp = new Dataplane(kernel, { ipv6: false });
      await dp.apply(desired([chainA, chainB], [setX, setY]), true);
      kernel.log.length = 0;
      await dp.apply(c.next, false);
      assert.deepEqual(kernel.log, c.log);
    });

  test('a refused ipset write fails the apply before any rule is written; the retry reads the kernel back', async () => {
    const kernel = new SlowKernel();
    const dp = new Dataplane(kernel, { ipv6: false });
    await dp.apply(desired([chainA, chainB], [setX, setY]), true);
    kernel.log.length = 0;
    kernel.failing = 'ipset';
    const next = desired([chainA, rewrittenB], [{ ...setX, members: ['10.0.0.9'] }, setY]);
    await assert.rejects(dp.apply(next, false), /ipset restore failed \(exit 1\): ipset: refused/);
    assert.deepEqual(kernel.log, ['start ipset', 'end ipset']);
    kernel.log.length = 0;
    kernel.failing = undefined;
    // The fake kernel reads back empty: the retry creates both sets again, then writes the rules.
    await dp.apply(next, false);
    assert.deepEqual(kernel.log, sequential);
  });
});
