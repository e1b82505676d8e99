// A benchmark worker process: opens the store the parent names, sets up one job at a time, runs it
// on `go`, and reports the result. Run by run.ts over an IPC channel.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Datastore } from '../../src/datastore/types.js';
import { findBenchBackend } from './backends.js';
import {
  resourceSizedValue,
  wallClockMs,
  type BenchJob,
  type BenchResult,
  type FromWorker,
  type ToWorker,
} from './protocol.js';

let store: Datastore | undefined;
let start: (() => Promise<BenchResult>) | undefined;

function send(message: FromWorker): void {
  // After the parent has closed the channel (it gave up on a failed test), there is no one to tell.
  if (process.connected) process.send?.(message);
}

async function casLoop(datastore: Datastore, job: Extract<BenchJob, { kind: 'cas-loop' }>) {
  const revisions: number[] = [];
  for (let k = 0; k < job.keys; k++) {
    revisions.push((await datastore.create(`${job.keyPrefix}${k}`, resourceSizedValue({ n: 0 }))).revision);
  }
  return async (): Promise<BenchResult> => {
    const began = performance.now();
    const deadline = began + job.durationMs;
    let writes = 0;
    while (performance.now() < deadline) {
      const k = writes % job.keys;
      const kv = await datastore.update(
        `${job.keyPrefix}${k}`,
        resourceSizedValue({ n: writes }),
        revisions[k],
      );
      revisions[k] = kv.revision;
      writes++;
    }
    return { kind: 'cas-loop', writes, elapsedMs: performance.now() - began };
  };
}

function watchJob(datastore: Datastore, job: Extract<BenchJob, { kind: 'watch' }>) {
  const controller = new AbortController();
  const watch = datastore.watch(job.prefix, { signal: controller.signal });
  return async (): Promise<BenchResult> => {
    const latenciesMs: number[] = [];
    for await (const event of watch) {
      if (event.type !== 'added') throw new Error(`unexpected watch event ${event.type}`);
      const { writtenAt } = JSON.parse(event.kv.value) as { writtenAt: number };
      latenciesMs.push(wallClockMs() - writtenAt);
      if (latenciesMs.length === job.count) break;
    }
    controller.abort();
    return { kind: 'watch', latenciesMs };
  };
}

function stampedWrites(datastore: Datastore, job: Extract<BenchJob, { kind: 'stamped-writes' }>) {
  return async (): Promise<BenchResult> => {
    const began = performance.now();
    for (let i = 0; i < job.count; i++) {
      const due = began + i * job.intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      await datastore.create(`${job.prefix}${i}`, resourceSizedValue({ writtenAt: wallClockMs() }));
    }
    return { kind: 'stamped-writes', writes: job.count };
  };
}

async function setup(datastore: Datastore, job: BenchJob): Promise<() => Promise<BenchResult>> {
  switch (job.kind) {
    case 'cas-loop':
      return casLoop(datastore, job);
    case 'watch':
      return watchJob(datastore, job);
    case 'stamped-writes':
      return stampedWrites(datastore, job);
    default: {
      const unknown: never = job;
      throw new Error(`unknown job ${JSON.stringify(unknown)}`);
    }
  }
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'open':
      store = await findBenchBackend(message.backend).open(message.argument);
      send({ type: 'ready' });
      return;
    case 'setup':
      if (!store) throw new Error('setup before open');
      start = await setup(store, message.job);
      send({ type: 'ready' });
      return;
    case 'go': {
      const run = start;
      start = undefined;
      if (!run) throw new Error('go before setup');
      send({ type: 'result', result: await run() });
      return;
    }
    case 'close':
      await store?.close();
      process.disconnect?.();
      return;
    default: {
      const unknown: never = message;
      throw new Error(`unknown message ${JSON.stringify(unknown)}`);
    }
  }
}

process.on('message', (message: ToWorker) => {
  handle(message).catch((error: unknown) =>
    send({
      type: 'failed',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    }),
  );
});
