// One benchmark process: opens its own connection to the store (any backend), says ready, and on "go" makes
// `count` single-address assignments (one new handle each, as the CNI plugin does per container).
import type { DatastoreConfig } from '../../src/datastore/config.js';
import { openDatastore } from '../../src/datastore/open.js';
import { IpamClient } from '../../src/ipam/index.js';
import { RevisionConflictError } from '../../src/datastore/errors.js';

export interface WorkerJob {
  readonly config: DatastoreConfig;
  readonly host: string;
  readonly count: number;
  readonly handlePrefix: string;
}

export type WorkerMessage =
  | { readonly type: 'ready' }
  | {
      readonly type: 'done';
      readonly count: number;
      readonly ms: number;
      readonly conflicts: number;
      readonly cpuMicros: number;
    }
  | { readonly type: 'failed'; readonly message: string };

async function main(job: WorkerJob): Promise<void> {
  const ds = await openDatastore(job.config);
  // Count lost compare-and-swap races, to show what contention costs.
  let conflicts = 0;
  const update = ds.update.bind(ds);
  ds.update = async (key, value, expectedRevision) => {
    try {
      return await update(key, value, expectedRevision);
    } catch (e) {
      if (e instanceof RevisionConflictError) conflicts++;
      throw e;
    }
  };
  const ipam = new IpamClient(ds);
  const send = (m: WorkerMessage) => process.send?.(m);
  await new Promise<void>((resolve) => {
    process.once('message', () => resolve());
    send({ type: 'ready' });
  });
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < job.count; i++)
    await ipam.autoAssign({ handle: `${job.handlePrefix}${i}`, host: job.host, num4: 1 });
  const cpu = process.cpuUsage(cpuStart);
  send({
    type: 'done',
    count: job.count,
    ms: performance.now() - start,
    conflicts,
    cpuMicros: cpu.user + cpu.system,
  });
  await ds.close();
  process.disconnect?.();
}

const job = JSON.parse(process.argv[2] ?? '{}') as WorkerJob;
main(job).catch((e: unknown) => {
  process.send?.({ type: 'failed', message: (e as Error).stack ?? String(e) } satisfies WorkerMessage);
  process.exitCode = 1;
});
