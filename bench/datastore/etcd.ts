/**
 * The etcd columns of the datastore benchmark: our `EtcdDatastore`, and beside it the floor, the
 * `etcd3` client used directly (a plain put loop and the client's own Watcher), each against its
 * own fresh etcd started by the shared test helper. Our CAS write is an etcd transaction (compare
 * the mod revision, then put); the floor's write is an unconditional put, so the ratio is the whole
 * cost of our layer: the transaction, the bounded-call wrapper, and the watch stream.
 */
import { on } from 'node:events';
import etcd3 from 'etcd3';
import type { IKeyValue } from 'etcd3';
import { EtcdDatastore } from '../../src/datastore/etcd.js';
import type { Datastore, KVPair, ListResult, WatchEvent, WatchOptions } from '../../src/datastore/types.js';
import { EtcdServer } from '../../test/support/etcd.js';
import type { BenchBackend } from './backends.js';

interface EtcdArgument {
  readonly endpoint: string;
}

async function freshEtcd(): Promise<{ argument: EtcdArgument; cleanup: () => void }> {
  const server = await EtcdServer.start();
  return { argument: { endpoint: server.endpoint }, cleanup: () => server.closeNow() };
}

const ours: BenchBackend = {
  name: 'etcd',
  create: freshEtcd,
  open: (argument) => EtcdDatastore.open({ endpoints: [(argument as EtcdArgument).endpoint] }),
};

/**
 * Just enough of `Datastore` over the raw etcd3 client for the benchmark's jobs (create, update,
 * watch): no compare-and-swap, no bounded retries, no resume. It is a floor to measure against, not
 * a backend.
 */
export class RawEtcd3Floor implements Datastore {
  readonly type = 'etcdv3' as const;
  private knownRevision = 0;

  constructor(private readonly client: InstanceType<typeof etcd3.Etcd3>) {}

  static async open(endpoint: string): Promise<RawEtcd3Floor> {
    const floor = new RawEtcd3Floor(new etcd3.Etcd3({ hosts: endpoint }));
    await floor.currentRevision();
    return floor;
  }

  async create(key: string, value: string): Promise<KVPair> {
    return this.put(key, value);
  }

  async update(key: string, value: string): Promise<KVPair> {
    return this.put(key, value);
  }

  watch(prefix: string, options: WatchOptions = {}): AsyncIterableIterator<WatchEvent> {
    // Listening starts now, at a known revision, so no write after this call is missed.
    const watcher = this.client
      .watch()
      .prefix(prefix)
      .startRevision(String((options.fromRevision ?? this.knownRevision) + 1))
      .watcher();
    const puts = on(watcher, 'put', options.signal ? { signal: options.signal } : {});
    async function* events(): AsyncGenerator<WatchEvent> {
      try {
        for await (const [kv] of puts as AsyncIterable<[IKeyValue]>) {
          yield {
            type: 'added',
            kv: { key: kv.key.toString(), value: kv.value.toString(), revision: Number(kv.mod_revision) },
          };
        }
      } catch (error) {
        if ((error as Error).name !== 'AbortError') throw error;
      } finally {
        await watcher.cancel();
      }
    }
    return events();
  }

  async currentRevision(): Promise<number> {
    const response = await this.client.kv.range({ key: Buffer.from('/calico/'), count_only: true });
    this.knownRevision = Number(response.header.revision);
    return this.knownRevision;
  }

  async close(): Promise<void> {
    this.client.close();
  }

  get(): Promise<KVPair | undefined> {
    return Promise.reject(new Error('the raw etcd3 floor only writes and watches'));
  }

  list(): Promise<ListResult> {
    return Promise.reject(new Error('the raw etcd3 floor only writes and watches'));
  }

  delete(): Promise<KVPair> {
    return Promise.reject(new Error('the raw etcd3 floor only writes and watches'));
  }

  private async put(key: string, value: string): Promise<KVPair> {
    const response = await this.client.put(key).value(value).exec();
    return { key, value, revision: Number(response.header.revision) };
  }
}

const rawFloor: BenchBackend = {
  name: 'etcd3-raw',
  create: freshEtcd,
  open: (argument) => RawEtcd3Floor.open((argument as EtcdArgument).endpoint),
};

export const ETCD_BENCH_BACKENDS: readonly BenchBackend[] = [ours, rawFloor];

/** Our etcd layer's cost over the raw client, per metric: throughput ratio and latency ratio. */
export function etcdOverhead(
  results: Record<
    string,
    {
      casWritesPerSecond: { singleWriter: number; writerProcesses: number };
      watchLatencyMs: { p50: number; p99: number };
    }
  >,
): Record<string, number> | undefined {
  const [layer, floor] = [results[ours.name], results[rawFloor.name]];
  if (!layer || !floor) return undefined;
  return {
    // Writes/s of the floor per write/s of ours: 1.2 means our layer is 20% slower.
    casSingleWriter: floor.casWritesPerSecond.singleWriter / layer.casWritesPerSecond.singleWriter,
    casWriterProcesses: floor.casWritesPerSecond.writerProcesses / layer.casWritesPerSecond.writerProcesses,
    watchP50: layer.watchLatencyMs.p50 / floor.watchLatencyMs.p50,
    watchP99: layer.watchLatencyMs.p99 / floor.watchLatencyMs.p99,
  };
}
