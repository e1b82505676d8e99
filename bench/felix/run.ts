/**
 * bench/felix: a synthetic cluster through Felix's pure part and into a real kernel namespace.
 *
 *   1,000 local workload endpoints, 10,000 remote ones, 500 policies with a selector and 5 rules each.
 *
 * Measures: the pure part (resources → calculation → rendered chains and sets), the first apply
 * (ipset restore + iptables-restore into a fresh namespace, routes, interface sysctls), the rule and
 * ipset member counts, and the time from one label change to its rules applied (pure + incremental
 * apply): a remote endpoint's role (ipset members change), a local endpoint's role (ipset members
 * change; its own policies stay), and a local endpoint's app (it moves to other policies: its
 * endpoint chains are rewritten too). Only IPv4 is programmed, so only IPv4 is rendered, as the
 * agent does without IPv6. bench/felix/pure.ts runs the pure part alone (no root), for profiles.
 * Needs root. Prints a table and, at the full size, writes bench/results/felix.json.
 *
 * The measuring process runs inside the namespace (re-executed under `ip netns exec`), as
 * calico-node does on a host: otherwise every iptables-restore / ipset call would pay for an extra
 * `ip netns exec` (a mount namespace and a sysfs remount) that a real Felix never pays.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { WorkloadEndpoint } from '../../src/api/index.js';
import { FelixCalculator } from '../../src/felix/calc/graph.js';
import { renderDataplane } from '../../src/felix/rules/render.js';
import { Dataplane } from '../../src/felix/dataplane/index.js';
import {
  ProcessRunner,
  type CommandResult,
  type CommandRunner,
  type RunOptions,
} from '../../src/kernel/runner.js';
import { relabelled, syntheticCluster } from './cluster.js';

/** Times the kernel commands, so a label change splits into pure work, planning and commands. */
class TimedRunner implements CommandRunner {
  private readonly inner = new ProcessRunner();
  readonly log: { command: string; start: number; ms: number }[] = [];
  async run(cmd: string, args: readonly string[], options?: RunOptions): Promise<CommandResult> {
    const start = performance.now();
    const r = await this.inner.run(cmd, args, options);
    this.log.push({ command: `${cmd} ${args.join(' ')}`, start, ms: performance.now() - start });
    return r;
  }
}

/** Milliseconds during which at least one of the commands ran (the dataplane overlaps some). */
function commandWallMs(commands: readonly { start: number; ms: number }[]): number {
  let total = 0;
  let until = -Infinity;
  for (const c of [...commands].sort((a, b) => a.start - b.start)) {
    const end = c.start + c.ms;
    if (end <= until) continue;
    total += end - Math.max(c.start, until);
    until = end;
  }
  return total;
}

const LOCAL = Number(process.env.BENCH_LOCAL ?? 1000);
const REMOTE = Number(process.env.BENCH_REMOTE ?? 10000);
const POLICIES = Number(process.env.BENCH_POLICIES ?? 500);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 10);
const HOST = 'bench-host';

/**
 * CPU milliseconds used so far by this process and by its children that have exited (the kernel
 * tools): /proc/self/stat fields 14-17 (utime, stime, cutime, cstime) in clock ticks.
 */
function cpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = [11, 12, 13, 14].reduce((n, i) => n + Number(fields[i] ?? 0), 0);
  return (ticks * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const ms = (t0: number) => Math.round((performance.now() - t0) * 10) / 10;

const FULL_SIZE = LOCAL === 1000 && REMOTE === 10000 && POLICIES === 500;

/** Outside the namespace: create it with the local workloads' interfaces, run the bench inside it. */
function outside(): void {
  if (process.getuid?.() !== 0) throw new Error('bench/felix needs root (it programs a network namespace)');
  const ns = `bfelix${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    // The local workloads' interfaces, up as a running workload's are, so routes and sysctls land.
    const links = Array.from({ length: LOCAL }, (_, i) => {
      const iface = `cali${i.toString(16).padStart(11, '0')}`;
      return `link add ${iface} type veth peer name p${i}\nlink set ${iface} up\nlink set p${i} up`;
    });
    execFileSync('ip', ['-n', ns, '-batch', '-'], { input: links.join('\n') + '\n' });
    const r = spawnSync(
      'ip',
      ['netns', 'exec', ns, process.execPath, ...process.execArgv, fileURLToPath(import.meta.url)],
      { stdio: 'inherit', env: { ...process.env, BENCH_FELIX_INSIDE: ns } },
    );
    if (r.status !== 0) throw new Error(`bench/felix inside ${ns} failed (exit ${r.status ?? r.signal})`);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** Inside the namespace: the measurements. */
async function inside(): Promise<void> {
  const resources = syntheticCluster({ local: LOCAL, remote: REMOTE, policies: POLICIES }, HOST);
  const cpu0 = cpuMs();
  let t = performance.now();
  const calc = new FelixCalculator(HOST);
  for (const resource of resources) calc.apply({ type: 'set', resource });
  const loadMs = ms(t);
  t = performance.now();
  const state = calc.state();
  const calcMs = ms(t);
  t = performance.now();
  // Render what the dataplane below programs: IPv4 only.
  const desired = renderDataplane(state, { ipVersions: [4] });
  const renderMs = ms(t);
  const pureMs = loadMs + calcMs + renderMs;
  const pureCpu = cpuMs() - cpu0;
  const rules = Object.values(desired.iptables[4].chains).reduce(
    (n, c) => n + c.reduce((m, x) => m + x.rules.length, 0),
    0,
  );
  const members = desired.ipsets.reduce((n, s) => n + s.members.length, 0);

  const runner = new TimedRunner();
  const dataplane = new Dataplane(runner, { ipv6: false });
  const cpu1 = cpuMs();
  t = performance.now();
  await dataplane.apply(desired, true);
  const applyMs = ms(t);
  const applyCpu = cpuMs() - cpu1;
  const saved = spawnSync('iptables-save', [], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (saved.status !== 0) throw new Error(`iptables-save failed: ${saved.stderr || saved.error?.message}`);
  const kernelRules = saved.stdout.split('\n').filter((l) => l.startsWith('-A ')).length;

  const relabel = async (i: number, labels: Record<string, string>, rewritesChains = false) => {
    const base = resources[i] as WorkloadEndpoint;
    const t0 = performance.now();
    const resource = relabelled(base, labels);
    resources[i] = resource;
    calc.apply({ type: 'set', resource });
    const d = renderDataplane(calc.state(), { ipVersions: [4] });
    const pure = performance.now() - t0;
    const logged = runner.log.length;
    const t1 = performance.now();
    const report = await dataplane.apply(d, false);
    const applyMs = performance.now() - t1;
    if (!report.changed) throw new Error(`relabelling endpoint ${i} changed nothing in the dataplane`);
    if (rewritesChains && report.chainsWritten === 0)
      throw new Error(`relabelling endpoint ${i} was meant to rewrite its chains but wrote none`);
    const commands = runner.log.slice(logged);
    const commandsMs = commandWallMs(commands);
    if (process.env.BENCH_TRACE)
      console.log(
        [
          `relabel endpoint ${i}: pure ${pure.toFixed(1)} ms, apply ${applyMs.toFixed(1)} ms (planning and bookkeeping ${(applyMs - commandsMs).toFixed(1)} ms)`,
          ...commands.map((c) => `  ${c.command}: ${c.ms.toFixed(1)} ms`),
        ].join('\n'),
      );
    const restoreMs = commands
      .filter((c) => c.command.startsWith('iptables-restore'))
      .reduce((n, c) => n + c.ms, 0);
    return { pure, commands: commandsMs, restore: restoreMs, total: performance.now() - t0 };
  };
  const remote: number[] = [];
  const remotePure: number[] = [];
  const remoteCommands: number[] = [];
  const local: number[] = [];
  const localPure: number[] = [];
  const localCommands: number[] = [];
  const moved: number[] = [];
  const movedPure: number[] = [];
  const movedCommands: number[] = [];
  const movedRestore: number[] = [];
  // CPU time (this process and the commands it ran) of those changes, summed: a loaded machine
  // stretches their wall time, much less their CPU time. Clock ticks are coarse, hence the mean.
  let movedCpu = 0;
  for (let k = 0; k < SAMPLES; k++) {
    // Alternately to a role no selector names and to the next existing role (always a change).
    const nextRole = (i: number) => `r${((i % 20) + 1) % 20}`;
    const r = await relabel(LOCAL + 17 + k, { role: k % 2 ? 'r99' : nextRole(LOCAL + 17 + k) });
    remote.push(r.total);
    remotePure.push(r.pure);
    remoteCommands.push(r.commands);
    const l = await relabel(5 + k, { role: k % 2 ? 'r98' : nextRole(5 + k) });
    local.push(l.total);
    localPure.push(l.pure);
    localCommands.push(l.commands);
    // Policies select on app: the endpoint leaves its ten policies for the next app's ten.
    const movedCpu0 = cpuMs();
    const m = await relabel(100 + k, { app: `app-${((100 + k) % 50) + 1}` }, true);
    movedCpu += cpuMs() - movedCpu0;
    moved.push(m.total);
    movedPure.push(m.pure);
    movedCommands.push(m.commands);
    movedRestore.push(m.restore);
  }
  // The floor under any change that writes a rule: with iptables-nft the kernel checks every chain
  // reachable from the table's base chains at commit, so one rule added to a chain nothing uses
  // costs about what an endpoint's two rewritten chains cost. Beside it, a restore that adds no
  // rule (process start, the tool's cache, an empty commit).
  const probe = 'cali-bench-probe';
  const floor: number[] = [];
  const noRule: number[] = [];
  for (let k = 0; k < 5; k++) {
    const timed = (input: string) => {
      const t0 = performance.now();
      const r = spawnSync('iptables-restore', ['-w', '10', '--noflush'], { input, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`iptables-restore (floor probe) failed: ${r.stderr}`);
      return performance.now() - t0;
    };
    noRule.push(timed(`*filter\n:${probe} - [0:0]\nCOMMIT\n`));
    floor.push(timed(`*filter\n:${probe} - [0:0]\n-A ${probe} -j RETURN\nCOMMIT\n`));
    timed(`*filter\n:${probe} - [0:0]\n-X ${probe}\nCOMMIT\n`);
  }
  const median = (xs: number[]) =>
    Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! * 10) / 10;
  const result = {
    machine: {
      cpus: cpus().length,
      node: process.version,
      // The machine is shared: the 1/5/15-minute load averages when the run ended.
      loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    },
    cluster: { localEndpoints: LOCAL, remoteEndpoints: REMOTE, policies: POLICIES, rulesPerPolicy: 5 },
    pure: { loadMs, calcMs, renderMs, totalMs: Math.round(pureMs * 10) / 10 },
    apply: {
      firstApplyMs: applyMs,
      iptablesRulesRendered: rules,
      iptablesRulesInKernel: kernelRules,
      ipsets: desired.ipsets.length,
      ipsetMembers: members,
    },
    pureShareOfApply: Math.round((pureMs / applyMs) * 1000) / 1000,
    // The same ratio in CPU time (this process plus the iptables-restore / ipset children), which
    // a loaded machine distorts less than wall time.
    cpu: {
      pureMs: Math.round(pureCpu),
      firstApplyMs: Math.round(applyCpu),
      pureShareOfApply: Math.round((pureCpu / applyCpu) * 1000) / 1000,
    },
    labelChange: {
      remoteEndpointMedianMs: median(remote),
      remoteEndpointPureMedianMs: median(remotePure),
      remoteEndpointCommandsMedianMs: median(remoteCommands),
      localEndpointMedianMs: median(local),
      localEndpointPureMedianMs: median(localPure),
      localEndpointCommandsMedianMs: median(localCommands),
      localEndpointNewPoliciesMedianMs: median(moved),
      localEndpointNewPoliciesPureMedianMs: median(movedPure),
      localEndpointNewPoliciesCommandsMedianMs: median(movedCommands),
      // The one iptables-restore of that change: mostly the kernel checking the whole filter table
      // for loops at commit (nf_tables validates every chain reachable from a base chain).
      localEndpointNewPoliciesIptablesRestoreMedianMs: median(movedRestore),
      localEndpointNewPoliciesCpuMeanMs: Math.round((movedCpu / moved.length) * 10) / 10,
      iptablesRestoreOneRuleMedianMs: median(floor),
      iptablesRestoreNoRuleMedianMs: median(noRule),
      samples: remote.length,
    },
    targets: { pureShareOfApplyBelow: 0.2, labelChangeBelowMs: 100 },
  };
  console.log('bench/felix (IPv4 only)');
  console.table({
    'pure part (load+calc+render)': `${result.pure.totalMs} ms`,
    'first apply into a namespace': `${applyMs} ms`,
    'pure / apply': `${result.pureShareOfApply} (target < 0.2)`,
    'pure / apply in CPU time': `${result.cpu.pureMs} / ${result.cpu.firstApplyMs} ms = ${result.cpu.pureShareOfApply}`,
    'iptables rules (kernel)': kernelRules,
    'ipsets / members': `${desired.ipsets.length} / ${members}`,
    'label change, remote endpoint (median)': `${result.labelChange.remoteEndpointMedianMs} ms (pure ${result.labelChange.remoteEndpointPureMedianMs} ms, commands ${result.labelChange.remoteEndpointCommandsMedianMs} ms)`,
    'label change, local endpoint (median)': `${result.labelChange.localEndpointMedianMs} ms (pure ${result.labelChange.localEndpointPureMedianMs} ms, commands ${result.labelChange.localEndpointCommandsMedianMs} ms; target < 100)`,
    'label change, local endpoint to other policies (median)': `${result.labelChange.localEndpointNewPoliciesMedianMs} ms (pure ${result.labelChange.localEndpointNewPoliciesPureMedianMs} ms, commands ${result.labelChange.localEndpointNewPoliciesCommandsMedianMs} ms, of which iptables-restore ${result.labelChange.localEndpointNewPoliciesIptablesRestoreMedianMs} ms; target < 100)`,
    'label change, local endpoint to other policies (CPU, mean)': `${result.labelChange.localEndpointNewPoliciesCpuMeanMs} ms (this process and its commands)`,
    'iptables-restore adding one rule / none (median)': `${result.labelChange.iptablesRestoreOneRuleMedianMs} / ${result.labelChange.iptablesRestoreNoRuleMedianMs} ms (the kernel validates the whole table when a rule is added)`,
    'load average (1/5/15 min)': result.machine.loadAverage.join(' / '),
  });
  if (FULL_SIZE) {
    mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
    writeFileSync(new URL('../results/felix.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
  } else {
    console.log('(not the full-size cluster: bench/results/felix.json left as it is)');
  }
}

if (process.env.BENCH_FELIX_INSIDE) await inside();
else outside();
