/**
 * What an idle calico-node keeps resident: the floor every host pays before any route or endpoint
 * arrives, and the part of bench/bgp's "RSS at Established" that is not the speaker's table.
 *
 * Each mode starts calico-node as a user runs it (`ourProgramArgv('calico-node')`: the compiled
 * program when dist/ exists; run `npm run build` first) inside a network namespace of its own, so
 * Felix's iptables and the speaker's routes never reach the host, on a SQLite datastore in a temp
 * directory holding a Node with a BGP address (the speaker runs, with no peers) and the default
 * BGPConfiguration. The CNI server and the status socket run as by default. Modes:
 *   --no-felix   the speaker only (what bench/bgp runs)
 *   felix        Felix too (iptables and ip6tables in the namespace)
 *   --no-bgp     Felix only (policy-only, as with CALICO_NETWORKING_BACKEND=none)
 * Once the daemon is up (health endpoint listening; with Felix, "dataplane in sync") it is read
 * twice: EARLY_MS later (what bench/bgp's "RSS at Established" sees: start-up's garbage is still in
 * the heap) and at rest, REST_MS later (V8's memory reducer runs ~8 s after the last full GC and
 * gives back what start-up left). Each reading: VmRSS, RssAnon (the process's own memory) and
 * RssFile (pages of the node binary and native modules) from /proc/<pid>/status, and the V8 heap
 * from its /metrics (`nodejs_heap_size_used_bytes`). Beside them, the Node runtime with
 * calico-node's flags and no code of ours (`node -e 'setInterval(...)'`), read at rest. Each mode
 * runs RUNS times; the run with the median RSS at rest is kept.
 *
 * Usage: node --import tsx bench/node-memory/run.ts [--runs N]   (root; writes
 *   bench/results/node-memory.json, or BENCH_NODE_MEMORY_OUT for runs that must not replace it)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ResourceClient } from '../../src/datastore/resources.js';
import { SqliteDatastore } from '../../src/datastore/sqlite.js';
import { ourProgramArgv, packageRoot, PROGRAM_NODE_FLAGS } from '../../src/programs.js';
import { NetnsLab, requireRootAndTools } from '../../test/support/netns.js';

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const RUNS = runsAt >= 0 ? Math.max(1, Number(args[runsAt + 1]) || 1) : 3;
/** When the daemon is read after it is up: early, and at rest. */
const EARLY_MS = 1_000;
const REST_MS = 15_000;
const START_TIMEOUT_MS = 30_000;
const NODE_ADDRESS = '10.99.0.1';

type Mode = '--no-felix' | 'felix' | '--no-bgp';
const MODES: readonly Mode[] = ['--no-felix', 'felix', '--no-bgp'];
const MODE_ARGS: Readonly<Record<Mode, readonly string[]>> = {
  '--no-felix': ['--no-felix'],
  felix: [],
  '--no-bgp': ['--no-bgp'],
};

interface MemoryReading {
  rssMB: number;
  anonMB: number;
  fileMB: number;
  heapUsedMB: number;
  heapTotalMB: number;
}

interface Reading {
  early: MemoryReading;
  rest: MemoryReading;
  /** From start to the health endpoint (and, with Felix, the first dataplane sync). */
  startMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;

function statusMB(pid: number): { rssMB: number; anonMB: number; fileMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = (field: string) => {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
    if (!m) throw new Error(`bench/node-memory: no ${field} in /proc/${pid}/status`);
    return Number(m[1]) / 1024;
  };
  return { rssMB: round1(kB('VmRSS')), anonMB: round1(kB('RssAnon')), fileMB: round1(kB('RssFile')) };
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`bench/node-memory: calico-node's /metrics has no ${name}:\n${text}`);
  return Number(m[1]);
}

async function prepareStore(dir: string): Promise<string> {
  const path = join(dir, 'store.sqlite');
  const store = await SqliteDatastore.open(path);
  const client = new ResourceClient(store);
  await client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: { asNumber: 64512 },
  });
  await client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name: 'bench' },
    spec: { bgp: { ipv4Address: `${NODE_ADDRESS}/24` } },
  });
  await store.close();
  return path;
}

