/**
 * calico-node (in-process, no Felix, a fake kernel) serves its status socket, and `calicoctl node
 * status` reports what the speaker is doing — or why there is none.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { MemoryDatastore } from '../../../../src/datastore/memory.js';
import type { CommandResult, CommandRunner, RunOptions } from '../../../../src/kernel/runner.js';
import { CalicoNode } from '../../../../src/node/daemon.js';
import { main as calicoctl } from '../../../../src/cli/main.js';
import { FakeKernel } from './fake-kernel.js';

/** The fake kernel for `ip`, and a `sysctl` that always succeeds. */
class FakeHost implements CommandRunner {
  readonly kernel = new FakeKernel();
  run(cmd: string, args: readonly string[], options?: RunOptions): Promise<CommandResult> {
    if (cmd === 'sysctl') return Promise.resolve({ code: 0, stdout: '', stderr: '' });
    return this.kernel.run(cmd, args, options);
  }
}

async function nodeStatus(runDir: string, node: string): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await calicoctl(['node', 'status', '--node', node], {
    stdout: (t) => (out += t),
    stderr: (t) => (out += t),
    readStdin: async () => '',
    env: { CALICO_RUN_DIR: runDir, CALICOCTL_DEFAULT_CONFIG: join(runDir, 'none.cfg') },
  });
  return { code, out };
}

describe('calico-node status socket', () => {
  const TABLE = [
    {
      name: 'with BGP off (--no-bgp, CALICO_NETWORKING_BACKEND=none) the process runs and BGP is reported off',
      bgp: false,
      want: /^Calico process is running\.\n\nBGP is not running: the BGP speaker is not running \(--no-bgp or CALICO_NETWORKING_BACKEND=none\)\.\n$/,
    },
    {
      name: 'with BGP on but no Node resource for this node, it says what is missing',
      bgp: true,
      want: /BGP is not running: the BGP speaker has no Node resource with a BGP address for this node yet\./,
    },
  ];
  for (const row of TABLE) {
    test(row.name, async () => {
      const runDir = mkdtempSync(join(tmpdir(), 'calico-ts-run-'));
      const node = new CalicoNode({
        nodeName: 'lonely',
        datastore: new MemoryDatastore(),
        runner: new FakeHost(),
        logger: pino({ level: 'silent' }),
        felix: false,
        bgp: row.bgp,
        runDir,
      });
      try {
        await node.start();
        const r = await nodeStatus(runDir, 'lonely');
        assert.equal(r.code, 0);
        assert.match(r.out, row.want);
      } finally {
        await node.stop();
        rmSync(runDir, { recursive: true, force: true });
      }
      const after = await nodeStatus(runDir, 'lonely');
      assert.equal(after.code, 1, 'after stop the socket is gone');
      assert.match(after.out, /^Calico process is not running\.\n/);
    });
  }
});
