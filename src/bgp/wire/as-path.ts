/**
 * AS_PATH / AS4_PATH segments in their 2- and 4-octet forms, and the RFC 6793 4.2.3 reconstruction
 * of the real path from a 2-octet AS_PATH (with AS_TRANS placeholders) and the AS4_PATH beside it.
 */
import type { AsPathSegment, AsPathSegmentType } from '../types.js';
import { ByteWriter } from './byte-writer.js';
import { AS_TRANS, AsPathSegmentCode } from './constants.js';

const SEGMENT_TYPES: Readonly<Record<number, AsPathSegmentType>> = {
  [AsPathSegmentCode.Set]: 'set',
  [AsPathSegmentCode.Sequence]: 'sequence',
  [AsPathSegmentCode.ConfedSequence]: 'confed-sequence',
  [AsPathSegmentCode.ConfedSet]: 'confed-set',
};

const SEGMENT_CODES: Readonly<Record<AsPathSegmentType, AsPathSegmentCode>> = {
  set: AsPathSegmentCode.Set,
  sequence: AsPathSegmentCode.Sequence,
  'confed-sequence': AsPathSegmentCode.ConfedSequence,
  'confed-set': AsPathSegmentCode.ConfedSet,
};

export type AsPathDecodeResult = { readonly segments: AsPathSegment[] } | { readonly error: string };

/** Decodes segments in `buf[start..end)` with 2- or 4-octet AS numbers. */
export function decodeAsPath(buf: Buffer, start: number, end: number, asSize: 2 | 4): AsPathDecodeResult {
  const segments: AsPathSegment[] = [];
  let at = start;
  while (at < end) {
    if (at + 2 > end) return { error: 'segment header is truncated' };
    const type = SEGMENT_TYPES[buf[at]!];
    if (type === undefined) return { error: `segment type ${buf[at]} is not defined` };
    const count = buf[at + 1]!;
    // RFC 7606 7.2: a segment with no AS numbers is malformed.
    if (count === 0) return { error: 'segment has length 0' };
    at += 2;
    if (at + count * asSize > end) return { error: `segment of ${count} AS numbers runs past the attribute` };
    const asns = new Array<number>(count);
    for (let i = 0; i < count; i++, at += asSize)
      asns[i] = asSize === 4 ? buf.readUInt32BE(at) : buf.readUInt16BE(at);
    segments.push({ type, asns });
  }
  return { segments };
}

/**
 * Writes segments with the given AS size; in 2-octet form AS numbers above 65535 become AS_TRANS.
 * Segments longer than 255 AS numbers are split, as the one-octet count requires.
 */
export function encodeAsPath(segments: readonly AsPathSegment[], asSize: 2 | 4, w: ByteWriter): void {
  for (const seg of segments) {
    const code = SEGMENT_CODES[seg.type];
    for (let from = 0; from < seg.asns.length || from === 0; from += 255) {
      const chunk = seg.asns.slice(from, from + 255);
      if (chunk.length === 0) break;
      w.u8(code).u8(chunk.length);
      for (const asn of chunk) {
        if (asSize === 4) w.u32(asn);
        else w.u16(asn > 0xffff ? AS_TRANS : asn);
      }
    }
  }
}

export function hasFourOctetOnlyAsn(segments: readonly AsPathSegment[]): boolean {
  return segments.some((s) => s.asns.some((a) => a > 0xffff));
}

/** RFC 6793 4.2.3 counting: a set counts one, confederation segments count zero. */
export function asPathCount(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) {
    if (s.type === 'sequence') n += s.asns.length;
    else if (s.type === 'set') n += 1;
  }
  return n;
}

/**
 * RFC 6793 4.2.3: keep the leading (count(AS_PATH) - count(AS4_PATH)) ASes of AS_PATH, then append
 * AS4_PATH. If AS4_PATH is the longer one it is wrong and AS_PATH is used alone.
 */
export function mergeAs4Path(
  asPath: readonly AsPathSegment[],
  as4Path: readonly AsPathSegment[],
): readonly AsPathSegment[] {
  const keep = asPathCount(asPath) - asPathCount(as4Path);
  if (keep < 0) return asPath;
  const merged: AsPathSegment[] = [];
  let remaining = keep;
  for (const seg of asPath) {
    if (seg.type === 'confed-sequence' || seg.type === 'confed-set') {
      merged.push(seg);
      continue;
    }
    if (remaining === 0) break;
    if (seg.type === 'set') {
      merged.push(seg);
      remaining -= 1;
    } else if (seg.asns.length <= remaining) {
      merged.push(seg);
      remaining -= seg.asns.length;
    } else {
      merged.push({ type: seg.type, asns: seg.asns.slice(0, remaining) });
      remaining = 0;
    }
  }
  // Adjacent sequences are joined so the result reads like the path the origin sent.
  for (const seg of as4Path) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.type === 'sequence' && seg.type === 'sequence') {
      merged[merged.length - 1] = { type: 'sequence', asns: [...last.asns, ...seg.asns] };
    } else {
      merged.push(seg);
    }
  }
  return merged;
}

/** `65001 65002 {65003 65004} (65010)` — sets in braces, confederation segments in parentheses. */
export function formatAsPath(segments: readonly AsPathSegment[]): string {
  return segments
    .map((s) => {
      const body = s.asns.join(' ');
      switch (s.type) {
        case 'sequence':
          return body;
        case 'set':
          return `{${body}}`;
        case 'confed-sequence':
          return `(${body})`;
        case 'confed-set':
          return `[${body}]`;
        default: {
          const unreachable: never = s.type;
          return String(unreachable);
        }
      }
    })
    .join(' ');
}
