/**
 * A container runtime's side of CNI, small enough to read: it runs plugin executables found in
 * CNI_PATH with the CNI_* environment and the configuration on stdin, inside a chosen host namespace
 * (`ip netns exec`), and reads their stdout. `ConflistRuntime` runs a .conflist the way libcni does:
 * ADD in order, each plugin getting the previous result as `prevResult` and the runtime's capability
 * arguments (`portMappings`, `bandwidth`) as `runtimeConfig`; CHECK in order and DEL in reverse with
 * ADD's final result.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { NetnsLab } from '../../support/netns.js';

export interface ContainerRef {
  readonly id: string;
  /** Path of the container's network namespace. */
  readonly netns: string;
  readonly ifname?: string;
  /** CNI_ARGS text. */
  readonly args?: string;
  /** Capability arguments offered to plugins that declare them (`portMappings`, `bandwidth`). */
  readonly capabilityArgs?: Readonly<Record<string, unknown>>;
}

export interface PluginRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed, or undefined when empty. */
  readonly json: Record<string, unknown> | undefined;
}

export function findPlugin(type: string, cniPath: readonly string[]): string {
  for (const dir of cniPath) {
    try {
      accessSync(join(dir, type), constants.X_OK);
      return join(dir, type);
    } catch {
      continue;
    }
  }
  throw new Error(`plugin ${type} not found in ${cniPath.join(':')}`);
}

/** Runs one plugin process the way a runtime does; `env` overrides or removes (undefined) CNI_* variables. */
export function runPlugin(
  hostNs: string,
  pluginPath: string,
  env: Readonly<Record<string, string | undefined>>,
  stdin: string,
): Promise<PluginRun> {
  const cleanEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) cleanEnv[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', hostNs, pluginPath], {
      env: cleanEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? 1, stdout, stderr, json });
    });
    child.stdin.end(stdin);
  });
}

export function cniEnv(command: string, c: ContainerRef, cniPath: readonly string[]): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: c.id,
    CNI_NETNS: c.netns,
    CNI_IFNAME: c.ifname ?? 'eth0',
    CNI_ARGS: c.args ?? '',
    CNI_PATH: cniPath.join(':'),
  };
}

export interface Conflist {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: readonly Record<string, unknown>[];
}

export class PluginFailed extends Error {
  constructor(
    readonly plugin: string,
    readonly run: PluginRun,
  ) {
    super(`${plugin} failed (exit ${run.code}): ${run.stdout.trim()} ${run.stderr.trim()}`);
  }
}

export class ConflistRuntime {
  constructor(
    readonly conflist: Conflist,
    readonly cniPath: readonly string[],
    readonly hostNs: string,
  ) {}

  private configFor(plugin: Record<string, unknown>, c: ContainerRef, prevResult: unknown): string {
    const { capabilities, ...rest } = plugin as { capabilities?: Record<string, boolean> };
    const runtimeConfig: Record<string, unknown> = {};
    for (const [cap, on] of Object.entries(capabilities ?? {}))
      if (on && c.capabilityArgs?.[cap] !== undefined) runtimeConfig[cap] = c.capabilityArgs[cap];
    return JSON.stringify({
      ...rest,
      cniVersion: this.conflist.cniVersion,
      name: this.conflist.name,
      ...(Object.keys(runtimeConfig).length ? { runtimeConfig } : {}),
      ...(prevResult !== undefined ? { prevResult } : {}),
    });
  }

  private async exec(
    command: string,
    plugin: Record<string, unknown>,
    c: ContainerRef,
    prev: unknown,
  ): Promise<PluginRun> {
    const type = String(plugin.type);
    const run = await runPlugin(
      this.hostNs,
      findPlugin(type, this.cniPath),
      cniEnv(command, c, this.cniPath),
      this.configFor(plugin, c, prev),
    );
    if (run.code !== 0) throw new PluginFailed(`${type} ${command}`, run);
    return run;
  }

  /** ADD through the list; returns the final result (what a runtime caches for CHECK and DEL). */
  async add(c: ContainerRef): Promise<Record<string, unknown>> {
    let prev: Record<string, unknown> | undefined;
    for (const plugin of this.conflist.plugins) prev = (await this.exec('ADD', plugin, c, prev)).json ?? prev;
    return prev ?? {};
  }

  async check(c: ContainerRef, result: unknown): Promise<void> {
    for (const plugin of this.conflist.plugins) await this.exec('CHECK', plugin, c, result);
  }

  async del(c: ContainerRef, result: unknown): Promise<void> {
    for (const plugin of [...this.conflist.plugins].reverse()) await this.exec('DEL', plugin, c, result);
  }
}

/** The host ends of workload veths (`cali*`) in `hostNs`: what a CNI call must create or leave behind. */
export function caliLinksIn(lab: NetnsLab, hostNs: string): string[] {
  return lab
    .exec(hostNs, 'ip', ['-o', 'link', 'show'])
    .split('\n')
    .map((l) => /^\d+: (cali[0-9a-f]+)@/.exec(l)?.[1])
    .filter((name): name is string => name !== undefined);
}
