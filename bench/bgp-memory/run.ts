/**
 * Where the BGP speaker's memory goes while it takes a full table, without namespaces or root.
 *
 * One process: a BgpAgent (the speaker of calico-node: sessions, RIB, FIB plan) on 127.0.0.1
 * with an in-memory datastore and a fake kernel that only counts the routes it is given (behind a
 * writer paced as the calico-fib-writer coprocess is, see PacedKernelWriter), and a
 * hand-driven peer on 127.0.0.2 that sends N IPv4 /24s in full 4,096-octet UPDATEs (one attribute
 * set, as the BIRD announcer of bench/bgp does) and End-of-RIB. It prints the heap (after a full
 * GC), the external/array-buffer memory and the RSS at each stage, the highest heap seen while the
 * table came in, the bytes per prefix the table keeps (the whole speaker, and the RIB fed the same
 * UPDATEs on its own); `--snapshot` also writes a heap snapshot (`--snapshot-mid`: one half-way)
 * after the table and lists the object kinds that hold the most.
 *
 * The peer's pre-encoded UPDATEs (about 5 octets per prefix) live in the same process and are
 * freed before the final measurement. Run with `node --expose-gc --import tsx`: without --expose-gc
 * the retained figures include garbage.
 *
 * Usage: node --expose-gc --import tsx bench/bgp-memory/run.ts [--snapshot] [--ip-batch] [N ...]
 *   (run it with calico-node's node flags, src/programs.ts PROGRAM_NODE_FLAGS, to see what it sees)
 *   (default 500000; writes bench/results/bgp-memory.json)
 */
import net from 'node:net';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { Session } from 'node:inspector/promises';
import { pino } from 'pino';
import { MemoryDatastore } from '../../src/datastore/memory.js';
import { ResourceClient } from '../../src/datastore/resources.js';
import type { CommandResult, CommandRunner, RunOptions } from '../../src/kernel/runner.js';
import { BgpAgent } from '../../src/bgp/speaker/index.js';
import type { RouteOp, RouteWriteResult, RouteWriter } from '../../src/bgp/fib/index.js';
import {
  decodeMessage,
  encodeEndOfRib,
  encodeMessage,
  encodeUpdates,
  MessageFramer,
  type BgpMessage,
} from '../../src/bgp/wire/index.js';
import { Origin, type Prefix } from '../../src/bgp/types.js';
import { Rib } from '../../src/bgp/rib/index.js';

const OUR_ADDRESS = '127.0.0.1';
const PEER_ADDRESS = '127.0.0.2';
const OUR_AS = 64512;
const PEER_AS = 65001;
/** The routes' next hop: not a loopback address (the speaker refuses those), and not the peer's. */
const NEXT_HOP = '192.0.2.2';
const CTX = { fourOctetAs: true };

const args = process.argv.slice(2);
const SNAPSHOT = args.includes('--snapshot');
/**
 * `--allocations`: allocation sites of everything allocated while the table came in; `--promoted`:
 * only of what survived the young generation (promoted to the old one, which only a full GC frees:
 * this is what makes the heap grow while the table arrives).
 */
const PROMOTED = args.includes('--promoted');
const ALLOCATIONS = PROMOTED || args.includes('--allocations');
/** A heap snapshot half-way through the table: what is live (not garbage) while it streams in. */
const SNAPSHOT_MID = args.includes('--snapshot-mid');
/** `--ip-batch`: the fallback route writer (one `ip -batch` per sync) instead of the coprocess's pace. */
const IP_BATCH = args.includes('--ip-batch');
const sizes = args.map(Number).filter((n) => n > 0);
const N = sizes[0] ?? 500_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) return;
  collect();
  collect();
}

const MB = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

interface Stage {
  stage: string;
  heapUsedMB: number;
  heapTotalMB: number;
  externalMB: number;
  arrayBuffersMB: number;
  rssMB: number;
}

