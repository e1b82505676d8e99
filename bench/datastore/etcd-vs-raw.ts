// Our etcd layer against the raw etcd3 client, interleaved on one etcd so that machine load hits
// both alike: CAS writes/s with 1 and 4 writers, and watch latency p50/p99. Three columns: ours
// (EtcdDatastore.update with an expected revision), the raw client doing the same CAS transaction by
// hand, and the raw client's plain put loop (the floor the issue names). Writes
// bench/results/datastore-etcd.json. Run: node --import tsx bench/datastore/etcd-vs-raw.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import etcd3 from 'etcd3';
import { EtcdDatastore } from '../../src/datastore/etcd.js';
import type { Datastore } from '../../src/datastore/types.js';
import { EtcdServer } from '../../test/support/etcd.js';
import { RawEtcd3Floor } from './etcd.js';
import { resourceSizedValue, wallClockMs } from './protocol.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1_000);
const WATCH_EVENTS = Number(process.env.BENCH_WATCH_EVENTS ?? 200);
const WRITERS = 4;

/** One way of writing and watching, as the benchmark drives it. */
interface Contender {
  readonly name: string;
  open(endpoint: string): Promise<Writer>;
}

interface Writer {
  /** Writes `value` to `key`, which this writer created; returns nothing the loop needs. */
  write(key: string, value: string): Promise<void>;
  prepare(key: string): Promise<void>;
  watchStore: Datastore;
  close(): Promise<void>;
}

const ours: Contender = {
  name: 'ours (CAS)',
  async open(endpoint) {
    const store = await EtcdDatastore.open({ endpoints: [endpoint] });
    const revisions = new Map<string, number>();
    return {
      async prepare(key) {
        revisions.set(key, (await store.create(key, resourceSizedValue({ n: 0 }))).revision);
      },
      async write(key, value) {
        revisions.set(key, (await store.update(key, value, revisions.get(key))).revision);
      },
      watchStore: store,
      close: () => store.close(),
    };
  },
};

const rawCas: Contender = {
  name: 'raw etcd3 (CAS txn)',
  async open(endpoint) {
    const client = new etcd3.Etcd3({ hosts: endpoint });
    const floor = await RawEtcd3Floor.open(endpoint);
    const revisions = new Map<string, string>();
    return {
      async prepare(key) {
        const put = await client
          .put(key)
          .value(resourceSizedValue({ n: 0 }))
          .exec();
        revisions.set(key, put.header.revision);
      },
      async write(key, value) {
        const k = Buffer.from(key);
        const response = await client.kv.txn({
          compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: revisions.get(key) }],
          success: [{ request_put: { key: k, value: Buffer.from(value) } }],
        });
        if (!response.succeeded) throw new Error(`raw CAS on ${key} refused`);
        revisions.set(key, response.header.revision);
      },
      watchStore: floor,
      async close() {
        client.close();
        await floor.close();
      },
    };
  },
};

const rawPut: Contender = {
  name: 'raw etcd3 (put, floor)',
  async open(endpoint) {
    const floor = await RawEtcd3Floor.open(endpoint);
    return {
      async prepare(key) {
        await floor.create(key, resourceSizedValue({ n: 0 }));
      },
      async write(key, value) {
        await floor.update(key, value);
      },
      watchStore: floor,
      close: () => floor.close(),
    };
  },
};

const CONTENDERS = [ours, rawCas, rawPut];

async function writesPerSecond(writers: Writer[], prefix: string): Promise<number> {
  const keys = writers.map((_, i) => `${prefix}w${i}`);
  await Promise.all(writers.map((w, i) => w.prepare(keys[i] as string)));
  const began = performance.now();
  const deadline = began + ROUND_MS;
  const counts = await Promise.all(
    writers.map(async (writer, i) => {
      let n = 0;
      while (performance.now() < deadline)
        await writer.write(keys[i] as string, resourceSizedValue({ n: ++n }));
      return n;
    }),
  );
  return (counts.reduce((a, b) => a + b, 0) * 1000) / (performance.now() - began);
}

