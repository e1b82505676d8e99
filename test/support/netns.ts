/**
 * Network namespaces for integration tests. Every name carries a per-run prefix (`ct<pid><rand>-`),
 * so parallel runs never collide, and everything created is removed by `cleanup()` — call it from
 * `after()`, it also runs on process exit so a failing test leaves nothing behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Fails loudly (never skips) when the test cannot do its job here. */
export function requireRootAndTools(tools: string[]): void {
  if (process.getuid?.() !== 0)
    throw new Error('this integration test needs root (network namespaces, iptables)');
  const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length)
    throw new Error(
      `this integration test needs ${missing.join(', ')}; run scripts/setup.sh (apt-get install) first`,
    );
}

export class NetnsLab {
  readonly prefix: string;
  private readonly namespaces = new Set<string>();
  private readonly onExit = () => this.cleanup();

  constructor() {
    this.prefix = `ct${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
    process.on('exit', this.onExit);
  }

  /** A new namespace with loopback up; returns its full name. */
  addNamespace(shortName: string): string {
    const name = `${this.prefix}-${shortName}`;
    execFileSync('ip', ['netns', 'add', name]);
    this.namespaces.add(name);
    this.exec(name, 'ip', ['link', 'set', 'lo', 'up']);
    return name;
  }

  exec(ns: string, cmd: string, args: string[], input?: string): string {
    return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', input: input ?? '' });
  }

  /** Like exec but returns the exit status instead of throwing. */
  try(ns: string, cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
    const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' });
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  }

  /** A veth pair with one end in each namespace (null = the root namespace). */
  veth(a: { ns: string; name: string }, b: { ns: string; name: string }): void {
    const tmpA = `${this.prefix.slice(0, 8)}a${randomBytes(2).toString('hex')}`;
    const tmpB = `${this.prefix.slice(0, 8)}b${randomBytes(2).toString('hex')}`;
    execFileSync('ip', ['link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB]);
    execFileSync('ip', ['link', 'set', tmpA, 'netns', a.ns]);
    execFileSync('ip', ['link', 'set', tmpB, 'netns', b.ns]);
    this.exec(a.ns, 'ip', ['link', 'set', tmpA, 'name', a.name]);
    this.exec(b.ns, 'ip', ['link', 'set', tmpB, 'name', b.name]);
    this.exec(a.ns, 'ip', ['link', 'set', a.name, 'up']);
    this.exec(b.ns, 'ip', ['link', 'set', b.name, 'up']);
  }

  cleanup(): void {
    for (const ns of this.namespaces) spawnSync('ip', ['netns', 'del', ns]);
    this.namespaces.clear();
    process.off('exit', this.onExit);
  }

  /** Namespaces of this run still present (for assertions that cleanup worked). */
  leftovers(): string[] {
    const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    return out
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(this.prefix));
  }
}
