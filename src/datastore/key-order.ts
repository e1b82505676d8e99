/**
 * Key ordering and prefix ranges shared by every backend.
 *
 * The contract lists keys "in byte order of the key", which is what SQLite's BINARY collation and
 * etcd do with UTF-8 keys. JavaScript's default string comparison orders UTF-16 code units instead,
 * which disagrees for characters above U+FFFF, so the in-memory backend sorts by code point (the
 * same order as UTF-8 bytes) and the SQLite backend turns a prefix into a half-open key range that
 * its primary-key index can answer without scanning.
 */

/** Orders two keys as their UTF-8 bytes would order (code point order). */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (D800-DFFF) encode code points above FFFF, which sort after E000-FFFF in UTF-8.
    return codeUnitRank(x) - codeUnitRank(y);
  }
  return a.length - b.length;
}

function codeUnitRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/**
 * The smallest key greater than every key that starts with `prefix`, or undefined when no such
 * bound exists (an empty prefix, or one made only of U+10FFFF): `[prefix, bound)` is exactly the
 * set of keys with that prefix.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const codePoints = Array.from(prefix, (ch) => ch.codePointAt(0) ?? 0);
  while (codePoints.length > 0) {
    const last = codePoints.pop() ?? 0;
    if (last === 0x10ffff) continue;
    // Skip the surrogate block: those code points cannot appear on their own in a valid key.
    const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
    codePoints.push(next);
    return String.fromCodePoint(...codePoints);
  }
  return undefined;
}
