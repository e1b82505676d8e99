import type { IKeyValue } from 'etcd3';
import type { KVPair } from './types.js';

/**
 * Keys and key ranges as etcd sees them: byte strings. A prefix becomes the half-open range
 * [prefix, end) where `end` is the prefix with its last byte below 0xff incremented (etcd's own
 * `--prefix` rule), and the next page of a listing starts just after the last key returned, at that
 * key plus a zero byte, the smallest key greater than it.
 */
export interface KeyRange {
  readonly key: Buffer;
  readonly range_end: Buffer;
}

/** etcd's "every key at or after `key`" range end. */
const TO_THE_END = Buffer.from([0]);

export function prefixRange(prefix: string): KeyRange {
  const key = Buffer.from(prefix, 'utf8');
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    const byte = end[i] as number;
    if (byte < 0xff) {
      end[i] = byte + 1;
      return { key, range_end: end.subarray(0, i + 1) };
    }
  }
  return { key, range_end: TO_THE_END };
}

/** The smallest key greater than `key`. */
export function keyAfter(key: Buffer): Buffer {
  return Buffer.concat([key, TO_THE_END]);
}

export function toKVPair(kv: IKeyValue): KVPair {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value.toString('utf8'),
    revision: Number(kv.mod_revision),
  };
}
