/**
 * The one way our programs run kernel tools (ip, iptables-restore, ipset, sysctl): a small interface
 * so the logic above it is tested with a fake, and one implementation over child_process that feeds
 * stdin (batch input for `ip -batch -`, `iptables-restore`, `ipset restore`), enforces a timeout, and
 * can target a network namespace (`ip netns exec NS ...`) for tests that drive a namespace from outside.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Text fed to the command's standard input. */
  readonly input?: string;
  /** Milliseconds before the command is killed; default 30 s. */
  readonly timeoutMs?: number;
}

export interface CommandRunner {
  run(cmd: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

export class CommandFailedError extends Error {
  constructor(
    readonly command: string,
    readonly result: CommandResult,
  ) {
    super(
      `${command} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim() || 'no output'}`,
    );
    this.name = 'CommandFailedError';
  }
}

/** Runs commands on this machine, optionally inside a named network namespace. */
export class ProcessRunner implements CommandRunner {
  /** The network namespace the commands run in (undefined: this process's own). */
  constructor(readonly netns?: string) {}

  run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const [file, argv] = this.netns ? ['ip', ['netns', 'exec', this.netns, cmd, ...args]] : [cmd, [...args]];
    return new Promise((resolve, reject) => {
      const child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(
          (e as NodeJS.ErrnoException).code === 'ENOENT'
            ? new Error(
                `${cmd} is not installed (needed by this operation); install it, e.g. apt-get install -y ${debianPackageOf(cmd)}`,
              )
            : e,
        );
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input ?? '');
    });
  }
}

function debianPackageOf(cmd: string): string {
  if (cmd.startsWith('ip6tables') || cmd.startsWith('iptables')) return 'iptables';
  if (cmd === 'ip') return 'iproute2';
  if (cmd === 'sysctl') return 'procps';
  return cmd;
}

/** Runs and throws `CommandFailedError` on a non-zero exit. */
export async function runChecked(
  runner: CommandRunner,
  cmd: string,
  args: readonly string[],
  options?: RunOptions,
): Promise<string> {
  const r = await runner.run(cmd, args, options);
  if (r.code !== 0) throw new CommandFailedError(`${cmd} ${args.join(' ')}`, r);
  return r.stdout;
}
