/**
 * UPDATE encoding. `encodeUpdates` and `encodeWithdrawals` pack as many prefixes as fit in 4,096
 * octets per message: the attributes are encoded once, then each message is sized exactly and
 * filled, so a full table goes out in the fewest messages without re-encoding attributes.
 */
import type { AddressFamily, PathAttributes, Prefix } from '../types.js';
import { addressBytes, prefixWireLength, writePrefix } from './address.js';
import { encodeAttributes } from './attributes.js';
import {
  Afi,
  AttrFlag,
  AttrType,
  HEADER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  Safi,
} from './constants.js';
import { usesMpReach, type CodecContext } from './context.js';
import { writeHeader } from './header.js';
import type { UpdateMessage } from './update.js';

const AFI_OF: Readonly<Record<AddressFamily, Afi>> = { ipv4: Afi.IPv4, ipv6: Afi.IPv6 };

/** Octets of an MP attribute header with extended length (flags, type, 2-octet length). */
const MP_ATTR_HEADER = 4;

function singleFamily(prefixes: readonly Prefix[]): AddressFamily {
  const family = prefixes[0]!.family;
  for (const p of prefixes) {
    if (p.family !== family) {
      throw new RangeError(`prefixes mix ${family} and ${p.family}; encode each family separately`);
    }
  }
  return family;
}

/** Splits `prefixes` into runs whose NLRI encodings each fit in `room` octets. */
function* runsThatFit(prefixes: readonly Prefix[], room: number): Generator<[number, number, number]> {
  let from = 0;
  while (from < prefixes.length) {
    let size = 0;
    let to = from;
    while (to < prefixes.length) {
      const s = prefixWireLength(prefixes[to]!.length);
      if (size + s > room) break;
      size += s;
      to++;
    }
    if (to === from) throw new RangeError(`no room for even one prefix: attributes leave ${room} octets`);
    yield [from, to, size];
    from = to;
  }
}

function mpNextHop(attrs: PathAttributes, family: AddressFamily): Buffer {
  if (attrs.nextHop === undefined)
    throw new RangeError(`announcing ${family} routes needs attributes.nextHop`);
  const global = addressBytes(attrs.nextHop, family);
  if (family === 'ipv6' && attrs.nextHopLinkLocal !== undefined) {
    return Buffer.concat([global, addressBytes(attrs.nextHopLinkLocal, 'ipv6')]);
  }
  return global;
}

/**
 * UPDATE messages announcing `prefixes` (one family) with `attrs`; as many messages as needed.
 * IPv4 goes in the NLRI field with NEXT_HOP unless the context lists IPv4 under `mpFamilies`;
 * IPv6 goes in MP_REACH_NLRI with `attrs.nextHop` (and `nextHopLinkLocal`) as its next hop.
 */
export function encodeUpdates(
  attrs: PathAttributes,
  prefixes: readonly Prefix[],
  ctx: CodecContext,
): Buffer[] {
  if (prefixes.length === 0) return [];
  const family = singleFamily(prefixes);
  const mp = usesMpReach(ctx, family);
  if (!mp && attrs.nextHop === undefined)
    throw new RangeError('announcing IPv4 routes needs attributes.nextHop');
  const { before, after } = encodeAttributes(attrs, { ctx, inlineNextHop: !mp });
  const nh = mp ? mpNextHop(attrs, family) : undefined;
  const fixed = HEADER_LENGTH + 4 + before.length + after.length + (nh ? MP_ATTR_HEADER + 5 + nh.length : 0);
  const out: Buffer[] = [];
  for (const [from, to, size] of runsThatFit(prefixes, MAX_MESSAGE_LENGTH - fixed)) {
    const msg = Buffer.allocUnsafe(fixed + size);
    writeHeader(msg, 0, msg.length, MessageType.Update);
    let at = HEADER_LENGTH;
    msg.writeUInt16BE(0, at);
    msg.writeUInt16BE(msg.length - HEADER_LENGTH - 4 - (nh ? 0 : size), at + 2);
    at += 4;
    at += before.copy(msg, at);
    if (nh) {
      msg[at] = AttrFlag.Optional | AttrFlag.ExtendedLength;
      msg[at + 1] = AttrType.MpReachNlri;
      msg.writeUInt16BE(5 + nh.length + size, at + 2);
      msg.writeUInt16BE(AFI_OF[family], at + 4);
      msg[at + 6] = Safi.Unicast;
      msg[at + 7] = nh.length;
      at += 8;
      at += nh.copy(msg, at);
      msg[at++] = 0; // reserved
      for (let i = from; i < to; i++) at = writePrefix(prefixes[i]!, msg, at);
      at += after.copy(msg, at);
    } else {
      at += after.copy(msg, at);
      for (let i = from; i < to; i++) at = writePrefix(prefixes[i]!, msg, at);
    }
    out.push(msg);
  }
  return out;
}

