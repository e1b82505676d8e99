// The convergence benchmark (issue 10): in the `mesh` lab (5 hosts, node-to-node BGP mesh), how long
// a new container takes to be reachable from every other host, and what a calico-node restart costs
// an established flow.
//
// 1. N containers (default 20) are added one at a time, on host h1, h2, ... in turn, the way a
//    runtime adds them: a namespace, then CNI ADD through our `calico` plugin, then the labels and
//    profiles an orchestrator would set. From the moment ADD is called, the scenario's workload on
//    every other host pings the new address every 20 ms (one ping process per source, in parallel);
//    a container has converged when every source has had a reply. Reported: ADD, and ADD to
//    converged, p50 and max. These addresses fall in blocks their hosts already announce; then M more
//    containers (default 5, BENCH_CONVERGENCE_NEW_BLOCKS) each take a new /30 block from a pool of
//    their own, so BGP has to carry a new route before the container is reachable.
// 2. A continuous `ping -i 0.05` from w-h1 to w-h2; h2's calico-node gets SIGTERM and is started
//    again by the lab's own start function; lost pings are counted (graceful restart: zero).
//
// Run (as root): node --import tsx bench/convergence/run.ts   (BENCH_CONVERGENCE_CONTAINERS=20)
// The lab runs the compiled programs when dist/ exists (run `npm run build` first) unless
// CALICO_LAB_FROM_SOURCE is set. Writes bench/results/convergence.json. The lab is taken down at the
// end, also when a step fails or the run is interrupted.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { API_VERSION } from '../../src/api/index.js';
import { ResourceClient } from '../../src/datastore/resources.js';
import type { Datastore } from '../../src/datastore/types.js';
import { labUp } from '../../src/lab/build.js';
import { scenarioPath } from '../../src/lab/cli.js';
import { cniAdd, labCniAttachment, labCniPath, withScenarioIdentity } from '../../src/lab/cni.js';
import { openLabDatastore } from '../../src/lab/datastore.js';
import { loadScenarioFile } from '../../src/lab/scenario.js';
import { labDown } from '../../src/lab/teardown.js';
import { layoutScenario } from '../../src/lab/topology.js';
import { firstReply } from './flows.js';
import { pingAcrossRestart, type RestartResult } from './restart.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONTAINERS = Number(process.env.BENCH_CONVERGENCE_CONTAINERS ?? 20);
const CONVERGENCE_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_SEC = 0.02;
const NEW_BLOCK_CONTAINERS = Number(process.env.BENCH_CONVERGENCE_NEW_BLOCKS ?? 5);
const NEW_BLOCK_POOL = 'bench-new-blocks';

interface ContainerResult {
  readonly name: string;
  readonly host: string;
  readonly ip: string;
  /** The plugin call (process start to exit). */
  readonly addMs: number;
  /** ADD called → the orchestrator's labels and profiles written. */
  readonly labelledMs: number;
  /** ADD called → first reply, per source workload; null when it never came. */
  readonly firstReplyMs: Record<string, number | null>;
  /** ADD called → a reply from every source; null when one never came. */
  readonly convergedMs: number | null;
}

interface Stats {
  readonly p50: number;
  readonly max: number;
  readonly min: number;
  readonly mean: number;
  readonly samples: number;
}

