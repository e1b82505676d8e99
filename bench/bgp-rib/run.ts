/**
 * RIB benchmark: one eBGP peer announces N IPv4 prefixes (in UPDATE-sized batches of 800 prefixes
 * sharing one attribute set, about what fits in 4,096 bytes), then a second peer announces the same
 * N with a shorter AS_PATH so every best path changes, then the first peer goes down. Reports the
 * time of each phase and the heap the RIB holds, per prefix, so the memory target (within 3x of
 * BIRD at 500k) can be tracked. Each N runs in its own process so heap figures do not mix.
 *
 * Usage: node --import tsx bench/bgp-rib/run.ts [N ...]   (default 10000 100000 500000)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rib } from '../../src/bgp/rib/index.js';
import { Origin, type PathAttributes, type Prefix } from '../../src/bgp/types.js';

const BATCH = 800;
/** Flush after this many UPDATEs, as the speaker does after draining a socket read. */
const UPDATES_PER_FLUSH = 25;

interface Result {
  prefixes: number;
  insertMs: number;
  /** CPU time of the insert (user + system, all threads: GC included); steadier than wall time on a shared machine. */
  insertCpuMs: number;
  insertPrefixesPerSec: number;
  churnMs: number;
  peerDownMs: number;
  heapOnePeerMB: number;
  heapTwoPeersMB: number;
  bytesPerPrefixOnePeer: number;
  bytesPerPrefixTwoPeers: number;
  rssTwoPeersMB: number;
  attributeSets: number;
  routeChangesInsert: number;
  routeChangesChurn: number;
  /** Route reflector: a further REFLECTOR_CLIENTS iBGP clients come up and get the table. */
  reflectClients: number;
  reflectInitialTablesMs: number;
  reflectHeapDeltaMB: number;
}

const REFLECTOR_CLIENTS = 20;

/** A wall-clock-like reading in milliseconds (not a small integer), as a real speaker passes. */
function clockAt(update: number): number {
  return 1_732_400_000_000.25 + update * 1.5;
}

function prefixAt(i: number): Prefix {
  // /24s from 11.0.0.0 upward: 500k of them fit below 20.0.0.0.
  const n = 11 * 2 ** 24 + i * 256;
  return {
    family: 'ipv4',
    address: `${Math.floor(n / 2 ** 24)}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.0`,
    length: 24,
  };
}

function updateAttrs(peerAs: number, update: number, nextHop: string, extraHops: number): PathAttributes {
  // Distinct attribute sets per UPDATE, as in a real table where origin ASes vary.
  const asns = [peerAs, 64600 + (update % 400)];
  for (let i = 0; i < extraHops; i++) asns.push(3000 + ((update * 7 + i) % 900));
  return { origin: Origin.IGP, asPath: [{ type: 'sequence', asns }], nextHop, med: update % 3 };
}

function announceAll(rib: Rib, peer: string, peerAs: number, n: number, extraHops: number): number {
  let changes = 0;
  let update = 0;
  for (let start = 0; start < n; start += BATCH, update++) {
    const prefixes: Prefix[] = [];
    for (let i = start; i < Math.min(n, start + BATCH); i++) prefixes.push(prefixAt(i));
    rib.announce(peer, prefixes, updateAttrs(peerAs, update, peer, extraHops), clockAt(update));
    if (update % UPDATES_PER_FLUSH === UPDATES_PER_FLUSH - 1) changes += rib.flush().routes.length;
  }
  return changes + rib.flush().routes.length;
}

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** Brings up the reflector clients and counts what the next flush announces to them. */
function reflectToClients(rib: Rib): number {
  for (let c = 0; c < REFLECTOR_CLIENTS; c++) {
    const address = `10.1.${c >> 8}.${c & 255}`;
    rib.peerUp(
      {
        address,
        routerId: address,
        asn: 65000,
        families: ['ipv4'],
        routeReflectorClient: true,
        localNextHops: { ipv4: '10.255.0.1' },
      },
      2,
    );
  }
  let sent = 0;
  for (const adv of rib.flush().advertisements) {
    for (const group of adv.announce) sent += group.prefixes.length;
  }
  return sent;
}