async function measureOnce(lab: NetnsLab, mode: Mode, run: number): Promise<Reading> {
  const ns = lab.addNamespace(`m${run}${MODES.indexOf(mode)}`);
  // The speaker listens on the Node's address; no peer ever connects, so loopback holds it.
  lab.exec(ns, 'ip', ['addr', 'add', `${NODE_ADDRESS}/32`, 'dev', 'lo']);
  const dir = mkdtempSync(join(tmpdir(), 'bench-node-memory-'));
  let child: ChildProcess | undefined;
  try {
    const sqlitePath = await prepareStore(dir);
    const [node, ...argv] = ourProgramArgv('calico-node') as [string, ...string[]];
    const started = Date.now();
    child = spawn(
      'ip',
      ['netns', 'exec', ns, node, ...argv, '--node', 'bench', '--health-port', '0', ...MODE_ARGS[mode]],
      {
        cwd: packageRoot(),
        env: {
          ...process.env,
          DATASTORE_TYPE: 'sqlite',
          SQLITE_PATH: sqlitePath,
          CALICO_RUN_DIR: join(dir, 'run'),
          LOGLEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const port = async (): Promise<number> => {
      const deadline = Date.now() + START_TIMEOUT_MS;
      for (;;) {
        const m = /"port":(\d+)[^\n]*"msg":"health endpoint listening"/.exec(output);
        const synced = mode === '--no-felix' || output.includes('dataplane in sync');
        if (m && synced) return Number(m[1]);
        if (child?.exitCode !== null) throw new Error(`calico-node exited:\n${output}`);
        if (Date.now() > deadline)
          throw new Error(`calico-node not up after ${START_TIMEOUT_MS} ms:\n${output}`);
        await sleep(20);
      }
    };
    const healthPort = await port();
    const up = Date.now();
    const read = (): MemoryReading => {
      // `ip netns exec` execs the program: the child's pid is calico-node's. /proc first: the
      // /metrics request itself allocates.
      const memory = statusMB(child?.pid as number);
      const metrics = lab.exec(ns, 'curl', ['-sf', `http://127.0.0.1:${healthPort}/metrics`]);
      return {
        ...memory,
        heapUsedMB: round1(metric(metrics, 'nodejs_heap_size_used_bytes') / 1048576),
        heapTotalMB: round1(metric(metrics, 'nodejs_heap_size_total_bytes') / 1048576),
      };
    };
    await sleep(EARLY_MS);
    const early = read();
    await sleep(REST_MS - (Date.now() - up));
    const reading: Reading = { early, rest: read(), startMs: up - started };
    const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const code = await exited;
    if (code !== 0) throw new Error(`calico-node exited ${code} on SIGTERM:\n${output}`);
    return reading;
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Node runtime with calico-node's flags and no code of ours, after the same settling time. */
async function nodeRuntimeFloor(): Promise<Omit<MemoryReading, 'heapTotalMB'>> {
  const child = spawn(
    process.execPath,
    [
      ...PROGRAM_NODE_FLAGS['calico-node'],
      '-e',
      'setInterval(() => {}, 1 << 30); process.on("message", () => process.send(process.memoryUsage().heapUsed))',
    ],
    { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] },
  );
  try {
    await sleep(REST_MS);
    const heap = await new Promise<number>((resolve) => {
      child.once('message', (m) => resolve(Number(m)));
      child.send('read');
    });
    return { ...statusMB(child.pid as number), heapUsedMB: round1(heap / 1048576) };
  } finally {
    child.kill('SIGKILL');
  }
}

function median(readings: Reading[]): Reading {
  const sorted = [...readings].sort((a, b) => a.rest.rssMB - b.rest.rssMB);
  return sorted[Math.floor((sorted.length - 1) / 2)] as Reading;
}

async function main(): Promise<void> {
  requireRootAndTools(['ip', 'iptables', 'ip6tables', 'curl']);
  const form = ourProgramArgv('calico-node').some((a) => a === 'tsx') ? 'tsx (no dist/)' : 'dist';
  if (form !== 'dist') console.warn('bench/node-memory: no dist/ build; tsx adds ~50 MB. Run npm run build.');
  const lab = new NetnsLab();
  const load = loadavg()[0] as number;
  const rows: { mode: Mode; best: Reading; runs: Reading[] }[] = [];
  try {
    for (const mode of MODES) {
      const runs: Reading[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await measureOnce(lab, mode, i));
      rows.push({ mode, best: median(runs), runs });
    }
  } finally {
    lab.cleanup();
  }
  const floor = await nodeRuntimeFloor();
  const table = [
    ['mode', 'RSS +1 s', 'RSS at rest', 'RssAnon', 'RssFile', 'heapUsed', 'start ms'],
    ...rows.map((r) => [
      `calico-node ${r.mode}`,
      r.best.early.rssMB,
      r.best.rest.rssMB,
      r.best.rest.anonMB,
      r.best.rest.fileMB,
      r.best.rest.heapUsedMB,
      r.best.startMs,
    ]),
    ['node -e (no code of ours)', '', floor.rssMB, floor.anonMB, floor.fileMB, floor.heapUsedMB, ''],
  ].map((row) => row.map(String));
  const widths = table[0]?.map((_, c) => Math.max(...table.map((row) => (row[c] ?? '').length))) ?? [];
  for (const row of table) console.log(row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  '));
  console.log(
    `(MB; median of ${RUNS} runs by RSS at rest: ${REST_MS / 1000} s after start-up, "+1 s" ${EARLY_MS / 1000} s after; load ${load.toFixed(2)})`,
  );
  const out =
    process.env.BENCH_NODE_MEMORY_OUT ??
    join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'node-memory.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        benchmark:
          'node-memory: idle calico-node (SQLite, a Node with a BGP address, no peers) in a namespace',
        date: new Date().toISOString(),
        node: process.version,
        cpus: cpus().length,
        calicoNode: form,
        nodeFlags: PROGRAM_NODE_FLAGS['calico-node'],
        readAfterMs: { early: EARLY_MS, rest: REST_MS },
        loadAverage1m: load,
        nodeRuntimeFloor: floor,
        rows,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${out}`);
}

await main();
