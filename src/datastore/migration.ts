import { DatastoreError, KeyExistsError } from './errors.js';
import type { Datastore, DatastoreType } from './types.js';

/**
 * Moving a whole Calico datastore from one backend to another (`calicoctl datastore migrate`).
 *
 * It works on keys, not resources: every key under /calico/ (resources, IPAM blocks, affinities,
 * handles, and whatever is stored there later) is copied with its value byte for byte, so the copy is
 * complete without this module knowing what IPAM or any other part stores. Values keep uid and
 * creationTimestamp because those live in the value; only revisions (resourceVersion) are new in
 * the target, since revisions belong to a store.
 *
 * The file is JSON lines: a header line that says what it is, where it came from, at which revision
 * and how many entries follow, then one `{"key","value"}` line per key in key order. Lines keep
 * memory flat for large stores, and the count in the header catches a truncated file.
 */
export const MIGRATION_PREFIX = '/calico/';
export const EXPORT_KIND = 'CalicoDatastoreExport';
export const EXPORT_VERSION = 1;

export interface ExportHeader {
  readonly kind: typeof EXPORT_KIND;
  readonly version: typeof EXPORT_VERSION;
  /** The backend it was exported from, and that store's revision at the moment of the export. */
  readonly source: DatastoreType;
  readonly revision: number;
  readonly prefix: string;
  readonly count: number;
}

export interface ExportEntry {
  readonly key: string;
  readonly value: string;
}

export class MigrationError extends DatastoreError {}

/**
 * Writes the export of everything under `prefix`, as one consistent snapshot (one listing), and
 * returns its header.
 */
export async function exportDatastore(
  datastore: Datastore,
  write: (text: string) => void,
  prefix = MIGRATION_PREFIX,
): Promise<ExportHeader> {
  const { items, revision } = await datastore.list(prefix);
  const header: ExportHeader = {
    kind: EXPORT_KIND,
    version: EXPORT_VERSION,
    source: datastore.type,
    revision,
    prefix,
    count: items.length,
  };
  write(JSON.stringify(header) + '\n');
  // Written in chunks: one write per key would be slow for a large store on a pipe.
  let chunk = '';
  for (const { key, value } of items) {
    chunk += JSON.stringify({ key, value }) + '\n';
    if (chunk.length > 64 * 1024) {
      write(chunk);
      chunk = '';
    }
  }
  if (chunk) write(chunk);
  return header;
}

/** Reads an export file's text; every problem names the line. */
export function parseExport(
  text: string,
  source = 'the export file',
): { header: ExportHeader; entries: ExportEntry[] } {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const parseLine = (index: number): unknown => {
    try {
      return JSON.parse(lines[index] ?? '');
    } catch (error) {
      throw new MigrationError(`${source} line ${index + 1}: not JSON (${(error as Error).message})`);
    }
  };
  if (lines.length === 0)
    throw new MigrationError(
      `${source} is empty; expected the output of "calicoctl datastore migrate export"`,
    );
  const header = parseLine(0) as Partial<ExportHeader>;
  if (header?.kind !== EXPORT_KIND)
    throw new MigrationError(
      `${source} line 1: not a datastore export (kind is ${JSON.stringify(header?.kind)}, expected ${EXPORT_KIND}); create one with "calicoctl datastore migrate export > FILE"`,
    );
  if (header.version !== EXPORT_VERSION)
    throw new MigrationError(
      `${source} line 1: export format version ${header.version} is not supported (this calicoctl reads version ${EXPORT_VERSION})`,
    );
  if (typeof header.prefix !== 'string' || !Number.isSafeInteger(header.count))
    throw new MigrationError(`${source} line 1: the header lacks prefix or count`);
  const entries: ExportEntry[] = [];
  for (let i = 1; i < lines.length; i++) {
    const entry = parseLine(i) as Partial<ExportEntry>;
    if (typeof entry?.key !== 'string' || typeof entry.value !== 'string')
      throw new MigrationError(`${source} line ${i + 1}: expected {"key": string, "value": string}`);
    if (!entry.key.startsWith(header.prefix))
      throw new MigrationError(
        `${source} line ${i + 1}: key ${entry.key} is outside the exported prefix ${header.prefix}`,
      );
    entries.push({ key: entry.key, value: entry.value });
  }
  if (entries.length !== header.count)
    throw new MigrationError(
      `${source} holds ${entries.length} entries but its header says ${header.count}; the file is truncated or was edited — export again`,
    );
  return { header: header as ExportHeader, entries };
}

export interface ImportOptions {
  /** Writes in flight at once. Default 16. */
  readonly concurrency?: number;
}

/**
 * Creates every entry in `target`, which must hold nothing under the export's prefix: merging two
 * stores' revisions and uids is not a migration. Fails on the first refused write and says how far
 * it got, so the user can clear the target and run it again.
 */
export async function importDatastore(
  target: Datastore,
  exported: { header: ExportHeader; entries: readonly ExportEntry[] },
  options: ImportOptions = {},
): Promise<number> {
  const { header, entries } = exported;
  const existing = await target.list(header.prefix);
  if (existing.items.length > 0) {
    const sample = existing.items.slice(0, 3).map((kv) => kv.key);
    throw new MigrationError(
      `the target ${target.type} datastore already holds ${existing.items.length} keys under ${header.prefix} (${sample.join(', ')}${existing.items.length > 3 ? ', ...' : ''}); import only into an empty datastore`,
    );
  }
  const concurrency = Math.max(1, options.concurrency ?? 16);
  let next = 0;
  let written = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < entries.length) {
      const entry = entries[next++] as ExportEntry;
      try {
        await target.create(entry.key, entry.value);
        written++;
      } catch (error) {
        failure ??=
          error instanceof KeyExistsError
            ? new MigrationError(`${entry.key} appeared in the target during the import`)
            : error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
  if (failure !== undefined) {
    const cause = failure instanceof Error ? failure.message : String(failure);
    throw new MigrationError(
      `import stopped after ${written} of ${entries.length} keys: ${cause}; the target now holds a partial copy — delete the keys under ${header.prefix} in the target and import again`,
    );
  }
  return written;
}
