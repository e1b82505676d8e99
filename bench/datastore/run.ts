// The datastore benchmark: CAS write throughput (one writer, four writer processes) and watch
// delivery latency across processes, for every backend in backends.ts. Prints a table and writes
// bench/results/datastore.json. Run: node --import tsx bench/datastore/run.ts
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_BACKENDS, type BenchBackend } from './backends.js';
import { etcdOverhead } from './etcd.js';
import type { BenchJob, BenchResult, FromWorker, ToWorker } from './protocol.js';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3_000);
const WRITER_PROCESSES = 4;
const WATCH_EVENTS = Number(process.env.BENCH_WATCH_EVENTS ?? 1_000);
const WATCH_WRITE_INTERVAL_MS = 2;
const TARGETS = { singleWriterCasPerSecond: 5_000, watchP99Ms: 50 } as const;

interface BackendResult {
  readonly casWritesPerSecond: { readonly singleWriter: number; readonly writerProcesses: number };
  readonly watchLatencyMs: {
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
    readonly samples: number;
  };
}

/** One worker process holding its own connection to the store under test. */
class Worker {
  private readonly replies: Array<(message: FromWorker) => void> = [];
  private exited = false;

  constructor(private readonly child: ChildProcess) {
    child.on('message', (message: FromWorker) => this.replies.shift()?.(message));
    child.on('exit', (code) => {
      this.exited = true;
      for (const reply of this.replies.splice(0))
        reply({ type: 'failed', message: `worker exited with ${code}` });
    });
  }

