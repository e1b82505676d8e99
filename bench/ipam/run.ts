// The IPAM benchmark: single-address autoAssign calls per second, with one process and with 8
// concurrent processes (for 8 hosts, as CNI plugins on 8 nodes; for 4 hosts, as in the acceptance
// test; and all for one host, where every process contends for the same blocks), on sqlite and, when
// etcd is installed, on a real etcd. Prints a table and writes bench/results/ipam.json.
// Run: node --import tsx bench/ipam/run.ts   (BENCH_IPAM_BACKENDS=sqlite to skip etcd)
import { fork, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatastoreConfig } from '../../src/datastore/config.js';
import { openDatastore } from '../../src/datastore/open.js';
import { ResourceClient } from '../../src/datastore/resources.js';
import { EtcdServer } from '../../test/support/etcd.js';
import type { WorkerJob, WorkerMessage } from './worker.js';

const PROCESSES = 8;
const REPEATS = Number(process.env.BENCH_IPAM_REPEATS ?? 3);
const POOL = '10.0.0.0/14';
/** The targets, for sqlite. etcd's numbers are reported beside them, without a target. */
const TARGETS = { singleProcessPerSecond: 2_000, eightProcessesPerSecond: 1_000 } as const;

interface CaseResult {
  readonly processes: number;
  readonly hosts: number;
  readonly assignments: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** Block or handle writes that lost a compare-and-swap race and were retried, per assignment. */
  readonly conflictsPerAssignment: number;
  /**
   * CPU time (user + system, all workers) per assignment. Unlike the rate it hardly depends on what
   * else the machine runs, so it shows what the code costs when the shared machine is busy.
   */
  readonly cpuMicrosPerAssignment: number;
  /**
   * What the CPU time alone would allow on an otherwise idle machine: one core per process, at
   * most as many cores as there are. An estimate beside the measured rate, not a measurement.
   */
  readonly cpuBoundPerSecond: number;
}

type RepeatedResult = CaseResult & { readonly runsPerSecond: number[] };

/** A backend to measure: how to get an empty store for the next run, and how many calls to make. */
interface IpamBenchBackend {
  readonly name: string;
  readonly singleCount: number;
  readonly perProcessCount: number;
  /** An empty store (with the benchmark pool) for the next run; workers open it from the config. */
  fresh(): Promise<DatastoreConfig>;
  close(): Promise<void>;
}

async function withPool(config: DatastoreConfig): Promise<DatastoreConfig> {
  const ds = await openDatastore(config);
  try {
    await new ResourceClient(ds).create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'bench' },
      spec: { cidr: POOL },
    });
  } finally {
    await ds.close();
  }
  return config;
}

