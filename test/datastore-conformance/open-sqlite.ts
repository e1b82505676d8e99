// How a conformance child process opens the parent's SQLite store (named by a ChildOpener).
import { SqliteDatastore, type SqliteDatastoreOptions } from '../../src/datastore/sqlite.js';

export interface SqliteChildArgument {
  readonly path: string;
  readonly options?: SqliteDatastoreOptions;
}

export async function openSqliteForChild(argument: SqliteChildArgument): Promise<SqliteDatastore> {
  return SqliteDatastore.open(argument.path, argument.options);
}
