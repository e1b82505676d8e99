/**
 * A scripted command runner for the start-up and checksystem tests: each command line (program and
 * arguments joined by spaces) answers from a table, unknown commands fail as if not installed, and
 * every call is recorded so tests can say which kernel changes were asked for.
 */
import type { CommandResult, CommandRunner, RunOptions } from '../../../src/kernel/runner.js';

export type Answer = Partial<CommandResult> | ((calls: readonly string[]) => Partial<CommandResult>);

export class FakeKernel implements CommandRunner {
  readonly calls: string[] = [];
  constructor(private readonly answers: Record<string, Answer>) {}

  run(cmd: string, args: readonly string[], _options?: RunOptions): Promise<CommandResult> {
    const line = [cmd, ...args].join(' ');
    this.calls.push(line);
    const a = this.answers[line];
    if (a === undefined)
      return Promise.reject(new Error(`${cmd} is not installed (fake kernel has no answer for "${line}")`));
    const r = typeof a === 'function' ? a(this.calls) : a;
    return Promise.resolve({ code: r.code ?? 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' });
  }
}
