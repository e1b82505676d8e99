/**
 * Starts calico-node (from the TypeScript sources, through tsx) inside a host namespace, as a real
 * process with the datastore given by environment, and stops it with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NetnsLab } from './netns.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export class NodeProcess {
  readonly child: ChildProcess;
  output = '';

  constructor(ns: string, nodeName: string, env: NodeJS.ProcessEnv, extraArgs: string[] = []) {
    this.child = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        '--import',
        'tsx',
        `${ROOT}bin/calico-node.ts`,
        '--node',
        nodeName,
        '--health-port',
        '0',
        ...extraArgs,
      ],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  /** Waits for the log line that says the dataplane is programmed. */
  waitReady(timeoutMs = 20_000): Promise<void> {
    return this.waitForLog('dataplane in sync', timeoutMs);
  }

  /** Waits until calico-node's output includes `text`; fails at once, with the output, if it exits. */
  async waitForLog(text: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.includes(text)) {
      if (this.child.exitCode !== null)
        throw new Error(
          `calico-node exited (${this.child.exitCode}) before logging "${text}":\n${this.output}`,
        );
      if (Date.now() > deadline)
        throw new Error(`calico-node did not log "${text}" within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((r) => this.child.once('exit', (code) => r(code)));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }
}

/** The routes calico-node's BGP speaker programmed in `ns` (proto 81): prefix → sorted next hops. */
export function bgpKernelRoutes(lab: NetnsLab, ns: string, family: 4 | 6): Record<string, string[]> {
  const list = JSON.parse(lab.exec(ns, 'ip', ['-j', `-${family}`, 'route', 'show', 'proto', '81'])) as {
    dst: string;
    gateway?: string;
    nexthops?: { gateway: string }[];
  }[];
  return Object.fromEntries(
    list.map((r) => [r.dst, r.nexthops ? r.nexthops.map((h) => h.gateway).sort() : [r.gateway ?? '']]),
  );
}
