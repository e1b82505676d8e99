import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatastore } from '../../src/datastore/sqlite.js';
import type { Datastore } from '../../src/datastore/types.js';
import { ETCD_BENCH_BACKENDS } from './etcd.js';

/**
 * The backends the datastore benchmark measures, one entry each. The benchmark runs every
 * measurement for every entry, in separate processes, so adding etcd is one more entry here: how to
 * make a fresh store, and how any process opens it from a JSON description.
 */
export interface BenchBackend {
  readonly name: string;
  /** Makes a fresh, empty store; `argument` is what worker processes pass to `open`. */
  create(): Promise<{ argument: unknown; cleanup: () => void }>;
  open(argument: unknown): Promise<Datastore>;
}

const sqlite: BenchBackend = {
  name: 'sqlite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'calico-bench-datastore-'));
    const path = join(dir, 'calico.db');
    // Create the file and schema once, before the workers race to open it.
    await (await SqliteDatastore.open(path)).close();
    return { argument: { path }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  },
  open(argument) {
    return SqliteDatastore.open((argument as { path: string }).path);
  },
};

export const BENCH_BACKENDS: readonly BenchBackend[] = [sqlite, ...ETCD_BENCH_BACKENDS];

export function findBenchBackend(name: string): BenchBackend {
  const backend = BENCH_BACKENDS.find((b) => b.name === name);
  if (!backend)
    throw new Error(`unknown benchmark backend ${name}; known: ${BENCH_BACKENDS.map((b) => b.name)}`);
  return backend;
}