function stage(name: string, collect = true): Stage {
  if (collect) gc();
  const m = process.memoryUsage();
  return {
    stage: name,
    heapUsedMB: MB(m.heapUsed),
    heapTotalMB: MB(m.heapTotal),
    externalMB: MB(m.external),
    arrayBuffersMB: MB(m.arrayBuffers),
    rssMB: MB(m.rss),
  };
}

/** `ip` as the speaker uses it, counting installed routes; every read says there are none of ours. */
class CountingKernel implements CommandRunner {
  routes = 0;
  batches = 0;
  largestBatchChars = 0;

  run(cmd: string, argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    if (cmd === 'ip' && argv.includes('-batch')) {
      const input = options.input ?? '';
      this.batches++;
      this.largestBatchChars = Math.max(this.largestBatchChars, input.length);
      let at = input.indexOf('route ');
      while (at >= 0) {
        if (input.startsWith('route replace', at)) this.routes++;
        else if (input.startsWith('route del', at)) this.routes--;
        at = input.indexOf('\nroute ', at + 1);
        if (at >= 0) at++;
      }
    }
    const stdout = cmd === 'ip' && argv[0] === '-j' ? '[]' : '';
    // A real `ip` answers later; so does this one, letting the speaker's event loop run meanwhile.
    return new Promise((resolve) => setImmediate(() => resolve({ code: 0, stdout, stderr: '' })));
  }
}

/**
 * The kernel behind the calico-fib-writer coprocess, as the speaker sees it in calico-node: a
 * writer that keeps order and answers each write after the time the kernel took per route in
 * bench/bgp (500k in ~3.6 s: 7 us a route), so as much waits for it here as there. `--ip-batch`
 * uses CountingKernel instead (the fallback writer, `ip -batch`, taking everything unsent per sync).
 */
class PacedKernelWriter implements RouteWriter {
  readonly kind = 'netlink';
  readonly ordered = true;
  routes = 0;
  batches = 0;
  largestBatchChars = 0;
  private lastAnswer = Promise.resolve();

  readRoutes(): Promise<Map<string, readonly string[]>> {
    return Promise.resolve(new Map());
  }

  write(ops: readonly RouteOp[]): Promise<RouteWriteResult> {
    this.batches++;
    // What the coprocess is sent: about 30 characters a route.
    this.largestBatchChars = Math.max(this.largestBatchChars, ops.length * 30);
    // Counted now: like the coprocess's writer, the answer must not keep the operations alive.
    let added = 0;
    for (const op of ops) added += op.kind === 'replace' ? 1 : -1;
    return this.answerAfter(ops.length * 0.007, added);
  }