async function watchLatencies(watcher: Writer, writer: Writer, prefix: string): Promise<number[]> {
  const controller = new AbortController();
  const watch = watcher.watchStore.watch(prefix, { signal: controller.signal });
  const latencies: number[] = [];
  const reading = (async () => {
    for await (const event of watch) {
      if (event.type !== 'added' && event.type !== 'modified') continue;
      latencies.push(wallClockMs() - (JSON.parse(event.kv.value) as { writtenAt: number }).writtenAt);
      if (latencies.length === WATCH_EVENTS) break;
    }
  })();
  const began = performance.now();
  for (let i = 0; i < WATCH_EVENTS; i++) {
    const wait = began + i * 2 - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await writer.watchStore.create(`${prefix}${i}`, resourceSizedValue({ writtenAt: wallClockMs() }));
  }
  await reading;
  controller.abort();
  return latencies;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

interface Samples {
  single: number[];
  several: number[];
  latencies: number[];
}

async function main(): Promise<void> {
  const server = await EtcdServer.start();
  const samples = new Map<string, Samples>(
    CONTENDERS.map((c) => [c.name, { single: [], several: [], latencies: [] }]),
  );
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round, so no contender always runs first or last.
      const order = CONTENDERS.map((_, i) => CONTENDERS[(i + round) % CONTENDERS.length] as Contender);
      for (const contender of order) {
        const mine = samples.get(contender.name) as Samples;
        const writers = await Promise.all(
          Array.from({ length: WRITERS + 1 }, () => contender.open(server.endpoint)),
        );
        try {
          const tag = `/bench/${round}/${contender.name.replace(/\W+/g, '-')}/`;
          mine.single.push(await writesPerSecond(writers.slice(0, 1), `${tag}single/`));
          mine.several.push(await writesPerSecond(writers.slice(0, WRITERS), `${tag}several/`));
          mine.latencies.push(
            ...(await watchLatencies(writers[WRITERS] as Writer, writers[0] as Writer, `${tag}watch/`)),
          );
        } finally {
          await Promise.all(writers.map((w) => w.close()));
        }
      }
    }
  } finally {
    await server.close();
  }
  const results = Object.fromEntries(
    [...samples].map(([name, s]) => [
      name,
      {
        casWritesPerSecond: { singleWriter: median(s.single), fourWriters: median(s.several) },
        watchLatencyMs: {
          p50: percentile(s.latencies, 50),
          p99: percentile(s.latencies, 99),
          samples: s.latencies.length,
        },
      },
    ]),
  );
  const [o, floor, cas] = [results[ours.name], results[rawPut.name], results[rawCas.name]];
  if (!o || !floor || !cas) throw new Error('missing results');
  const overhead = {
    vsRawPut: {
      singleWriter: floor.casWritesPerSecond.singleWriter / o.casWritesPerSecond.singleWriter,
      fourWriters: floor.casWritesPerSecond.fourWriters / o.casWritesPerSecond.fourWriters,
      watchP50: o.watchLatencyMs.p50 / floor.watchLatencyMs.p50,
      watchP99: o.watchLatencyMs.p99 / floor.watchLatencyMs.p99,
    },
    vsRawCasTxn: {
      singleWriter: cas.casWritesPerSecond.singleWriter / o.casWritesPerSecond.singleWriter,
      fourWriters: cas.casWritesPerSecond.fourWriters / o.casWritesPerSecond.fourWriters,
    },
  };
  const rows: Array<[string, (r: NonNullable<typeof o>) => string]> = [
    [
      'CAS writes/s, 1 writer (median of rounds)',
      (r) => Math.round(r.casWritesPerSecond.singleWriter).toLocaleString('en'),
    ],
    [
      `CAS writes/s, ${WRITERS} writers (median of rounds)`,
      (r) => Math.round(r.casWritesPerSecond.fourWriters).toLocaleString('en'),
    ],
    ['watch latency p50 (ms)', (r) => r.watchLatencyMs.p50.toFixed(2)],
    ['watch latency p99 (ms)', (r) => r.watchLatencyMs.p99.toFixed(2)],
  ];
  const names = CONTENDERS.map((c) => c.name);
  const table = [
    ['metric', ...names],
    ...rows.map(([label, cell]) => [label, ...names.map((n) => cell(results[n] as typeof o))]),
  ];
  const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length))) ?? [];
  console.log(
    `etcd layer vs raw etcd3: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, ${WATCH_EVENTS} watch events a round, node ${process.version}, ${cpus().length} CPUs\n`,
  );
  for (const row of table)
    console.log(
      row.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '),
    );
  const fmt = (o: Record<string, number>) =>
    Object.entries(o)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ');
  console.log(`\nours vs raw put (floor; target <= 1.20): ${fmt(overhead.vsRawPut)}`);
  console.log(`ours vs raw CAS txn (the same etcd work): ${fmt(overhead.vsRawCasTxn)}`);
  const out = fileURLToPath(new URL('../results/datastore-etcd.json', import.meta.url));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        environment: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model },
        settings: { rounds: ROUNDS, roundMs: ROUND_MS, watchEvents: WATCH_EVENTS, writers: WRITERS },
        results,
        overhead,
        meetsTarget: Object.values(overhead.vsRawPut).every((ratio) => ratio <= 1.2),
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nwrote ${out}`);
}

await main();
