/**
 * bench/felix/pure.ts: only Felix's pure part (resources → calculation → rendered rules) over the
 * bench cluster, with no kernel and no root, for profiling and for checking that an optimisation
 * renders the same bytes:
 *
 *   node --cpu-prof --import tsx bench/felix/pure.ts            # profile a run
 *   node --import tsx bench/felix/pure.ts --dump out.txt        # the rendered text, for diffing
 *
 * Env BENCH_LOCAL / BENCH_REMOTE / BENCH_POLICIES shrink the cluster as in run.ts; BENCH_REPEAT runs
 * the whole pure part again with a fresh calculator (more samples for a profile); BENCH_IP_VERSIONS
 * (default 4, as run.ts programs) chooses the IP versions rendered.
 */
import { writeFileSync } from 'node:fs';
import type { WorkloadEndpoint } from '../../src/api/index.js';
import { FelixCalculator } from '../../src/felix/calc/graph.js';
import { renderDataplane } from '../../src/felix/rules/render.js';
import { FULL_CLUSTER, relabelled, syntheticCluster } from './cluster.js';
import { dataplaneText } from './dataplane-text.js';

const HOST = 'bench-host';
const size = {
  local: Number(process.env.BENCH_LOCAL ?? FULL_CLUSTER.local),
  remote: Number(process.env.BENCH_REMOTE ?? FULL_CLUSTER.remote),
  policies: Number(process.env.BENCH_POLICIES ?? FULL_CLUSTER.policies),
};
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 10);
// IPv4 only, as run.ts programs; BENCH_IP_VERSIONS=4,6 renders both (to compare dumps with a full render).
const ipVersions = (process.env.BENCH_IP_VERSIONS ?? '4').split(',').map((v) => (v.trim() === '6' ? 6 : 4));
const dumpAt = process.argv.indexOf('--dump');
const dumpFile = dumpAt > 0 ? process.argv[dumpAt + 1] : undefined;

const ms = (t0: number) => Math.round((performance.now() - t0) * 10) / 10;

for (let run = 0; run < REPEAT; run++) {
  const resources = syntheticCluster(size, HOST);
  const cpu0 = process.cpuUsage();
  let t = performance.now();
  const calc = new FelixCalculator(HOST);
  for (const resource of resources) calc.apply({ type: 'set', resource });
  const loadMs = ms(t);
  t = performance.now();
  const state = calc.state();
  const calcMs = ms(t);
  t = performance.now();
  const desired = renderDataplane(state, { ipVersions });
  const renderMs = ms(t);
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
  console.log(
    `run ${run}: load ${loadMs} ms, calc ${calcMs} ms, render ${renderMs} ms, total ${Math.round(loadMs + calcMs + renderMs)} ms (CPU ${cpuMs} ms)`,
  );

  // The bench's three kinds of label change, rendered after each, so a dump covers the incremental path.
  const texts = dumpFile ? [dataplaneText(desired)] : [];
  const changes: [number, Record<string, string>][] = [
    [size.local + 17, { role: 'r99' }],
    [5, { role: 'r7' }],
    [Math.min(100, size.local - 1), { app: 'app-1' }],
    [Math.min(100, size.local - 1), { app: 'app-0' }],
  ];
  t = performance.now();
  for (const [i, labels] of changes) {
    const resource = relabelled(resources[i] as WorkloadEndpoint, labels);
    resources[i] = resource;
    calc.apply({ type: 'set', resource });
    const d = renderDataplane(calc.state(), { ipVersions });
    if (dumpFile) texts.push(dataplaneText(d));
  }
  console.log(`run ${run}: ${changes.length} label changes ${ms(t)} ms`);
  if (dumpFile && run === 0) writeFileSync(dumpFile, texts.join('=== after a label change\n'));

  // The pure part of run.ts's label changes, by kind (medians of BENCH_SAMPLES each).
  const kinds: Record<string, number[]> = { remote: [], local: [], moved: [] };
  const nextRole = (i: number) => `r${((i % 20) + 1) % 20}`;
  for (let k = 0; k < SAMPLES; k++)
    for (const [kind, i, labels] of [
      ['remote', size.local + 17 + k, { role: k % 2 ? 'r99' : nextRole(size.local + 17 + k) }],
      ['local', 5 + k, { role: k % 2 ? 'r98' : nextRole(5 + k) }],
      ['moved', 100 + k, { app: `app-${((100 + k) % 50) + 1}` }],
    ] as const) {
      const t0 = performance.now();
      const resource = relabelled(resources[i] as WorkloadEndpoint, labels);
      resources[i] = resource;
      calc.apply({ type: 'set', resource });
      renderDataplane(calc.state(), { ipVersions });
      kinds[kind]?.push(performance.now() - t0);
    }
  const median = (xs: number[]) =>
    Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! * 10) / 10;
  console.log(
    `run ${run}: label change medians: remote ${median(kinds.remote!)} ms, local ${median(kinds.local!)} ms, local to other policies ${median(kinds.moved!)} ms`,
  );
}