function sqliteBackend(): IpamBenchBackend {
  const dir = mkdtempSync(join(tmpdir(), 'calico-ts-bench-ipam-'));
  let serial = 0;
  return {
    name: 'sqlite',
    singleCount: Number(process.env.BENCH_IPAM_SINGLE ?? 3_000),
    perProcessCount: Number(process.env.BENCH_IPAM_PER_PROCESS ?? 500),
    fresh: () =>
      withPool({ datastoreType: 'sqlite', sqlitePath: join(dir, `run-${serial++}.sqlite`), source: 'bench' }),
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function etcdBackend(): Promise<IpamBenchBackend> {
  const server = await EtcdServer.start();
  return {
    name: 'etcd',
    singleCount: Number(process.env.BENCH_IPAM_ETCD_SINGLE ?? 1_000),
    perProcessCount: Number(process.env.BENCH_IPAM_ETCD_PER_PROCESS ?? 200),
    fresh: () => {
      server.etcdctl('del', '--prefix', '/calico');
      return withPool(server.config());
    },
    close: () => server.close(),
  };
}

/** Runs the jobs in child processes, starts them together once all are ready, and times the whole. */
async function runProcesses(
  jobs: WorkerJob[],
): Promise<{ seconds: number; assignments: number; conflicts: number; cpuMicros: number }> {
  const script = fileURLToPath(new URL('./worker.ts', import.meta.url));
  const children = jobs.map((job) =>
    fork(script, [JSON.stringify(job)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const next = (child: (typeof children)[number]) =>
    new Promise<WorkerMessage>((resolve, reject) => {
      child.once('message', (m: WorkerMessage) =>
        m.type === 'failed' ? reject(new Error(m.message)) : resolve(m),
      );
      child.once('exit', (code) => reject(new Error(`benchmark worker exited with ${code}`)));
    });
  await Promise.all(children.map(next));
  const done = children.map(next);
  const start = performance.now();
  children.forEach((c) => c.send('go'));
  const results = await Promise.all(done);
  const seconds = (performance.now() - start) / 1000;
  const sum = (pick: (m: Extract<WorkerMessage, { type: 'done' }>) => number) =>
    results.reduce((n, m) => n + (m.type === 'done' ? pick(m) : 0), 0);
  return {
    seconds,
    assignments: sum((m) => m.count),
    conflicts: sum((m) => m.conflicts),
    cpuMicros: sum((m) => m.cpuMicros),
  };
}

async function runCase(
  backend: IpamBenchBackend,
  processes: number,
  hosts: number,
  perProcess: number,
): Promise<CaseResult> {
  const config = await backend.fresh();
  const jobs = Array.from({ length: processes }, (_, i) => ({
    config,
    host: `bench-host-${i % hosts}`,
    count: perProcess,
    handlePrefix: `bench.p${i}c`,
  }));
  const { seconds, assignments, conflicts, cpuMicros } = await runProcesses(jobs);
  return {
    processes,
    hosts,
    assignments,
    seconds,
    perSecond: assignments / seconds,
    conflictsPerAssignment: conflicts / assignments,
    cpuMicrosPerAssignment: cpuMicros / assignments,
    cpuBoundPerSecond: (1e6 / (cpuMicros / assignments)) * Math.min(processes, cpus().length),
  };
}

/** Runs a case REPEATS times on fresh stores; the median run stands for it (the machine is shared). */
async function repeated(run: () => Promise<CaseResult>): Promise<RepeatedResult> {
  const runs: CaseResult[] = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await run());
  const sorted = [...runs].sort((a, b) => a.perSecond - b.perSecond);
  const median = sorted[Math.floor(sorted.length / 2)] as CaseResult;
  return { ...median, runsPerSecond: runs.map((r) => Math.round(r.perSecond)) };
}

interface BackendResults {
  readonly singleProcess: RepeatedResult;
  readonly eightProcessesEightHosts: RepeatedResult;
  readonly eightProcessesFourHosts: RepeatedResult;
  readonly eightProcessesOneHost: RepeatedResult;
}

async function measure(backend: IpamBenchBackend): Promise<BackendResults> {
  const n = backend.perProcessCount;
  return {
    singleProcess: await repeated(() => runCase(backend, 1, 1, backend.singleCount)),
    eightProcessesEightHosts: await repeated(() => runCase(backend, PROCESSES, PROCESSES, n)),
    eightProcessesFourHosts: await repeated(() => runCase(backend, PROCESSES, 4, n)),
    eightProcessesOneHost: await repeated(() => runCase(backend, PROCESSES, 1, n)),
  };
}

function printTable(name: string, r: BackendResults): void {
  const rows: [string, RepeatedResult][] = [
    ['1 process, 1 host', r.singleProcess],
    ['8 processes, 8 hosts', r.eightProcessesEightHosts],
    ['8 processes, 4 hosts', r.eightProcessesFourHosts],
    ['8 processes, 1 host', r.eightProcessesOneHost],
  ];
  console.log(`\nIPAM autoAssign (1 address each) on ${name}, median of ${REPEATS} runs`);
  console.log(
    [
      'case'.padEnd(24),
      'assignments'.padStart(12),
      'seconds'.padStart(9),
      'per second'.padStart(12),
      'conflicts'.padStart(11),
      'CPU µs'.padStart(8),
      'CPU-bound/s'.padStart(13),
      '   runs (per second)',
    ].join(''),
  );
  for (const [label, c] of rows)
    console.log(
      [
        label.padEnd(24),
        String(c.assignments).padStart(12),
        c.seconds.toFixed(2).padStart(9),
        c.perSecond.toFixed(0).padStart(12),
        c.conflictsPerAssignment.toFixed(2).padStart(11),
        c.cpuMicrosPerAssignment.toFixed(0).padStart(8),
        c.cpuBoundPerSecond.toFixed(0).padStart(13),
        `   ${c.runsPerSecond.join(', ')}`,
      ].join(''),
    );
}

function wantedBackends(): string[] {
  const asked = process.env.BENCH_IPAM_BACKENDS;
  if (asked) return asked.split(',').map((s) => s.trim());
  const etcdInstalled = spawnSync('sh', ['-c', 'command -v etcd && command -v etcdctl']).status === 0;
  return etcdInstalled ? ['sqlite', 'etcd'] : ['sqlite'];
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  const results: Record<string, BackendResults> = {};
  const counts: Record<string, { single: number; perProcess: number }> = {};
  for (const name of wantedBackends()) {
    const backend = name === 'etcd' ? await etcdBackend() : sqliteBackend();
    try {
      results[name] = await measure(backend);
      counts[name] = { single: backend.singleCount, perProcess: backend.perProcessCount };
      printTable(name, results[name]);
    } finally {
      await backend.close();
    }
  }
  const sqlite = results.sqlite;
  const meetsTargets = sqlite && {
    singleProcess: sqlite.singleProcess.perSecond >= TARGETS.singleProcessPerSecond,
    eightProcessesEightHosts: sqlite.eightProcessesEightHosts.perSecond >= TARGETS.eightProcessesPerSecond,
    eightProcessesFourHosts: sqlite.eightProcessesFourHosts.perSecond >= TARGETS.eightProcessesPerSecond,
    eightProcessesOneHost: sqlite.eightProcessesOneHost.perSecond >= TARGETS.eightProcessesPerSecond,
  };
  if (meetsTargets) {
    const word = (ok: boolean) => (ok ? 'met' : 'MISSED');
    console.log(
      `\nsqlite targets: 1 process >= ${TARGETS.singleProcessPerSecond}/s ${word(meetsTargets.singleProcess)}; 8 processes >= ${TARGETS.eightProcessesPerSecond}/s: 8 hosts ${word(meetsTargets.eightProcessesEightHosts)}, 4 hosts ${word(meetsTargets.eightProcessesFourHosts)}, 1 host ${word(meetsTargets.eightProcessesOneHost)}`,
    );
  }
  const out = fileURLToPath(new URL('../results/ipam.json', import.meta.url));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        environment: {
          node: process.version,
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model ?? 'unknown',
          loadAverageBefore: loadBefore,
          loadAverageAfter: loadavg()[0] ?? 0,
        },
        settings: { repeats: REPEATS, pool: POOL, blockSize: 26, processes: PROCESSES, counts },
        targets: { sqlite: TARGETS },
        results,
        meetsTargets: { sqlite: meetsTargets },
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${out}`);
}

await main();