/** UPDATE messages withdrawing `prefixes` (one family), as many as needed. */
export function encodeWithdrawals(prefixes: readonly Prefix[], ctx: CodecContext): Buffer[] {
  if (prefixes.length === 0) return [];
  const family = singleFamily(prefixes);
  const mp = usesMpReach(ctx, family);
  const fixed = HEADER_LENGTH + 4 + (mp ? MP_ATTR_HEADER + 3 : 0);
  const out: Buffer[] = [];
  for (const [from, to, size] of runsThatFit(prefixes, MAX_MESSAGE_LENGTH - fixed)) {
    const msg = Buffer.allocUnsafe(fixed + size);
    writeHeader(msg, 0, msg.length, MessageType.Update);
    let at = HEADER_LENGTH;
    if (mp) {
      msg.writeUInt16BE(0, at);
      msg.writeUInt16BE(MP_ATTR_HEADER + 3 + size, at + 2);
      msg[at + 4] = AttrFlag.Optional | AttrFlag.ExtendedLength;
      msg[at + 5] = AttrType.MpUnreachNlri;
      msg.writeUInt16BE(3 + size, at + 6);
      msg.writeUInt16BE(AFI_OF[family], at + 8);
      msg[at + 10] = Safi.Unicast;
      at += 11;
      for (let i = from; i < to; i++) at = writePrefix(prefixes[i]!, msg, at);
    } else {
      msg.writeUInt16BE(size, at);
      at += 2;
      for (let i = from; i < to; i++) at = writePrefix(prefixes[i]!, msg, at);
      msg.writeUInt16BE(0, at);
    }
    out.push(msg);
  }
  return out;
}

/** RFC 4724 2: the End-of-RIB marker of a family. */
export function encodeEndOfRib(family: AddressFamily, ctx?: CodecContext): Buffer {
  if (family === 'ipv4' && (ctx === undefined || !usesMpReach(ctx, 'ipv4'))) {
    const msg = Buffer.alloc(HEADER_LENGTH + 4);
    writeHeader(msg, 0, msg.length, MessageType.Update);
    return msg;
  }
  const msg = Buffer.alloc(HEADER_LENGTH + 4 + 3 + 3);
  writeHeader(msg, 0, msg.length, MessageType.Update);
  msg.writeUInt16BE(6, HEADER_LENGTH + 2);
  msg[HEADER_LENGTH + 4] = AttrFlag.Optional;
  msg[HEADER_LENGTH + 5] = AttrType.MpUnreachNlri;
  msg[HEADER_LENGTH + 6] = 3;
  msg.writeUInt16BE(AFI_OF[family], HEADER_LENGTH + 7);
  msg[HEADER_LENGTH + 9] = Safi.Unicast;
  return msg;
}

/**
 * One UPDATE from its decoded form, for round trips and hand-made messages. Common attributes come
 * from the first announced group; a second family contributes only its next hop. Throws RangeError
 * if the result would exceed 4,096 octets (use encodeUpdates to split).
 */
