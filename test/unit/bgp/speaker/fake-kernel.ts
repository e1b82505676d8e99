/**
 * A kernel routing table behind `ip` commands, for the FIB and speaker tests: `ip -j route show`
 * lists it, `ip -batch` applies `route replace` / `route del` lines. Anything else fails the test.
 */
import assert from 'node:assert/strict';
import type { CommandResult, CommandRunner, RunOptions } from '../../../../src/kernel/runner.js';

/** A kernel with a routing table of proto-81 routes, driven through `ip` commands. */
export class FakeKernel implements CommandRunner {
  readonly routes = new Map<string, string[]>();
  readonly batches: string[][] = [];
  reads = 0;

  run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    assert.equal(cmd, 'ip');
    if (args[0] === '-j') {
      this.reads++;
      const family = args[1] === '-6' ? 6 : 4;
      const list = [...this.routes]
        .filter(([p]) => p.includes(':') === (family === 6))
        .map(([dst, hops]) =>
          hops.length === 1
            ? { dst, gateway: hops[0] }
            : { dst, nexthops: hops.map((gateway) => ({ gateway })) },
        );
      return Promise.resolve({ code: 0, stdout: JSON.stringify(list), stderr: '' });
    }
    const lines = (options.input ?? '').trim().split('\n');
    this.batches.push(lines);
    for (const line of lines) {
      const words = line.split(' ');
      const prefix = words[2] as string;
      if (words[1] === 'del') this.routes.delete(prefix);
      else this.routes.set(prefix, words.filter((_, i) => words[i - 1] === 'via').sort());
    }
    return Promise.resolve({ code: 0, stdout: '', stderr: '' });
  }
}