function measure(n: number): Result {
  const base = heapAfterGc();
  const rib = new Rib({ routerId: '10.255.0.1', localAs: 65000 });
  const peerA = {
    address: '192.0.2.1',
    routerId: '192.0.2.1',
    asn: 65001,
    families: ['ipv4' as const],
    localNextHops: { ipv4: '192.0.2.100' },
  };
  const peerB = { ...peerA, address: '192.0.2.2', routerId: '192.0.2.2', asn: 65002 };
  rib.peerUp(peerA, 0);
  rib.peerUp(peerB, 0);
  rib.flush();

  let t = performance.now();
  const cpu = process.cpuUsage();
  const routeChangesInsert = announceAll(rib, peerA.address, peerA.asn, n, 2);
  const insertMs = performance.now() - t;
  const insertCpu = process.cpuUsage(cpu);
  const heapOne = heapAfterGc() - base;

  t = performance.now();
  const routeChangesChurn = announceAll(rib, peerB.address, peerB.asn, n, 1);
  const churnMs = performance.now() - t;
  const heapTwo = heapAfterGc() - base;
  const rss = process.memoryUsage().rss;
  const attributeSets = rib.attributeSets;

  t = performance.now();
  rib.peerDown(peerA.address, 1);
  rib.flush();
  const peerDownMs = performance.now() - t;
  if (rib.size !== n) throw new Error(`bench: expected ${n} prefixes after peer A left, found ${rib.size}`);

  // The Adj-RIB-Out is derived, not stored: clients cost their sessions, not a table each.
  const beforeClients = heapAfterGc();
  t = performance.now();
  const sent = reflectToClients(rib);
  const reflectMs = performance.now() - t;
  const reflectHeap = heapAfterGc() - beforeClients;
  if (sent !== n * REFLECTOR_CLIENTS) {
    throw new Error(`bench: expected ${n * REFLECTOR_CLIENTS} announcements to clients, got ${sent}`);
  }

  return {
    prefixes: n,
    insertMs: Math.round(insertMs),
    insertCpuMs: Math.round((insertCpu.user + insertCpu.system) / 1000),
    insertPrefixesPerSec: Math.round(n / (insertMs / 1000)),
    churnMs: Math.round(churnMs),
    peerDownMs: Math.round(peerDownMs),
    heapOnePeerMB: +(heapOne / 2 ** 20).toFixed(1),
    heapTwoPeersMB: +(heapTwo / 2 ** 20).toFixed(1),
    bytesPerPrefixOnePeer: Math.round(heapOne / n),
    bytesPerPrefixTwoPeers: Math.round(heapTwo / n),
    rssTwoPeersMB: +(rss / 2 ** 20).toFixed(1),
    attributeSets,
    routeChangesInsert,
    routeChangesChurn,
    reflectClients: REFLECTOR_CLIENTS,
    reflectInitialTablesMs: Math.round(reflectMs),
    reflectHeapDeltaMB: +(reflectHeap / 2 ** 20).toFixed(1),
  };
}

function main(): void {
  const oneIndex = process.argv.indexOf('--one');
  if (oneIndex >= 0) {
    const result = measure(Number(process.argv[oneIndex + 1]));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((x) => x > 0);
  const ns = sizes.length > 0 ? sizes : [10_000, 100_000, 500_000];
  const self = fileURLToPath(import.meta.url);
  // Other work on the machine inflates wall times; CPU times and heap figures hold up better.
  const loadAtStart = loadavg()[0];
  const results: Result[] = [];
  for (const n of ns) {
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', '--max-old-space-size=4096', '--import', 'tsx', self, '--one', String(n)],
      { encoding: 'utf8' },
    );
    if (child.status !== 0) {
      throw new Error(`bench: run with N=${n} failed (exit ${child.status}): ${child.stderr}`);
    }
    results.push(JSON.parse(child.stdout.trim().split('\n').pop()!) as Result);
  }
  console.table(
    results.map((r) => ({
      N: r.prefixes,
      'insert ms': r.insertMs,
      'insert CPU ms': r.insertCpuMs,
      'prefixes/s': r.insertPrefixesPerSec,
      'churn ms (2nd peer, all bests change)': r.churnMs,
      'peer down ms': r.peerDownMs,
      'heap 1 peer MB': r.heapOnePeerMB,
      'B/prefix 1 peer': r.bytesPerPrefixOnePeer,
      'heap 2 peers MB': r.heapTwoPeersMB,
      'B/prefix 2 peers': r.bytesPerPrefixTwoPeers,
      'RSS MB': r.rssTwoPeersMB,
      [`${REFLECTOR_CLIENTS} RR clients: tables ms`]: r.reflectInitialTablesMs,
      'RR clients heap MB': r.reflectHeapDeltaMB,
    })),
  );
  const out = join(dirname(self), '..', 'results', 'bgp-rib.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        benchmark: 'bgp-rib',
        description: `IPv4 /24s announced by one eBGP peer in 800-prefix UPDATEs (flush every 25), then the same by a second peer with a shorter AS_PATH (every best changes), then the first peer down, then ${REFLECTOR_CLIENTS} iBGP route-reflector clients come up and get the full table; heap measured after GC`,
        node: process.version,
        cpus: cpus().length,
        loadAverageAtStart: loadAtStart,
        date: new Date().toISOString(),
        results,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${out}`);
}

main();