  private answerAfter(ms: number, added: number): Promise<RouteWriteResult> {
    const answered = this.lastAnswer.then(() => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    this.lastAnswer = answered;
    return answered.then(() => {
      this.routes += added;
      return { failed: [] };
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function tablePrefixes(n: number): Prefix[] {
  const out: Prefix[] = new Array<Prefix>(n);
  for (let i = 0; i < n; i++) {
    const v = (11 << 16) + i;
    out[i] = {
      family: 'ipv4',
      address: `${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}.0`,
      length: 24,
    };
  }
  return out;
}

/** The peer's whole table as UPDATE messages, then End-of-RIB. */
function encodeTable(n: number): Buffer[] {
  const attrs = {
    origin: Origin.IGP,
    asPath: [{ type: 'sequence' as const, asns: [PEER_AS] }],
    nextHop: NEXT_HOP,
  };
  return [...encodeUpdates(attrs, tablePrefixes(n), CTX), encodeEndOfRib('ipv4', CTX)];
}

/**
 * The RIB alone: the same UPDATEs decoded and announced into a Rib with one eBGP peer (flushed
 * every 8,192 prefixes, as the speaker does within a burst), nothing else kept. Returns the heap it
 * holds per prefix after a full GC.
 */
function ribOnlyBytesPerPrefix(n: number): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const rib = new Rib({ routerId: OUR_ADDRESS, localAs: OUR_AS });
  rib.peerUp(
    {
      address: PEER_ADDRESS,
      routerId: PEER_ADDRESS,
      asn: PEER_AS,
      families: ['ipv4'],
      localNextHops: { ipv4: OUR_ADDRESS },
    },
    Date.now(),
  );
  let pending = 0;
  for (const frame of encodeTable(n)) {
    const m = decodeMessage(frame, CTX);
    if (m.type !== 'update') continue;
    for (const a of m.announced) {
      rib.announce(PEER_ADDRESS, a.prefixes, a.attributes, Date.now());
      pending += a.prefixes.length;
    }
    if (pending >= 8192) {
      rib.flush();
      pending = 0;
    }
  }
  rib.flush();
  if (rib.size !== n) throw new Error(`RIB holds ${rib.size} prefixes, expected ${n}`);
  gc();
  const bytes = process.memoryUsage().heapUsed - before;
  return Math.round(bytes / n);
}

/** Accepts the speaker's connection, answers its OPEN, and resolves with the socket once Established. */
function peerSession(port: number): { established: Promise<net.Socket>; close: () => void } {
  let server: net.Server | undefined;
  const established = new Promise<net.Socket>((resolve, reject) => {
    server = net.createServer((socket) => {
      const framer = new MessageFramer();
      let sentKeepalive = false;
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        for (const frame of framer.push(chunk)) {
          const m: BgpMessage = decodeMessage(frame, CTX);
          if (m.type === 'open') {
            socket.write(
              encodeMessage(
                {
                  type: 'open',
                  version: 4,
                  myAs: PEER_AS,
                  holdTime: 240,
                  bgpId: PEER_ADDRESS,
                  capabilities: [
                    { kind: 'multiprotocol', afi: 1, safi: 1 },
                    { kind: 'four-octet-as', asn: PEER_AS },
                  ],
                },
                CTX,
              ),
            );
            socket.write(encodeMessage({ type: 'keepalive' }, CTX));
            sentKeepalive = true;
          } else if (m.type === 'keepalive' && sentKeepalive) {
            resolve(socket);
          } else if (m.type === 'notification') {
            reject(new Error(`the speaker sent NOTIFICATION ${m.code}/${m.subcode}`));
          }
        }
      });
    });
    server.on('error', reject);
    server.listen(port, PEER_ADDRESS);
  });
  return { established, close: () => server?.close() };
}

async function main(): Promise<void> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const runDir = join(tmpdir(), `calico-ts-bgp-memory-${process.pid}`);
  const start = stage('modules loaded');
  const ds = new MemoryDatastore();
  const client = new ResourceClient(ds);
  await client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: { nodeToNodeMeshEnabled: false, asNumber: OUR_AS, listenPort: port },
  });
  await client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name: 'bench' },
    spec: { bgp: { ipv4Address: `${OUR_ADDRESS}/8` } },
  });
  await client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'BGPPeer',
    metadata: { name: 'announcer' },
    spec: { peerIP: PEER_ADDRESS, asNumber: PEER_AS },
  });
  const runner = new CountingKernel();
  const writer = IP_BATCH ? undefined : new PacedKernelWriter();
  const kernel: { routes: number; batches: number; largestBatchChars: number } = writer ?? runner;
  // BGPPeer sessions go to port 179 (Calico has no per-peer port for explicit peers); we are root.
  const peer = peerSession(179);
  const agent = new BgpAgent({
    nodeName: 'bench',
    datastore: ds,
    runner,
    ...(writer !== undefined ? { routeWriter: writer } : {}),
    logger: pino({ level: process.env.LOGLEVEL ?? 'silent' }),
    bindToNodeAddress: true,
    ipv6: false,
    gracefulRestart: false,
    connectRetrySec: 0.2,
  });
  await agent.start();
  const socket = await peer.established;
  let table: Buffer[] | undefined = encodeTable(N);
  const tableBytes = table.reduce((s, b) => s + b.length, 0);
  const atEstablished = stage('Established (peer table encoded)');
  const accepted = () => agent.status()?.peers[0]?.routesAccepted ?? 0;

  let peakHeap = 0;
  let peakExternal = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakExternal = Math.max(peakExternal, m.external);
  };
  const profiler = ALLOCATIONS ? await startAllocationSampling() : undefined;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const m of table) socket.write(m);
  let tRib: number | undefined;
  let tKernel: number | undefined;
  let midSnapshot: { file: string; top: { name: string; count: number; selfMB: number }[] } | undefined;
  const deadline = Date.now() + 10 * 60_000;
  while (tRib === undefined || tKernel === undefined) {
    if (Date.now() > deadline)
      throw new Error(`timed out: ${accepted()} accepted, ${kernel.routes} in the kernel`);
    sample();
    if (tRib === undefined && accepted() >= N) tRib = performance.now() - t0;
    if (tKernel === undefined && kernel.routes >= N) tKernel = performance.now() - t0;
    if (SNAPSHOT_MID && midSnapshot === undefined && accepted() >= N / 2) {
      const file = join(tmpdir(), `bgp-memory-${N}-mid.heapsnapshot`);
      writeHeapSnapshot(file);
      midSnapshot = { file, top: summarizeSnapshot(file) };
    }
    await sleep(5);
  }
  const cpu = process.cpuUsage(cpu0);
  const allocations = profiler ? await profiler.stop() : undefined;
  const afterTableLive = stage('all in RIB and kernel (before GC)', false);
  table = undefined;
  await sleep(50);
  const afterTable = stage('all in RIB and kernel (after GC, peer table freed)');
  const peakRss = process.resourceUsage().maxRSS * 1024;

  let snapshot: { file: string; top: { name: string; count: number; selfMB: number }[] } | undefined;
  if (SNAPSHOT) {
    const file = join(tmpdir(), `bgp-memory-${N}.heapsnapshot`);
    writeHeapSnapshot(file);
    snapshot = { file, top: summarizeSnapshot(file) };
  }

  socket.destroy();
  await agent.stop();
  peer.close();
  await ds.close();
  rmSync(runDir, { recursive: true, force: true });

  const retainedPerPrefix = Math.round(
    ((afterTable.heapUsedMB + afterTable.externalMB - atEstablished.heapUsedMB - atEstablished.externalMB) *
      1048576) /
      N +
      tableBytes / N,
  );
  const ribOnly = ribOnlyBytesPerPrefix(N);
  const result = {
    benchmark: `bgp-memory: one peer sends N IPv4 /24s to an in-process BgpAgent (fake kernel behind ${IP_BATCH ? 'ip -batch' : 'a writer paced as the netlink coprocess'}), memory by stage`,
    nodeFlags: process.execArgv.filter((a) => a.startsWith('--') && a !== '--import'),
    node: process.version,
    cpus: cpus().length,
    loadAverageAtStart: Math.round(loadavg()[0]! * 100) / 100,
    date: new Date().toISOString(),
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    prefixes: N,
    updateOctets: tableBytes,
    ribMs: Math.round(tRib),
    kernelMs: Math.round(tKernel),
    cpuSec: Math.round(((cpu.user + cpu.system) / 1e6) * 100) / 100,
    fibBatches: kernel.batches,
    largestFibBatchMB: MB(kernel.largestBatchChars),
    peakHeapUsedMB: MB(peakHeap),
    peakExternalMB: MB(peakExternal),
    peakRssMB: MB(peakRss),
    rssGrowthMB: Math.round((MB(peakRss) - atEstablished.rssMB) * 10) / 10,
    retainedBytesPerPrefix: retainedPerPrefix,
    /** The Rib alone (no speaker, no FIB): its share of the retained bytes. */
    ribOnlyBytesPerPrefix: ribOnly,
    stages: [start, atEstablished, afterTableLive, afterTable],
    ...(snapshot ? { snapshotTop: snapshot.top } : {}),
    ...(midSnapshot ? { midSnapshotTop: midSnapshot.top } : {}),
    ...(allocations ? { allocationSites: allocations } : {}),
  };
  console.log(
    `N=${N}: RIB ${result.ribMs} ms, kernel ${result.kernelMs} ms, CPU ${result.cpuSec} s, peak heap ${result.peakHeapUsedMB} MB, ` +
      `peak RSS ${result.peakRssMB} MB (growth ${result.rssGrowthMB} MB), retained ${retainedPerPrefix} B/prefix ` +
      `(the RIB alone: ${ribOnly}), ` +
      `${kernel.batches} FIB batches (largest ${result.largestFibBatchMB} MB)`,
  );
  console.log('stage | heapUsed MB | heapTotal MB | external MB | arrayBuffers MB | RSS MB');
  for (const s of result.stages) {
    console.log([s.stage, s.heapUsedMB, s.heapTotalMB, s.externalMB, s.arrayBuffersMB, s.rssMB].join(' | '));
  }
  if (allocations) {
    console.log(
      `\n${PROMOTED ? 'promoted to the old generation' : 'allocated'} while the table came in (sampled, garbage included): MB | function | where`,
    );
    for (const a of allocations) console.log(`${a.MB} | ${a.fn} | ${a.where}`);
  }
  if (midSnapshot) {
    console.log(`\nheap snapshot half-way: ${midSnapshot.file}\nkind | count | self MB`);
    for (const t of midSnapshot.top) console.log(`${t.name} | ${t.count} | ${t.selfMB}`);
  }
  if (snapshot) {
    console.log(`\nheap snapshot: ${snapshot.file}\nkind | count | self MB`);
    for (const t of snapshot.top) console.log(`${t.name} | ${t.count} | ${t.selfMB}`);
  }
  const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'bgp-memory.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${out}`);
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/** Samples every allocation site, garbage included, until `stop`; returns the top sites by bytes. */
async function startAllocationSampling(): Promise<{
  stop: () => Promise<{ MB: number; fn: string; where: string }[]>;
}> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: !PROMOTED,
  } as object);
  return {
    stop: async () => {
      const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as {
        profile: { head: SamplingNode };
      };
      session.disconnect();
      const bySite = new Map<string, number>();
      const walk = (n: SamplingNode): void => {
        const f = n.callFrame;
        const site = `${f.functionName || '(anonymous)'}\t${f.url.replace(/^.*\/work\/main\//, '')}:${f.lineNumber + 1}`;
        bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
        for (const c of n.children) walk(c);
      };
      walk(profile.head);
      return [...bySite]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 25)
        .map(([site, bytes]) => {
          const [fn, where] = site.split('\t') as [string, string];
          return { MB: MB(bytes), fn, where };
        });
    },
  };
}

/** The object kinds (constructor or type name) with the largest total self size in a heap snapshot. */
function summarizeSnapshot(file: string): { name: string; count: number; selfMB: number }[] {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snap.snapshot.meta.node_types[0];
  const byName = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const name =
      type === 'object' || type === 'closure' ? `${type} ${snap.strings[snap.nodes[i + nameAt]!]}` : type;
    const e = byName.get(name) ?? { count: 0, size: 0 };
    e.count++;
    e.size += snap.nodes[i + sizeAt]!;
    byName.set(name, e);
  }
  return [...byName]
    .sort((a, b) => b[1].size - a[1].size)
    .slice(0, 20)
    .map(([name, e]) => ({ name, count: e.count, selfMB: MB(e.size) }));
}

await main();
