import type Database from 'better-sqlite3';

/**
 * The SQLite file layout, and the prepared statements over it.
 *
 * Three tables, all written in one IMMEDIATE transaction per write, so several processes sharing the
 * file still get one store-wide, strictly increasing revision:
 * - `kv`: the current value and mod revision of every key (the primary-key index answers prefix
 *   listings as key ranges);
 * - `changes`: one row per write, keyed by revision, with the previous value so watch events carry
 *   `prev`; it is trimmed from the old end, which is what "compacted" means here;
 * - `meta`: a single row with the current revision and the highest compacted revision, so a watcher
 *   can tell "nothing new" from "history gone" without scanning `changes`.
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  revision INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
  revision INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('added', 'modified', 'deleted')),
  value TEXT,
  prev_value TEXT,
  prev_revision INTEGER
);
CREATE TABLE IF NOT EXISTS meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  schema_version INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  compacted_revision INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (id, schema_version, revision, compacted_revision) VALUES (1, ${SCHEMA_VERSION}, 0, 0);
`;

export interface KvRow {
  readonly key: string;
  readonly value: string;
  readonly revision: number;
}

export interface ChangeRow {
  readonly revision: number;
  readonly key: string;
  readonly type: 'added' | 'modified' | 'deleted';
  readonly value: string | null;
  readonly prev_value: string | null;
  readonly prev_revision: number | null;
}

export interface MetaRow {
  readonly schema_version: number;
  readonly revision: number;
  readonly compacted_revision: number;
}

type Statement<Params extends unknown[], Row = void> = Database.Statement<Params, Row>;

export interface SqliteStatements {
  readonly getKv: Statement<[string], KvRow>;
  readonly listRange: Statement<[string, string], KvRow>;
  readonly listFrom: Statement<[string], KvRow>;
  readonly putKv: Statement<[string, string, number]>;
  readonly deleteKv: Statement<[string]>;
  readonly insertChange: Statement<
    [number, string, ChangeRow['type'], string | null, string | null, number | null]
  >;
  readonly changesBetween: Statement<[number, number], ChangeRow>;
  readonly deleteChangesThrough: Statement<[number]>;
  readonly getMeta: Statement<[], MetaRow>;
  readonly setRevision: Statement<[number]>;
  readonly setRevisionAndCompacted: Statement<[number, number]>;
  readonly setCompacted: Statement<[number]>;
  readonly dataVersion: Statement<[], number>;
}

export function prepareStatements(db: Database.Database): SqliteStatements {
  return {
    getKv: db.prepare<[string], KvRow>('SELECT key, value, revision FROM kv WHERE key = ?'),
    listRange: db.prepare<[string, string], KvRow>(
      'SELECT key, value, revision FROM kv WHERE key >= ? AND key < ? ORDER BY key',
    ),
    listFrom: db.prepare<[string], KvRow>('SELECT key, value, revision FROM kv WHERE key >= ? ORDER BY key'),
    putKv: db.prepare<[string, string, number], void>(
      'INSERT INTO kv (key, value, revision) VALUES (?, ?, ?) ' +
        'ON CONFLICT (key) DO UPDATE SET value = excluded.value, revision = excluded.revision',
    ),
    deleteKv: db.prepare<[string], void>('DELETE FROM kv WHERE key = ?'),
    insertChange: db.prepare<
      [number, string, ChangeRow['type'], string | null, string | null, number | null],
      void
    >(
      'INSERT INTO changes (revision, key, type, value, prev_value, prev_revision) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    changesBetween: db.prepare<[number, number], ChangeRow>(
      'SELECT revision, key, type, value, prev_value, prev_revision FROM changes ' +
        'WHERE revision > ? AND revision <= ? ORDER BY revision',
    ),
    deleteChangesThrough: db.prepare<[number], void>('DELETE FROM changes WHERE revision <= ?'),
    getMeta: db.prepare<[], MetaRow>(
      'SELECT schema_version, revision, compacted_revision FROM meta WHERE id = 1',
    ),
    setRevision: db.prepare<[number], void>('UPDATE meta SET revision = ? WHERE id = 1'),
    setRevisionAndCompacted: db.prepare<[number, number], void>(
      'UPDATE meta SET revision = ?, compacted_revision = ? WHERE id = 1',
    ),
    setCompacted: db.prepare<[number], void>('UPDATE meta SET compacted_revision = ? WHERE id = 1'),
    // Changes whenever another connection commits; reading it costs no I/O, so polls are cheap.
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
  };
}
