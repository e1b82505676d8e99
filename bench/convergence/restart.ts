/**
 * A calico-node restart under an established flow, as the acceptance puts it: a continuous
 * ping between workloads on two hosts, SIGTERM to one host's calico-node (the pid from the lab's
 * state file), the node started again with the lab's own start function, and the pings counted.
 * Graceful restart is what should make the count zero: the stopping speaker keeps its kernel routes
 * and its peers keep its routes as stale (RFC 4724), Felix's rules stay in the kernel while no
 * Felix runs, and the new run diffs against what is there instead of starting from nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startLabCalicoNode } from '../../src/lab/build.js';
import type { LabScenario } from '../../src/lab/scenario.js';
import { labDir, type LabState } from '../../src/lab/state.js';
import { continuousPing, type FlowCount } from './flows.js';

export interface RestartResult extends FlowCount {
  readonly host: string;
  /** SIGTERM to exit. */
  readonly stopMs: number;
  /** Start to "dataplane in sync" from the new run. */
  readonly resyncMs: number;
  /** Start to "graceful restart complete" (End-of-RIB from every peer), when BGP runs. */
  readonly bgpRestartMs: number | undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function occurrences(file: string, text: string): number {
  try {
    return readFileSync(file, 'utf8').split(text).length - 1;
  } catch {
    return 0;
  }
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** SIGTERM to `host`'s calico-node, then the lab's start again; resolves when the new run is in sync. */
export async function restartCalicoNode(
  state: LabState,
  scenario: LabScenario,
  host: string,
  env: NodeJS.ProcessEnv,
): Promise<Omit<RestartResult, keyof FlowCount | 'host'>> {
  const proc = state.processes.find((p) => p.kind === 'calico-node' && p.name === host);
  if (!proc) throw new Error(`lab ${state.lab}: no calico-node for ${host} in the state file`);
  const log = join(labDir(state.lab, env), 'logs', `${host}.log`);
  const syncedBefore = occurrences(log, 'dataplane in sync');
  const grBefore = occurrences(log, 'graceful restart complete');
  const stopping = performance.now();
  // The lab starts each daemon as a process group leader (detached); the group takes its children too.
  process.kill(-proc.pid, 'SIGTERM');
  if (!(await until(() => !alive(proc.pid), 15_000)))
    throw new Error(`calico-node of ${host} (pid ${proc.pid}) did not exit within 15 s of SIGTERM`);
  const stopMs = performance.now() - stopping;
  const starting = performance.now();
  startLabCalicoNode(state, scenario, host, { env });
  if (!(await until(() => occurrences(log, 'dataplane in sync') > syncedBefore, 60_000)))
    throw new Error(
      `the restarted calico-node of ${host} did not report "dataplane in sync" in 60 s (${log})`,
    );
  const resyncMs = performance.now() - starting;
  let bgpRestartMs: number | undefined;
  if (
    scenario.routing === 'bgp' &&
    (await until(() => occurrences(log, 'graceful restart complete') > grBefore, 60_000))
  )
    bgpRestartMs = performance.now() - starting;
  return { stopMs, resyncMs, bgpRestartMs };
}

/**
 * Continuous ping from workload namespace `fromNs` to `toIp`, established first; `host`'s calico-node
 * restarted; the flow kept for `afterMs` more, then counted.
 */
export async function pingAcrossRestart(
  state: LabState,
  scenario: LabScenario,
  host: string,
  fromNs: string,
  toIp: string,
  env: NodeJS.ProcessEnv,
  opts: { intervalSec?: number; afterMs?: number } = {},
): Promise<RestartResult> {
  const flow = continuousPing(fromNs, toIp, opts.intervalSec ?? 0.05);
  const established = await Promise.race([
    flow.established.then(() => true),
    sleep(30_000).then(() => false),
  ]);
  if (!established) {
    await flow.stop();
    throw new Error(`no reply from ${toIp} to ${fromNs} within 30 s: the flow never got established`);
  }
  await sleep(1000);
  let timings: Omit<RestartResult, keyof FlowCount | 'host'>;
  try {
    timings = await restartCalicoNode(state, scenario, host, env);
    await sleep(opts.afterMs ?? 2000);
  } catch (e) {
    // No ping outlives a failed measurement.
    await flow.stop();
    throw e;
  }
  return { host, ...timings, ...(await flow.stop()) };
}