const round = (n: number) => Math.round(n * 10) / 10;

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: round(sorted[Math.max(0, Math.ceil(sorted.length / 2) - 1)] ?? NaN),
    max: round(sorted[sorted.length - 1] ?? NaN),
    min: round(sorted[0] ?? NaN),
    mean: round(sorted.reduce((s, x) => s + x, 0) / sorted.length),
    samples: sorted.length,
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error('bench/convergence needs root (it builds a lab of namespaces)');
  const dir = mkdtempSync(join(tmpdir(), 'calico-bench-convergence-'));
  const env: NodeJS.ProcessEnv = { ...process.env, CALICO_LAB_DIR: dir };
  const lab = `cv${process.pid.toString(36)}`;
  const file = scenarioPath('mesh');
  const scenario = loadScenarioFile(file);
  const layout = layoutScenario(scenario, lab);
  let tornDown = false;
  const teardown = async () => {
    if (tornDown) return;
    tornDown = true;
    await labDown(lab, env).catch((e: unknown) => console.error(`down failed: ${(e as Error).message}`));
    rmSync(dir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      console.error(`\n${signal}: taking the lab down`);
      void teardown().then(() => process.exit(130));
    });

  const compiled = existsSync(join(ROOT, 'dist', 'bin', 'calico.js')) && !process.env.CALICO_LAB_FROM_SOURCE;
  const results: ContainerResult[] = [];
  const newBlockResults: ContainerResult[] = [];
  let restart: RestartResult | undefined;
  let store: Datastore | undefined;
  const started = performance.now();
  try {
    console.log(`bringing up mesh as lab ${lab} (${compiled ? 'compiled dist/' : 'sources through tsx'})`);
    const state = await labUp(scenario, file, { lab, env, log: (l) => console.log(`  ${l}`) });
    store = await openLabDatastore(state);
    const client = new ResourceClient(store);
    const weps = await client.list('WorkloadEndpoint');
    const workloads = layout.workloads.map((w) => {
      const ip = weps.find((x) => x.spec.endpoint === w.name)?.spec.ipNetworks?.[0]?.split('/')[0];
      if (!ip) throw new Error(`workload ${w.name} has no endpoint with an address`);
      return { ...w, ip };
    });

    // The mesh is converged for the scenario's own workloads before anything is measured.
    console.log('waiting until every scenario workload reaches every other');
    for (const from of workloads) {
      const got = await Promise.all(
        workloads.filter((w) => w !== from).map((to) => firstReply(from.namespace, to.ip, 90_000, 0.2)),
      );
      if (got.some((t) => t === undefined))
        throw new Error(
          `${from.name} cannot reach every other workload after 90 s: the lab did not converge`,
        );
    }

    const cniPath = labCniPath(lab, env);
    /** One container: namespace, ADD, then the first reply from every other host's workload. */
    const measure = async (name: string, host: string, pool?: string): Promise<ContainerResult> => {
      const namespace = `${layout.prefix}-w-${name}`;
      const hostNs = layout.nodes.find((n) => n.name === host)?.namespace as string;
      // The runtime makes the sandbox's namespace before it calls the plugin; not part of the time.
      execFileSync('ip', ['netns', 'add', namespace]);
      execFileSync('ip', ['netns', 'exec', namespace, 'ip', 'link', 'set', 'lo', 'up']);
      const plain = labCniAttachment(state, scenario, { name, host, namespace }, hostNs);
      const attachment = pool
        ? {
            ...plain,
            network: { ...plain.network, ipam: { ...(plain.network.ipam as object), ipv4_pools: [pool] } },
          }
        : plain;

      const t0 = performance.now();
      const added = await cniAdd(lab, attachment, cniPath, env);
      const addMs = performance.now() - t0;
      const ip = added.addresses[0]?.split('/')[0] as string;
      const sources = workloads.filter((w) => w.host !== host);
      const replies = Promise.all(
        sources.map((s) => firstReply(s.namespace, ip, CONVERGENCE_TIMEOUT_MS, POLL_INTERVAL_SEC)),
      );
      const wep = await client.get('WorkloadEndpoint', added.endpointName, added.endpointNamespace);
      if (!wep) throw new Error(`ADD of ${name} wrote no endpoint ${added.endpointName}`);
      await client.update(withScenarioIdentity(wep, { name, host, profiles: ['allow-all'] }));
      const labelledMs = performance.now() - t0;
      const at = await replies;
      const firstReplyMs = Object.fromEntries(
        sources.map((s, j) => {
          const t = at[j];
          return [s.name, t === undefined ? null : round(t - t0)];
        }),
      );
      const times = Object.values(firstReplyMs);
      const convergedMs = times.every((t) => t !== null) ? Math.max(...(times as number[])) : null;
      console.log(
        `  ${name} on ${host} ${ip.padEnd(14)} ADD ${addMs.toFixed(0).padStart(5)} ms  converged ${convergedMs === null ? 'NEVER' : `${convergedMs.toFixed(0).padStart(5)} ms`}`,
      );
      return {
        name,
        host,
        ip,
        addMs: round(addMs),
        labelledMs: round(labelledMs),
        firstReplyMs,
        convergedMs,
      };
    };

    const hostAt = (i: number) => scenario.hosts[i % scenario.hosts.length]?.name as string;
    console.log(
      `${CONTAINERS} containers, one at a time, hosts in turn (addresses in blocks already announced)`,
    );
    for (let i = 0; i < CONTAINERS; i++)
      results.push(await measure(`c${String(i + 1).padStart(2, '0')}`, hostAt(i)));

    // The containers above all land in a block their host already announces, so the other hosts
    // have the route before ADD: that is Felix's and the plugin's time. Here each ADD takes the
    // first address of a new /30 block (a pool of its own), which the host must announce over BGP
    // before anyone can reach it.
    await client.create({
      apiVersion: API_VERSION,
      kind: 'IPPool',
      metadata: { name: NEW_BLOCK_POOL },
      spec: { cidr: '10.245.0.0/16', blockSize: 30, natOutgoing: false },
    });
    console.log(`${NEW_BLOCK_CONTAINERS} containers that each need a new block announced over BGP`);
    for (let i = 0; i < NEW_BLOCK_CONTAINERS; i++) {
      const r = await measure(`b${String(i + 1).padStart(2, '0')}`, hostAt(i), NEW_BLOCK_POOL);
      // Proof that BGP carried it: every other host routes the address via the owner, by a learned route.
      const learned = layout.nodes
        .filter((n) => n.kind === 'host' && n.name !== r.host)
        .every((n) =>
          / proto (81|bird) /.test(
            execFileSync('ip', ['-n', n.namespace, 'route', 'show', 'match', r.ip], { encoding: 'utf8' }),
          ),
        );
      if (!learned) throw new Error(`${r.name} (${r.ip}): some host has no BGP route to its block`);
      newBlockResults.push(r);
    }

    console.log('node restart: ping -i 0.05 from w-h1 to w-h2, calico-node of h2 stopped and started');
    const from = workloads.find((w) => w.host === 'h1');
    const to = workloads.find((w) => w.host === 'h2');
    if (!from || !to) throw new Error('mesh has no workloads on h1 and h2');
    restart = await pingAcrossRestart(state, scenario, 'h2', from.namespace, to.ip, env);
  } finally {
    await store?.close().catch(() => undefined);
    console.log('taking the lab down');
    await teardown();
  }

  const convergedOf = (rs: ContainerResult[]) =>
    rs.flatMap((r) => (r.convergedMs === null ? [] : [r.convergedMs]));
  const summary = {
    benchmark: 'convergence',
    date: new Date().toISOString(),
    node: process.version,
    loadAverage1m: round(loadavg()[0] ?? 0),
    scenario: 'mesh',
    programs: compiled ? 'dist/ (compiled)' : 'sources through tsx',
    unit: 'ms',
    pollIntervalMs: POLL_INTERVAL_SEC * 1000,
    containers: results.length,
    neverConverged: [...results, ...newBlockResults].filter((r) => r.convergedMs === null).map((r) => r.name),
    add: stats(results.map((r) => r.addMs)),
    addToConverged: stats(convergedOf(results)),
    newBlock: {
      containers: newBlockResults.length,
      blockSize: 30,
      add: stats(newBlockResults.map((r) => r.addMs)),
      addToConverged: stats(convergedOf(newBlockResults)),
    },
    restart,
    wallSeconds: round((performance.now() - started) / 1000),
    perContainer: results,
    perNewBlockContainer: newBlockResults,
  };

  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(40) : c.padStart(10))).join('');
  console.log('');
  console.log(line(['convergence (mesh, 5 hosts)', 'p50', 'max', 'min', 'samples']));
  for (const [label, s] of [
    ['CNI ADD (plugin process)', summary.add],
    ['ADD → ping from every other host', summary.addToConverged],
    ['new block: CNI ADD', summary.newBlock.add],
    ['new block: ADD → ping from every host', summary.newBlock.addToConverged],
  ] as const)
    console.log(line([label, `${s.p50}`, `${s.max}`, `${s.min}`, `${s.samples}`]));
  if (summary.neverConverged.length) console.log(`never converged: ${summary.neverConverged.join(', ')}`);
  if (restart) {
    console.log('');
    console.log(line(['node restart (h2, ping w-h1 → w-h2)', 'sent', 'received', 'lost', '']));
    console.log(
      line([
        'ping -i 0.05 across the restart',
        `${restart.sent}`,
        `${restart.received}`,
        `${restart.lost.length}`,
        '',
      ]),
    );
    console.log(
      `  stop ${restart.stopMs.toFixed(0)} ms, start → dataplane in sync ${restart.resyncMs.toFixed(0)} ms, start → BGP graceful restart complete ${restart.bgpRestartMs === undefined ? 'not seen' : `${restart.bgpRestartMs.toFixed(0)} ms`}`,
    );
  }
  console.log(`load average (1 min) ${summary.loadAverage1m}`);
  const out = join(ROOT, 'bench', 'results', 'convergence.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(summary, null, 2) + '\n');
  console.log(`wrote ${out}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
