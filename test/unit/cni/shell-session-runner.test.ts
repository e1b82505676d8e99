import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ShellSessionRunner } from '../../../src/cni/shell-session-runner.js';

describe('a command runner over one long-lived shell', () => {
  const runner = new ShellSessionRunner();
  after(() => runner.close());

  const cases: {
    name: string;
    cmd: string;
    args: string[];
    input?: string;
    expect: { code: number; stdout: string; stderr: string };
  }[] = [
    {
      name: 'output with a final newline',
      cmd: 'echo',
      args: ['hello'],
      expect: { code: 0, stdout: 'hello\n', stderr: '' },
    },
    {
      name: 'output without a final newline',
      cmd: 'printf',
      args: ['%s', 'abc'],
      expect: { code: 0, stdout: 'abc', stderr: '' },
    },
    {
      name: 'arguments with quotes, spaces and $ are passed as they are',
      cmd: 'printf',
      args: ['%s|', "it's", 'a b', '$HOME', '`x`'],
      expect: { code: 0, stdout: "it's|a b|$HOME|`x`|", stderr: '' },
    },
    {
      name: 'the input reaches the command, with a final newline added',
      cmd: 'cat',
      args: [],
      input: 'line 1\n$(not expanded)\nlast',
      expect: { code: 0, stdout: 'line 1\n$(not expanded)\nlast\n', stderr: '' },
    },
    { name: 'an empty input', cmd: 'cat', args: [], input: '', expect: { code: 0, stdout: '', stderr: '' } },
    {
      name: 'no input: the command reads /dev/null, not the shell script',
      cmd: 'cat',
      args: [],
      expect: { code: 0, stdout: '', stderr: '' },
    },
    {
      name: 'the exit code and stderr of a failing command',
      cmd: 'sh',
      args: ['-c', 'echo out; echo err >&2; exit 3'],
      expect: { code: 3, stdout: 'out\n', stderr: 'err\n' },
    },
  ];
  for (const c of cases)
    test(c.name, async () => {
      const r = await runner.run(c.cmd, c.args, c.input === undefined ? {} : { input: c.input });
      assert.deepEqual(r, c.expect);
    });

  test('a missing command is exit 127 with the shell’s message, and the next command still runs', async () => {
    const r = await runner.run('no-such-command-xyz', []);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /not found/);
    assert.deepEqual(await runner.run('echo', ['ok']), { code: 0, stdout: 'ok\n', stderr: '' });
  });

  test('commands issued at once run one after the other and each gets its own output', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runner.run('sh', ['-c', `echo ${i}; echo e${i} >&2`])),
    );
    assert.deepEqual(
      results.map((r) => [r.stdout, r.stderr]),
      Array.from({ length: 20 }, (_, i) => [`${i}\n`, `e${i}\n`]),
    );
  });

  test('a command that exits the shell fails, and a new shell runs the next command', async () => {
    const r = await runner.run('exec', ['true']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the shell exited/);
    assert.deepEqual(await runner.run('echo', ['again']), { code: 0, stdout: 'again\n', stderr: '' });
  });

  test('a command past its timeout is killed with its shell, and the next command runs', async () => {
    const started = Date.now();
    const r = await runner.run('sleep', ['5'], { timeoutMs: 200 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /timed out after 200 ms/);
    assert.ok(Date.now() - started < 4_000);
    assert.deepEqual(await runner.run('echo', ['alive']), { code: 0, stdout: 'alive\n', stderr: '' });
  });
});
