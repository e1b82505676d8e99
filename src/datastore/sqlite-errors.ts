import { DatastoreError, DatastoreUnavailableError } from './errors.js';

/**
 * Turns better-sqlite3's error codes into messages that say which file, what went wrong and what to
 * do. Our own typed errors (conflicts, missing keys) thrown inside a transaction pass through as they
 * are; everything else becomes a `DatastoreUnavailableError`, because to the caller a locked, full,
 * read-only or foreign file all mean the store cannot serve the request.
 */
export function describeSqliteFailure(error: unknown, path: string, busyTimeoutMs: number): Error {
  if (error instanceof DatastoreError) return error;
  const code = sqliteCode(error);
  // Not SQLite's doing (a bad argument, a bug): disguising it as "unavailable" would mislead.
  if (code === undefined && error instanceof Error) return error;
  const detail = error instanceof Error ? error.message : String(error);
  const where = `sqlite datastore ${path}`;
  // Extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_READONLY_DBMOVED...) share their primary code's advice.
  const base = code?.match(/^SQLITE_[A-Z]+/)?.[0] ?? '';
  if (code === 'SQLITE_NOTADB') {
    return new DatastoreUnavailableError(
      `${where}: the file is not a SQLite database (${detail}); point SQLITE_PATH at a new or existing datastore file`,
    );
  }
  switch (base) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new DatastoreUnavailableError(
        `${where}: the database stayed locked for more than ${busyTimeoutMs} ms (${detail}); another process holds a long transaction — retry, or raise busyTimeoutMs`,
      );
    case 'SQLITE_READONLY':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
      return new DatastoreUnavailableError(
        `${where}: the file is not writable (${detail}); fix its permissions or choose another SQLITE_PATH`,
      );
    case 'SQLITE_CANTOPEN':
      return new DatastoreUnavailableError(
        `${where}: cannot open the file (${detail}); check that the directory exists and is writable, or choose another SQLITE_PATH`,
      );
    case 'SQLITE_CORRUPT':
      return new DatastoreUnavailableError(
        `${where}: the database file is corrupt (${detail}); restore it from a backup or start a new datastore file`,
      );
    case 'SQLITE_FULL':
      return new DatastoreUnavailableError(`${where}: the disk is full (${detail}); free space and retry`);
    default:
      return new DatastoreUnavailableError(`${where}: ${detail}`);
  }
}

export function sqliteCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const { code } = error as { code: unknown };
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

export function isBusy(error: unknown): boolean {
  const code = sqliteCode(error);
  return code !== undefined && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}
