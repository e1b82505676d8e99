import { KeyNotFoundError, RevisionConflictError } from './errors.js';
import type { KVPair } from './types.js';

/**
 * The compare-and-swap rule every backend applies inside its write transaction, in one place so
 * memory and SQLite fail the same way: a missing key is `KeyNotFoundError` whether or not a revision
 * was expected; a present key whose revision differs from the expected one is a conflict.
 */
export function checkExpectedRevision(
  key: string,
  current: KVPair | undefined,
  expectedRevision: number | undefined,
): KVPair {
  if (current === undefined) throw new KeyNotFoundError(key);
  if (expectedRevision !== undefined && current.revision !== expectedRevision) {
    throw new RevisionConflictError(key, expectedRevision, current.revision);
  }
  return current;
}

/** Rejects option values that would silently misbehave (negative limits, fractional revisions). */
export function requireNonNegativeInteger(what: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  }
  return value;
}

export function compactedReason(fromRevision: number, compactedThrough: number): string {
  return (
    `cannot watch from revision ${fromRevision}: history up to revision ${compactedThrough} was compacted; ` +
    `list again and watch from the list's revision`
  );
}