  static spawn(): Worker {
    const script = fileURLToPath(new URL('./worker.ts', import.meta.url));
    return new Worker(
      fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
  }

  async ask(message: ToWorker): Promise<FromWorker> {
    const reply = await new Promise<FromWorker>((resolve) => {
      this.replies.push(resolve);
      this.child.send(message);
    });
    if (reply.type === 'failed') throw new Error(`benchmark worker failed: ${reply.message}`);
    return reply;
  }

  async result(): Promise<BenchResult> {
    const reply = await this.ask({ type: 'go' });
    if (reply.type !== 'result') throw new Error(`benchmark worker answered ${reply.type} to go`);
    return reply.result;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'close' } satisfies ToWorker);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Sets every worker up with its job, then releases them together and collects the results. */
async function runTogether(jobs: ReadonlyArray<{ worker: Worker; job: BenchJob }>): Promise<BenchResult[]> {
  await Promise.all(jobs.map(({ worker, job }) => worker.ask({ type: 'setup', job })));
  return Promise.all(jobs.map(({ worker }) => worker.result()));
}

function writesPerSecond(results: BenchResult[]): number {
  return results.reduce((sum, r) => (r.kind === 'cas-loop' ? sum + (r.writes * 1000) / r.elapsedMs : sum), 0);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function measure(backend: BenchBackend): Promise<BackendResult> {
  const store = await backend.create();
  pendingCleanups.add(store.cleanup);
  const workers = Array.from({ length: WRITER_PROCESSES + 1 }, () => Worker.spawn());
  try {
    await Promise.all(
      workers.map((w) => w.ask({ type: 'open', backend: backend.name, argument: store.argument })),
    );
    const [first, ...rest] = workers as [Worker, ...Worker[]];
    const writers = workers.slice(0, WRITER_PROCESSES);
    const watcher = rest[rest.length - 1] as Worker;

    const single = await runTogether([
      {
        worker: first,
        job: { kind: 'cas-loop', keyPrefix: '/bench/single/k', keys: 16, durationMs: DURATION_MS },
      },
    ]);
    const several = await runTogether(
      writers.map((worker, i) => ({
        worker,
        job: { kind: 'cas-loop', keyPrefix: `/bench/multi/w${i}/k`, keys: 16, durationMs: DURATION_MS },
      })),
    );
    const [watched] = await runTogether([
      { worker: watcher, job: { kind: 'watch', prefix: '/bench/watch/', count: WATCH_EVENTS } },
      {
        worker: first,
        job: {
          kind: 'stamped-writes',
          prefix: '/bench/watch/',
          count: WATCH_EVENTS,
          intervalMs: WATCH_WRITE_INTERVAL_MS,
        },
      },
    ]);
    const latencies = watched?.kind === 'watch' ? [...watched.latenciesMs].sort((a, b) => a - b) : [];
    return {
      casWritesPerSecond: {
        singleWriter: writesPerSecond(single),
        writerProcesses: writesPerSecond(several),
      },
      watchLatencyMs: {
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: latencies[latencies.length - 1] ?? NaN,
        samples: latencies.length,
      },
    };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    pendingCleanups.delete(store.cleanup);
    store.cleanup();
  }
}

function printTable(results: Record<string, BackendResult>): void {
  const names = Object.keys(results);
  const rows: Array<[string, (r: BackendResult) => string, string]> = [
    [
      'CAS writes/s, 1 writer',
      (r) => Math.round(r.casWritesPerSecond.singleWriter).toLocaleString('en'),
      `>= ${TARGETS.singleWriterCasPerSecond.toLocaleString('en')}`,
    ],
    [
      `CAS writes/s, ${WRITER_PROCESSES} processes (total)`,
      (r) => Math.round(r.casWritesPerSecond.writerProcesses).toLocaleString('en'),
      '',
    ],
    ['watch latency p50 (ms), cross-process', (r) => r.watchLatencyMs.p50.toFixed(2), ''],
    [
      'watch latency p99 (ms), cross-process',
      (r) => r.watchLatencyMs.p99.toFixed(2),
      `< ${TARGETS.watchP99Ms}`,
    ],
    ['watch latency max (ms), cross-process', (r) => r.watchLatencyMs.max.toFixed(2), ''],
  ];
  const header = ['metric', ...names, 'target'];
  const body = rows.map(([label, cell, target]) => [
    label,
    ...names.map((n) => cell(results[n] as BackendResult)),
    target,
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((row) => (row[i] ?? '').length)));
  for (const row of [header, ...body]) {
    console.log(
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  '),
    );
  }
}

/** Stores not yet cleaned up; an interrupted run (Ctrl-C) still removes its files and servers. */
const pendingCleanups = new Set<() => void>();
process.once('SIGINT', () => {
  for (const cleanup of pendingCleanups) cleanup();
  process.exit(130);
});

async function main(): Promise<void> {
  const results: Record<string, BackendResult> = {};
  for (const backend of BENCH_BACKENDS) results[backend.name] = await measure(backend);
  console.log(
    `datastore benchmark: node ${process.version}, ${cpus().length} CPUs, ${DURATION_MS} ms per throughput run, ${WATCH_EVENTS} watch events at one per ${WATCH_WRITE_INTERVAL_MS} ms\n`,
  );
  printTable(results);
  const etcdVsRawClient = etcdOverhead(results);
  if (etcdVsRawClient)
    console.log(
      `\netcd layer vs raw etcd3 client (1.00 = same; target <= 1.20): ${Object.entries(etcdVsRawClient)
        .map(([metric, ratio]) => `${metric} ${ratio.toFixed(2)}`)
        .join(', ')}`,
    );
  const verdicts = Object.fromEntries(
    Object.entries(results).map(([name, r]) => [
      name,
      {
        singleWriterCas: r.casWritesPerSecond.singleWriter >= TARGETS.singleWriterCasPerSecond,
        watchP99: r.watchLatencyMs.p99 < TARGETS.watchP99Ms,
      },
    ]),
  );
  const out = fileURLToPath(new URL('../results/datastore.json', import.meta.url));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        environment: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model },
        settings: {
          durationMs: DURATION_MS,
          writerProcesses: WRITER_PROCESSES,
          watchEvents: WATCH_EVENTS,
          watchWriteIntervalMs: WATCH_WRITE_INTERVAL_MS,
        },
        targets: TARGETS,
        results,
        meetsTargets: verdicts,
        etcdVsRawClient,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nwrote ${out}`);
}

await main();