export function encodeUpdate(update: UpdateMessage, ctx: CodecContext): Buffer {
  const hasContent = update.withdrawn.length > 0 || update.announced.length > 0;
  if (!hasContent && update.endOfRib !== undefined) return encodeEndOfRib(update.endOfRib, ctx);
  const inlineWithdrawn = update.withdrawn.filter((p) => !usesMpReach(ctx, p.family));
  const mpWithdrawn = update.withdrawn.filter((p) => usesMpReach(ctx, p.family));
  const inlineGroup = update.announced.find((g) => !usesMpReach(ctx, g.prefixes[0]?.family ?? 'ipv4'));
  const mpGroup = update.announced.find((g) => g !== inlineGroup);
  const base = update.announced[0]?.attributes;

  const parts: Buffer[] = [];
  const withdrawnLen = inlineWithdrawn.reduce((n, p) => n + prefixWireLength(p.length), 0);
  const wBuf = Buffer.alloc(2 + withdrawnLen);
  wBuf.writeUInt16BE(withdrawnLen, 0);
  inlineWithdrawn.reduce((at, p) => writePrefix(p, wBuf, at), 2);
  parts.push(wBuf);

  const attrParts: Buffer[] = [];
  let after: Buffer = Buffer.alloc(0);
  if (base !== undefined) {
    const inlineAttrs = inlineGroup?.attributes ?? base;
    const enc = encodeAttributes(inlineGroup ? { ...base, nextHop: inlineAttrs.nextHop } : base, {
      ctx,
      inlineNextHop: inlineGroup !== undefined,
    });
    attrParts.push(enc.before);
    after = enc.after;
  }
  if (mpGroup !== undefined) {
    const family = singleFamily(mpGroup.prefixes);
    const nh = mpNextHop(mpGroup.attributes, family);
    const nlri = prefixBytes(mpGroup.prefixes);
    attrParts.push(
      mpAttribute(
        AttrType.MpReachNlri,
        family,
        Buffer.concat([Buffer.from([nh.length]), nh, Buffer.from([0]), nlri]),
      ),
    );
  }
  if (mpWithdrawn.length > 0) {
    const family = singleFamily(mpWithdrawn);
    attrParts.push(mpAttribute(AttrType.MpUnreachNlri, family, prefixBytes(mpWithdrawn)));
  }
  attrParts.push(after);
  const attrBlob = Buffer.concat(attrParts);
  const attrLen = Buffer.alloc(2);
  attrLen.writeUInt16BE(attrBlob.length, 0);
  parts.push(attrLen, attrBlob);
  if (inlineGroup !== undefined) {
    singleFamily(inlineGroup.prefixes);
    parts.push(prefixBytes(inlineGroup.prefixes));
  }
  const body = Buffer.concat(parts);
  const length = HEADER_LENGTH + body.length;
  if (length > MAX_MESSAGE_LENGTH)
    throw new RangeError(`UPDATE would be ${length} octets; use encodeUpdates to split`);
  const msg = Buffer.allocUnsafe(length);
  writeHeader(msg, 0, length, MessageType.Update);
  body.copy(msg, HEADER_LENGTH);
  return msg;
}

function prefixBytes(prefixes: readonly Prefix[]): Buffer {
  const out = Buffer.alloc(prefixes.reduce((n, p) => n + prefixWireLength(p.length), 0));
  prefixes.reduce((at, p) => writePrefix(p, out, at), 0);
  return out;
}

/** An MP_REACH/MP_UNREACH attribute: AFI, SAFI, then `rest`; extended length when needed. */
function mpAttribute(code: AttrType, family: AddressFamily, rest: Buffer): Buffer {
  const valueLen = 3 + rest.length;
  const ext = valueLen > 255;
  const head = Buffer.alloc(ext ? 4 : 3);
  head[0] = AttrFlag.Optional | (ext ? AttrFlag.ExtendedLength : 0);
  head[1] = code;
  if (ext) head.writeUInt16BE(valueLen, 2);
  else head[2] = valueLen;
  const afiSafi = Buffer.alloc(3);
  afiSafi.writeUInt16BE(AFI_OF[family], 0);
  afiSafi[2] = Safi.Unicast;
  return Buffer.concat([head, afiSafi, rest]);
}
