/**
 * A `CommandRunner` over one long-lived `/bin/sh`, for calico-node's CNI server. Why: starting a
 * process from Node costs ~5 ms (a fork of a large process, pipes, event-loop round trips), more
 * than the `ip -batch` it starts takes to run, and an ADD needs two of them (host side, container
 * side). A small shell that is already running forks `ip` for well under a millisecond, so each
 * command is written to the shell's stdin and its output read back between markers.
 *
 * Per command (N counts commands, R is random per shell, so output cannot fake a marker):
 *
 *   'cmd' 'arg'... <<'__calico_in_R_N' ; printf '\n__calico_end_R_N %d\n' "$?" ; printf '\n__calico_end_R_N\n' >&2
 *   <input>
 *   __calico_in_R_N
 *
 * stdout is everything before `\n__calico_end_R_N <code>\n`, stderr everything before its own marker.
 * Commands run one at a time, in order (the shell is sequential anyway; kernel commands are short).
 * The input always reaches the command through the here-document (or /dev/null), never the shell's
 * own stdin, and gets a final newline if it has none (what line-based tools like `ip -batch` read
 * anyway). A command that outlives its timeout kills the shell's process group; the next command
 * starts a new shell, as does any command after the shell exits.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { CommandResult, CommandRunner, RunOptions } from '../kernel/runner.js';

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

interface Pending {
  readonly marker: string;
  readonly resolve: (r: CommandResult) => void;
  readonly timer: NodeJS.Timeout;
}

class ShellSession {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly nonce = randomBytes(6).toString('hex');
  private counter = 0;
  private stdout = '';
  private stderr = '';
  private pending: Pending | undefined;
  exited = false;

  constructor(shell: string) {
    // Its own process group, so a timeout can kill the shell and the command it is running.
    this.child = spawn(shell, [], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.child.unref();
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.settle();
    });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.settle();
    });
    this.child.stdin.on('error', () => undefined);
    this.child.on('error', () => this.die('the shell could not start'));
    this.child.on('exit', () => this.die('the shell exited'));
  }

  private die(why: string): void {
    this.exited = true;
    const p = this.pending;
    this.pending = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.resolve({ code: 1, stdout: '', stderr: `${why} while running a command` });
    }
  }

  private settle(): void {
    const p = this.pending;
    if (!p) return;
    const outEnd = new RegExp(`\\n${p.marker} (\\d+)\\n`).exec(this.stdout);
    const errAt = this.stderr.indexOf(`\n${p.marker}\n`);
    if (!outEnd || errAt < 0) return;
    const result = {
      code: Number(outEnd[1]),
      stdout: this.stdout.slice(0, outEnd.index),
      stderr: this.stderr.slice(0, errAt),
    };
    this.stdout = this.stdout.slice(outEnd.index + outEnd[0].length);
    this.stderr = this.stderr.slice(errAt + p.marker.length + 2);
    this.pending = undefined;
    clearTimeout(p.timer);
    p.resolve(result);
  }

  run(cmd: string, args: readonly string[], options: RunOptions): Promise<CommandResult> {
    this.counter += 1;
    const marker = `__calico_end_${this.nonce}_${this.counter}`;
    const inputEnd = `__calico_in_${this.nonce}_${this.counter}`;
    const command = [cmd, ...args].map(quote).join(' ');
    const input = options.input ?? '';
    const script = options.input === undefined ? `${command} </dev/null` : `${command} <<'${inputEnd}'`;
    const body =
      options.input === undefined
        ? ''
        : `${input}${input === '' || input.endsWith('\n') ? '' : '\n'}${inputEnd}\n`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        try {
          process.kill(-(this.child.pid ?? 0), 'SIGKILL');
        } catch {
          // Already gone.
        }
        this.die(`timed out after ${options.timeoutMs ?? 30_000} ms`);
      }, options.timeoutMs ?? 30_000);
      this.pending = { marker, resolve, timer };
      this.child.stdin.write(
        `${script} ; printf '\\n${marker} %d\\n' "$?" ; printf '\\n${marker}\\n' >&2\n${body}`,
      );
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}

export class ShellSessionRunner implements CommandRunner {
  private session: ShellSession | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly shell = '/bin/sh') {}

  run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const next = this.queue.then(() => {
      if (!this.session || this.session.exited) this.session = new ShellSession(this.shell);
      return this.session.run(cmd, args, options);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Ends the shell once the queued commands have run. */
  async close(): Promise<void> {
    await this.queue;
    this.session?.close();
    this.session = undefined;
  }
}
