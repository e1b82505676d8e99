/**
 * Starts calico-node as a background process for `calicoctl node run` (no docker): detached in its own
 * session so it outlives calicoctl, output appended to a log file, its pid in a pid file. Readiness
 * is read from the log (calico-node says "dataplane in sync" once Felix has programmed the kernel),
 * only from the bytes written after this start, so an old run's lines never count.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ourProgramArgv, packageRoot } from '../../programs.js';

/** Run our programs in the form this code runs in: compiled from dist/, through tsx from the sources. */
const FROM_SOURCE = !fileURLToPath(import.meta.url).includes('/dist/');

export const READY_LINE = 'dataplane in sync';
export const FAILED_LINE = 'calico-node failed to start';
export const DEFAULT_LOG_DIR = '/var/log/calico';
export const DEFAULT_RUN_DIR = '/var/run/calico';

export function logFileIn(logDir: string): string {
  return join(logDir, 'calico-node.log');
}

/**
 * One pid file per node name, so two nodes started from one machine (the lab's hosts, or a test
 * beside a real node) with the same run directory do not stop each other's calico-node.
 */
export function pidFileIn(runDir: string, nodeName: string): string {
  return join(runDir, `calico-node.${nodeName}.pid`);
}

/**
 * How to run calico-node: the compiled program if this is the compiled calicoctl, else the
 * TypeScript entry point through tsx.
 */
export function calicoNodeCommand(): { argv: string[]; cwd: string } {
  return { argv: ourProgramArgv('calico-node', FROM_SOURCE), cwd: packageRoot() };
}

/** Likewise for calicoctl, used in the systemd unit's start-up step. */
export function calicoctlCommand(): string[] {
  return ourProgramArgv('calicoctl', FROM_SOURCE);
}

export function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * True when the process is calico-node. A pid file can outlive its process and the pid be reused by
 * something else; only a process whose command line names calico-node is ever signalled.
 */
export function isCalicoNodeProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('calico-node');
  } catch {
    return false;
  }
}

/** Stops the calico-node the pid file names, if it runs: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopRecordedNode(pidFile: string, graceMs = 10_000): Promise<number | undefined> {
  const pid = readPid(pidFile);
  if (pid === undefined || !processAlive(pid) || !isCalicoNodeProcess(pid)) return undefined;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (processAlive(pid) && Date.now() < deadline) await sleep(50);
  if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  return pid;
}

export interface LaunchSpec {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
  readonly pidFile: string;
}

export interface Launched {
  readonly pid: number;
  /** Size of the log before this start: readiness is looked for after it. */
  readonly logOffset: number;
}

export function launchDetached(spec: LaunchSpec): Launched {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  mkdirSync(dirname(spec.pidFile), { recursive: true });
  const logOffset = existsSync(spec.logFile) ? statSync(spec.logFile).size : 0;
  const fd = openSync(spec.logFile, 'a');
  try {
    const [file, ...args] = spec.argv;
    const child = spawn(file as string, args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    if (!child.pid) throw new Error(`could not start ${spec.argv.join(' ')}`);
    writeFileSync(spec.pidFile, `${child.pid}\n`);
    return { pid: child.pid, logOffset };
  } finally {
    closeSync(fd);
  }
}

export type ReadyOutcome =
  { readonly ready: true } | { readonly ready: false; readonly reason: string; readonly logTail: string };

function logSince(logFile: string, offset: number): string {
  try {
    return readFileSync(logFile).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Waits for the ready line, the failure line, the process's exit, or the timeout. */
export async function waitForReady(
  logFile: string,
  launched: Launched,
  timeoutMs: number,
  readyLine = READY_LINE,
): Promise<ReadyOutcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = logSince(logFile, launched.logOffset);
    if (text.includes(readyLine)) return { ready: true };
    if (text.includes(FAILED_LINE))
      return { ready: false, reason: 'calico-node reported that it failed to start', logTail: tail(text) };
    if (!processAlive(launched.pid))
      return { ready: false, reason: `calico-node (pid ${launched.pid}) exited`, logTail: tail(text) };
    if (Date.now() > deadline)
      return {
        ready: false,
        reason: `calico-node (pid ${launched.pid}) not ready after ${Math.round(timeoutMs / 1000)} s (still running)`,
        logTail: tail(text),
      };
    await sleep(100);
  }
}
