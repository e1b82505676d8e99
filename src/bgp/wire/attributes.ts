/**
 * Path attributes, one record per type code — the BIRD attrs.c layout: each record holds the flags
 * the attribute must carry, what RFC 7606 says to do when it is malformed, and its decoder, encoder
 * and formatter, so adding an attribute is one entry and the three directions cannot drift apart.
 * The UPDATE codec (update.ts) walks the table; nothing else switches on attribute type codes.
 */
import { Origin, type AsPathSegment, type PathAttributes, type RawAttribute } from '../types.js';
import { readIPv4, readIPv6, writeIPv4 } from './address.js';
import { decodeAsPath, encodeAsPath, formatAsPath, hasFourOctetOnlyAsn } from './as-path.js';
import { ByteWriter } from './byte-writer.js';
import { AS_TRANS, AttrFlag, AttrType } from './constants.js';
import type { CodecContext } from './context.js';
import { UpdateMessageSubcode } from './notification-codes.js';

/** RFC 7606 2: what happens to the UPDATE when this attribute is malformed. */
export type MalformedAction = 'treat-as-withdraw' | 'attribute-discard' | 'session-reset';

/** Thrown by a record's decoder; update.ts turns it into the RFC 7606 action or a NOTIFICATION. */
export class MalformedAttribute extends Error {
  constructor(
    readonly subcode: UpdateMessageSubcode,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export type MutablePathAttributes = { -readonly [K in keyof PathAttributes]: PathAttributes[K] };

/** MP_REACH_NLRI as found on the wire, before its prefixes are merged into the UPDATE result. */
export interface MpReachValue {
  readonly afi: number;
  readonly safi: number;
  readonly nextHop: Buffer;
  readonly nlriStart: number;
  readonly nlriEnd: number;
}

export interface MpUnreachValue {
  readonly afi: number;
  readonly safi: number;
  readonly nlriStart: number;
  readonly nlriEnd: number;
}

/** What the decoders fill in while walking one UPDATE's attribute list. */
export interface DecodeState {
  readonly attrs: Partial<MutablePathAttributes>;
  /** Unrecognized optional transitive attributes, to pass on. */
  readonly unknown: RawAttribute[];
  as4Path?: readonly AsPathSegment[];
  as4Aggregator?: { readonly asn: number; readonly address: string };
  mpReach?: MpReachValue;
  mpUnreach?: MpUnreachValue;
}

/** What the encoders need besides the attributes: negotiated options and where the next hop goes. */
export interface EncodeTarget {
  readonly ctx: CodecContext;
  /** True when the prefixes ride in the IPv4 NLRI field, so NEXT_HOP carries the next hop. */
  readonly inlineNextHop: boolean;
}

export interface AttributeSpec {
  readonly code: AttrType;
  readonly name: string;
  /** The Optional and Transitive bits the attribute must have (RFC 4271 5). */
  readonly flags: number;
  readonly onMalformed: MalformedAction;
  decode(buf: Buffer, start: number, end: number, state: DecodeState, ctx: CodecContext): void;
  encode(attrs: PathAttributes, target: EncodeTarget, w: ByteWriter): void;
  format(attrs: PathAttributes): string | undefined;
}

const WELL_KNOWN = AttrFlag.Transitive;
const OPTIONAL_TRANSITIVE = AttrFlag.Optional | AttrFlag.Transitive;
const OPTIONAL = AttrFlag.Optional;

/**
 * Writes flags, type, length around the value `body` writes, in place: the value is written first
 * behind a one-octet length, and only a value over 255 octets moves up one octet for the extended
 * (two-octet) length.
 */
export function writeAttribute(
  w: ByteWriter,
  flags: number,
  code: number,
  body: (w: ByteWriter) => void,
): void {
  const headerAt = w.skip(3);
  const valueAt = w.length;
  body(w);
  const len = w.length - valueAt;
  if (len > 255) {
    w.insertGap(valueAt, 1);
    w.patchU8(headerAt, (flags | AttrFlag.ExtendedLength) & 0xff);
    w.patchU8(headerAt + 1, code);
    w.patchU16(headerAt + 2, len);
  } else {
    w.patchU8(headerAt, flags & ~AttrFlag.ExtendedLength & 0xff);
    w.patchU8(headerAt + 1, code);
    w.patchU8(headerAt + 2, len);
  }
}

function expectLength(start: number, end: number, len: number, what: string): void {
  if (end - start !== len) {
    throw new MalformedAttribute(
      UpdateMessageSubcode.AttributeLengthError,
      `${what} has length ${end - start}, expected ${len}`,
    );
  }
}

function expectMultipleOf4(start: number, end: number, what: string): void {
  const len = end - start;
  if (len === 0 || len % 4 !== 0) {
    throw new MalformedAttribute(
      UpdateMessageSubcode.AttributeLengthError,
      `${what} has length ${len}, expected a non-zero multiple of 4`,
    );
  }
}

function ipv4Bytes(text: string, what: string): Buffer {
  const b = Buffer.alloc(4);
  if (!writeIPv4(text, b, 0)) throw new RangeError(`${what} "${text}" is not an IPv4 address`);
  return b;
}

/** RFC 4271 6.3 / 5.1.3: an IPv4 next hop must be a unicast host address. */
export function invalidIPv4NextHop(buf: Buffer, at: number): string | undefined {
  const first = buf[at]!;
  if (buf.readUInt32BE(at) === 0) return 'next hop 0.0.0.0 is not a host address';
  if (first === 127) return `next hop ${readIPv4(buf, at)} is a loopback address`;
  if (first >= 224) return `next hop ${readIPv4(buf, at)} is multicast or reserved`;
  return undefined;
}

export function invalidIPv6NextHop(buf: Buffer, at: number): string | undefined {
  let zero = true;
  for (let i = 0; i < 16; i++) if (buf[at + i] !== 0) zero = false;
  if (zero) return 'next hop :: is not a host address';
  if (buf[at] === 0xff) return `next hop ${readIPv6(buf, at)} is multicast`;
  return undefined;
}

const ORIGIN_NAMES: Readonly<Record<Origin, string>> = {
  [Origin.IGP]: 'IGP',
  [Origin.EGP]: 'EGP',
  [Origin.Incomplete]: 'incomplete',
};

const origin: AttributeSpec = {
  code: AttrType.Origin,
  name: 'ORIGIN',
  flags: WELL_KNOWN,
  onMalformed: 'treat-as-withdraw',
  decode(buf, start, end, state) {
    expectLength(start, end, 1, 'ORIGIN');
    const v = buf[start]!;
    if (v > Origin.Incomplete) {
      throw new MalformedAttribute(
        UpdateMessageSubcode.InvalidOriginAttribute,
        `ORIGIN value ${v} is undefined`,
      );
    }
    state.attrs.origin = v as Origin;
  },
  encode(attrs, _t, w) {
    writeAttribute(w, WELL_KNOWN, AttrType.Origin, (v) => v.u8(attrs.origin));
  },
  format: (a) => ORIGIN_NAMES[a.origin] ?? String(a.origin),
};

const asPath: AttributeSpec = {
  code: AttrType.AsPath,
  name: 'AS_PATH',
  flags: WELL_KNOWN,
  onMalformed: 'treat-as-withdraw',
  decode(buf, start, end, state, ctx) {
    const r = decodeAsPath(buf, start, end, ctx.fourOctetAs ? 4 : 2);
    if ('error' in r)
      throw new MalformedAttribute(UpdateMessageSubcode.MalformedAsPath, `AS_PATH ${r.error}`);
    state.attrs.asPath = r.segments;
  },
  encode(attrs, t, w) {
    writeAttribute(w, WELL_KNOWN, AttrType.AsPath, (v) =>
      encodeAsPath(attrs.asPath, t.ctx.fourOctetAs ? 4 : 2, v),
    );
  },
  format: (a) => formatAsPath(a.asPath),
};

const nextHop: AttributeSpec = {
  code: AttrType.NextHop,
  name: 'NEXT_HOP',
  flags: WELL_KNOWN,
  onMalformed: 'treat-as-withdraw',
  decode(buf, start, end, state) {
    expectLength(start, end, 4, 'NEXT_HOP');
    const invalid = invalidIPv4NextHop(buf, start);
    if (invalid !== undefined)
      throw new MalformedAttribute(UpdateMessageSubcode.InvalidNextHopAttribute, invalid);
    state.attrs.nextHop = readIPv4(buf, start);
  },
  encode(attrs, t, w) {
    if (!t.inlineNextHop || attrs.nextHop === undefined) return;
    const nh = ipv4Bytes(attrs.nextHop, 'NEXT_HOP');
    writeAttribute(w, WELL_KNOWN, AttrType.NextHop, (v) => v.bytes(nh));
  },
  format: (a) => a.nextHop,
};

function uint32Attribute(
  code: AttrType,
  name: string,
  flags: number,
  key: 'med' | 'localPref',
  accept?: (ctx: CodecContext) => boolean,
): AttributeSpec {
  return {
    code,
    name,
    flags,
    onMalformed: 'treat-as-withdraw',
    decode(buf, start, end, state, ctx) {
      expectLength(start, end, 4, name);
      if (accept !== undefined && !accept(ctx)) return;
      state.attrs[key] = buf.readUInt32BE(start);
    },
    encode(attrs, _t, w) {
      const value = attrs[key];
      if (value !== undefined) writeAttribute(w, flags, code, (v) => v.u32(value));
    },
    format: (a) => (a[key] === undefined ? undefined : String(a[key])),
  };
}

const med = uint32Attribute(AttrType.MultiExitDisc, 'MULTI_EXIT_DISC', OPTIONAL, 'med');

// RFC 4271 5.1.5: a LOCAL_PREF from an external peer is ignored, not an error.
const localPref = uint32Attribute(
  AttrType.LocalPref,
  'LOCAL_PREF',
  WELL_KNOWN,
  'localPref',
  (ctx) => ctx.peerIsExternal !== true,
);

const atomicAggregate: AttributeSpec = {
  code: AttrType.AtomicAggregate,
  name: 'ATOMIC_AGGREGATE',
  flags: WELL_KNOWN,
  onMalformed: 'attribute-discard',
  decode(_buf, start, end, state) {
    expectLength(start, end, 0, 'ATOMIC_AGGREGATE');
    state.attrs.atomicAggregate = true;
  },
  encode(attrs, _t, w) {
    if (attrs.atomicAggregate === true) writeAttribute(w, WELL_KNOWN, AttrType.AtomicAggregate, () => {});
  },
  format: (a) => (a.atomicAggregate === true ? 'yes' : undefined),
};

const aggregator: AttributeSpec = {
  code: AttrType.Aggregator,
  name: 'AGGREGATOR',
  flags: OPTIONAL_TRANSITIVE,
  onMalformed: 'attribute-discard',
  decode(buf, start, end, state, ctx) {
    const asSize = ctx.fourOctetAs ? 4 : 2;
    expectLength(start, end, asSize + 4, 'AGGREGATOR');
    const asn = asSize === 4 ? buf.readUInt32BE(start) : buf.readUInt16BE(start);
    state.attrs.aggregator = { asn, address: readIPv4(buf, start + asSize) };
  },
  encode(attrs, t, w) {
    const agg = attrs.aggregator;
    if (agg === undefined) return;
    const addr = ipv4Bytes(agg.address, 'AGGREGATOR address');
    writeAttribute(w, OPTIONAL_TRANSITIVE, AttrType.Aggregator, (v) => {
      if (t.ctx.fourOctetAs) v.u32(agg.asn);
      else v.u16(agg.asn > 0xffff ? AS_TRANS : agg.asn);
      v.bytes(addr);
    });
  },
  format: (a) => (a.aggregator ? `${a.aggregator.asn} ${a.aggregator.address}` : undefined),
};

const communities: AttributeSpec = {
  code: AttrType.Communities,
  name: 'COMMUNITIES',
  flags: OPTIONAL_TRANSITIVE,
  onMalformed: 'treat-as-withdraw',
  decode(buf, start, end, state) {
    expectMultipleOf4(start, end, 'COMMUNITIES');
    const values: number[] = [];
    for (let at = start; at < end; at += 4) values.push(buf.readUInt32BE(at));
    state.attrs.communities = values;
  },
  encode(attrs, _t, w) {
    const list = attrs.communities;
    if (list === undefined || list.length === 0) return;
    writeAttribute(w, OPTIONAL_TRANSITIVE, AttrType.Communities, (v) => list.forEach((c) => v.u32(c)));
  },
  format: (a) => a.communities?.map((c) => `${c >>> 16}:${c & 0xffff}`).join(' '),
};

const originatorId: AttributeSpec = {
  code: AttrType.OriginatorId,
  name: 'ORIGINATOR_ID',
  flags: OPTIONAL,
  onMalformed: 'treat-as-withdraw',
  decode(buf, start, end, state) {
    expectLength(start, end, 4, 'ORIGINATOR_ID');
    state.attrs.originatorId = readIPv4(buf, start);
  },
  encode(attrs, _t, w) {
    if (attrs.originatorId === undefined) return;
    const id = ipv4Bytes(attrs.originatorId, 'ORIGINATOR_ID');
    writeAttribute(w, OPTIONAL, AttrType.OriginatorId, (v) => v.bytes(id));
  },
  format: (a) => a.originatorId,
};

const clusterList: AttributeSpec = {
  code: AttrType.ClusterList,
  name: 'CLUSTER_LIST',
  flags: OPTIONAL,
  onMalformed: 'treat-as-withdraw',
  decode(buf, start, end, state) {
    expectMultipleOf4(start, end, 'CLUSTER_LIST');
    const ids: string[] = [];
    for (let at = start; at < end; at += 4) ids.push(readIPv4(buf, at));
    state.attrs.clusterList = ids;
  },
  encode(attrs, _t, w) {
    const ids = attrs.clusterList;
    if (ids === undefined || ids.length === 0) return;
    const bytes = ids.map((id) => ipv4Bytes(id, 'CLUSTER_LIST entry'));
    writeAttribute(w, OPTIONAL, AttrType.ClusterList, (v) => bytes.forEach((b) => v.bytes(b)));
  },
  format: (a) => a.clusterList?.join(' '),
};

function mpError(reason: string): MalformedAttribute {
  return new MalformedAttribute(UpdateMessageSubcode.OptionalAttributeError, reason);
}

/**
 * MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760). Only located here; update.ts reads the prefixes because
 * they join the UPDATE's route lists. The packer in update-encode.ts writes them (they carry NLRI,
 * which PathAttributes does not), so their table encoders write nothing.
 */
const mpReach: AttributeSpec = {
  code: AttrType.MpReachNlri,
  name: 'MP_REACH_NLRI',
  flags: OPTIONAL,
  // RFC 7606 7.11: if the NLRI cannot be located the session must be reset.
  onMalformed: 'session-reset',
  decode(buf, start, end, state) {
    if (end - start < 5) throw mpError(`MP_REACH_NLRI has length ${end - start}, at least 5 needed`);
    const nhLen = buf[start + 3]!;
    const nhStart = start + 4;
    if (nhStart + nhLen + 1 > end)
      throw mpError(`MP_REACH_NLRI next hop length ${nhLen} runs past the attribute`);
    state.mpReach = {
      afi: buf.readUInt16BE(start),
      safi: buf[start + 2]!,
      nextHop: buf.subarray(nhStart, nhStart + nhLen),
      nlriStart: nhStart + nhLen + 1, // after the reserved octet
      nlriEnd: end,
    };
  },
  encode() {},
  format: () => undefined,
};

const mpUnreach: AttributeSpec = {
  code: AttrType.MpUnreachNlri,
  name: 'MP_UNREACH_NLRI',
  flags: OPTIONAL,
  onMalformed: 'session-reset',
  decode(buf, start, end, state) {
    if (end - start < 3) throw mpError(`MP_UNREACH_NLRI has length ${end - start}, at least 3 needed`);
    state.mpUnreach = {
      afi: buf.readUInt16BE(start),
      safi: buf[start + 2]!,
      nlriStart: start + 3,
      nlriEnd: end,
    };
  },
  encode() {},
  format: () => undefined,
};

/** RFC 6793 6 and RFC 7606 7.7: a malformed AS4_PATH or AS4_AGGREGATOR is discarded, never fatal. */
const as4Path: AttributeSpec = {
  code: AttrType.As4Path,
  name: 'AS4_PATH',
  flags: OPTIONAL_TRANSITIVE,
  onMalformed: 'attribute-discard',
  decode(buf, start, end, state, ctx) {
    const r = decodeAsPath(buf, start, end, 4);
    if ('error' in r)
      throw new MalformedAttribute(UpdateMessageSubcode.OptionalAttributeError, `AS4_PATH ${r.error}`);
    if (r.segments.some((s) => s.type === 'confed-sequence' || s.type === 'confed-set')) {
      throw new MalformedAttribute(
        UpdateMessageSubcode.OptionalAttributeError,
        'AS4_PATH carries confederation segments (RFC 6793 3)',
      );
    }
    // RFC 6793 4.1: between two 4-octet speakers AS4_PATH has no meaning and is ignored.
    if (!ctx.fourOctetAs) state.as4Path = r.segments;
  },
  encode(attrs, t, w) {
    if (t.ctx.fourOctetAs || !hasFourOctetOnlyAsn(attrs.asPath)) return;
    const segs = attrs.asPath.filter((s) => s.type === 'sequence' || s.type === 'set');
    writeAttribute(w, OPTIONAL_TRANSITIVE, AttrType.As4Path, (v) => encodeAsPath(segs, 4, v));
  },
  format: () => undefined,
};

const as4Aggregator: AttributeSpec = {
  code: AttrType.As4Aggregator,
  name: 'AS4_AGGREGATOR',
  flags: OPTIONAL_TRANSITIVE,
  onMalformed: 'attribute-discard',
  decode(buf, start, end, state, ctx) {
    expectLength(start, end, 8, 'AS4_AGGREGATOR');
    if (!ctx.fourOctetAs)
      state.as4Aggregator = { asn: buf.readUInt32BE(start), address: readIPv4(buf, start + 4) };
  },
  encode(attrs, t, w) {
    const agg = attrs.aggregator;
    if (t.ctx.fourOctetAs || agg === undefined || agg.asn <= 0xffff) return;
    const addr = ipv4Bytes(agg.address, 'AGGREGATOR address');
    writeAttribute(w, OPTIONAL_TRANSITIVE, AttrType.As4Aggregator, (v) => v.u32(agg.asn).bytes(addr));
  },
  format: () => undefined,
};

/** The table, in type-code order (the order RFC 4271 5 asks encoders to use). */
export const ATTRIBUTE_SPECS: readonly AttributeSpec[] = [
  origin,
  asPath,
  nextHop,
  med,
  localPref,
  atomicAggregate,
  aggregator,
  communities,
  originatorId,
  clusterList,
  mpReach,
  mpUnreach,
  as4Path,
  as4Aggregator,
];

/** Index by type code for the decoder's one lookup per attribute. */
export const ATTRIBUTE_BY_CODE: readonly (AttributeSpec | undefined)[] = (() => {
  const byCode = new Array<AttributeSpec | undefined>(256).fill(undefined);
  for (const spec of ATTRIBUTE_SPECS) byCode[spec.code] = spec;
  return byCode;
})();

/** Attributes we do not interpret go out as received; RFC 4271 5 already set their Partial bit. */
function encodeUnknown(list: readonly RawAttribute[], w: ByteWriter): void {
  for (const a of list) writeAttribute(w, a.flags, a.typeCode, (v) => v.bytes(a.value));
}

/**
 * Encodes the attributes in type-code order, split around MP_REACH_NLRI's slot (type 14) so the
 * packer can put the MP attribute with its NLRI between `before` and `after` without re-encoding.
 */
export function encodeAttributes(
  attrs: PathAttributes,
  target: EncodeTarget,
): { before: Buffer; after: Buffer } {
  const before = new ByteWriter(128);
  const after = new ByteWriter(32);
  const writerFor = (code: number): ByteWriter => (code < AttrType.MpReachNlri ? before : after);
  const unknown = [...(attrs.unknown ?? [])].sort((a, b) => a.typeCode - b.typeCode);
  let u = 0;
  for (const spec of ATTRIBUTE_SPECS) {
    for (; u < unknown.length && unknown[u]!.typeCode < spec.code; u++) {
      encodeUnknown([unknown[u]!], writerFor(unknown[u]!.typeCode));
    }
    spec.encode(attrs, target, writerFor(spec.code));
  }
  encodeUnknown(unknown.slice(u), after);
  return { before: before.toBuffer(), after: after.toBuffer() };
}

/** One `NAME: value` line per present attribute, in type-code order, for logs and the CLI. */
export function formatPathAttributes(attrs: PathAttributes): string[] {
  const lines: string[] = [];
  for (const spec of ATTRIBUTE_SPECS) {
    const text = spec.format(attrs);
    if (text !== undefined) lines.push(`${spec.name}: ${text}`);
  }
  if (attrs.nextHopLinkLocal !== undefined) lines.push(`NEXT_HOP (link-local): ${attrs.nextHopLinkLocal}`);
  for (const u of attrs.unknown ?? []) {
    lines.push(`attribute ${u.typeCode} (flags 0x${u.flags.toString(16)}): ${u.value.toString('hex')}`);
  }
  return lines;
}
