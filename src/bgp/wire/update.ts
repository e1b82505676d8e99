/**
 * UPDATE decoding (RFC 4271 4.3, RFC 4760, RFC 6793) with RFC 7606 error handling. The result says
 * in its type what the receiver must do: routes in `announced`, prefixes to remove in `withdrawn`
 * (which also holds every announced prefix when the UPDATE is treated as withdraw), and a report of
 * each attribute error so the session can log it. Only errors RFC 7606 still calls fatal throw, as a
 * BgpProtocolError carrying the NOTIFICATION.
 */
import type { AddressFamily, PathAttributes, Prefix } from '../types.js';
import { ipv4Text, readIPv4, readIPv6 } from './address.js';
import { mergeAs4Path } from './as-path.js';
import {
  ATTRIBUTE_BY_CODE,
  invalidIPv4NextHop,
  invalidIPv6NextHop,
  MalformedAttribute,
  type DecodeState,
  type MalformedAction,
} from './attributes.js';
import { AS_TRANS, Afi, AttrFlag, AttrType, Safi } from './constants.js';
import type { CodecContext } from './context.js';
import { BgpProtocolError } from './errors.js';
import { ErrorCode, UpdateMessageSubcode } from './notification-codes.js';

/** RFC 7606 actions short of a session reset. */
export type Rfc7606Action = Exclude<MalformedAction, 'session-reset'>;

export interface AttributeErrorReport {
  /** The attribute's type code; 0 when the attribute list as a whole could not be parsed. */
  readonly typeCode: number;
  readonly action: Rfc7606Action;
  /** The RFC 4271 6.3 subcode this error raises under strict handling. */
  readonly subcode: UpdateMessageSubcode;
  readonly reason: string;
}

/** Routes of one family announced by one UPDATE; `attributes.nextHop` is that family's next hop. */
export interface AnnouncedRoutes {
  readonly attributes: PathAttributes;
  readonly prefixes: readonly Prefix[];
}

export interface UpdateMessage {
  readonly type: 'update';
  readonly withdrawn: readonly Prefix[];
  /** At most one entry per family (IPv4 NLRI field and/or MP_REACH_NLRI). */
  readonly announced: readonly AnnouncedRoutes[];
  /** RFC 4724 2: this UPDATE is the End-of-RIB marker of the family. */
  readonly endOfRib?: AddressFamily;
  /** RFC 7606 2: an attribute was malformed; every announced prefix has been moved to `withdrawn`. */
  readonly treatAsWithdraw: boolean;
  readonly attributeErrors: readonly AttributeErrorReport[];
}

export function familyOfAfiSafi(afi: number, safi: number): AddressFamily | undefined {
  if (safi !== Safi.Unicast) return undefined;
  if (afi === Afi.IPv4) return 'ipv4';
  if (afi === Afi.IPv6) return 'ipv6';
  return undefined;
}

/**
 * Reads a list of prefixes. The IPv4 path is inlined because it runs once per route in bulk
 * transfers; it builds the text straight from the octets.
 */
export function readPrefixes(
  buf: Buffer,
  start: number,
  end: number,
  family: AddressFamily,
  out: Prefix[],
): string | undefined {
  let at = start;
  if (family === 'ipv4') {
    while (at < end) {
      const length = buf[at]!;
      if (length > 32) return `prefix length ${length} exceeds 32`;
      const octets = (length + 7) >> 3;
      if (at + 1 + octets > end) return `prefix /${length} runs past the end of its field`;
      let value = 0;
      for (let i = 0; i < 4; i++) value = value * 256 + (i < octets ? buf[at + 1 + i]! : 0);
      if (length < 32) value -= value % 2 ** (32 - length);
      out.push({ family, address: ipv4Text(value), length });
      at += 1 + octets;
    }
    return undefined;
  }
  while (at < end) {
    const length = buf[at]!;
    if (length > 128) return `prefix length ${length} exceeds 128`;
    const octets = (length + 7) >> 3;
    if (at + 1 + octets > end) return `prefix /${length} runs past the end of its field`;
    SCRATCH_V6.fill(0);
    buf.copy(SCRATCH_V6, 0, at + 1, at + 1 + octets);
    if (length & 7) SCRATCH_V6[octets - 1]! &= (0xff << (8 - (length & 7))) & 0xff;
    out.push({ family, address: readIPv6(SCRATCH_V6, 0), length });
    at += 1 + octets;
  }
  return undefined;
}

const SCRATCH_V6 = Buffer.alloc(16);
/** Per-decode duplicate detection; reset for the codes each decode touched (decoding is synchronous). */
const SEEN = new Uint8Array(256);

function updateError(subcode: UpdateMessageSubcode, detail: string, data?: Buffer): BgpProtocolError {
  return new BgpProtocolError(ErrorCode.UpdateMessage, subcode, detail, data);
}

/**
 * Collects RFC 7606 outcomes while one UPDATE is read. Under strict handling every error is raised
 * as its RFC 4271 NOTIFICATION instead.
 */
class ErrorLog {
  readonly reports: AttributeErrorReport[] = [];
  treatAsWithdraw = false;

  constructor(readonly strict: boolean) {}

  /** Records a recoverable error, or throws it when handling is strict. */
  soften(
    typeCode: number,
    action: Rfc7606Action,
    subcode: UpdateMessageSubcode,
    reason: string,
    data?: Buffer,
  ): void {
    if (this.strict) throw updateError(subcode, reason, data);
    this.reports.push({ typeCode, action, subcode, reason });
    if (action === 'treat-as-withdraw') this.treatAsWithdraw = true;
  }

  /** For what the UPDATE is not (an unsupported family): reported, never raised. */
  ignore(typeCode: number, reason: string): void {
    this.reports.push({
      typeCode,
      action: 'attribute-discard',
      subcode: UpdateMessageSubcode.OptionalAttributeError,
      reason,
    });
  }

  has(typeCode: number): boolean {
    return this.reports.some((r) => r.typeCode === typeCode);
  }
}

/** Decodes the UPDATE body `buf[start..end)` (after the 19-octet header). */
export function decodeUpdate(buf: Buffer, start: number, end: number, ctx: CodecContext): UpdateMessage {
  if (end - start < 4) {
    throw updateError(
      UpdateMessageSubcode.MalformedAttributeList,
      `UPDATE body is ${end - start} octets, at least 4`,
    );
  }
  const withdrawnLen = buf.readUInt16BE(start);
  const withdrawnEnd = start + 2 + withdrawnLen;
  if (withdrawnEnd + 2 > end) {
    throw updateError(
      UpdateMessageSubcode.MalformedAttributeList,
      `withdrawn routes length ${withdrawnLen} leaves no room for the path attribute length`,
    );
  }
  const attrsLen = buf.readUInt16BE(withdrawnEnd);
  const attrsStart = withdrawnEnd + 2;
  const attrsEnd = attrsStart + attrsLen;
  if (attrsEnd > end) {
    throw updateError(
      UpdateMessageSubcode.MalformedAttributeList,
      `total path attribute length ${attrsLen} exceeds the ${end - attrsStart} octets left in the UPDATE`,
    );
  }
  const withdrawn: Prefix[] = [];
  const wErr = readPrefixes(buf, start + 2, withdrawnEnd, 'ipv4', withdrawn);
  if (wErr !== undefined)
    throw updateError(UpdateMessageSubcode.InvalidNetworkField, `withdrawn routes: ${wErr}`);
  const nlri: Prefix[] = [];
  const nErr = readPrefixes(buf, attrsEnd, end, 'ipv4', nlri);
  if (nErr !== undefined) throw updateError(UpdateMessageSubcode.InvalidNetworkField, `NLRI: ${nErr}`);

  const log = new ErrorLog(ctx.errorHandling === 'strict');
  const state: DecodeState = { attrs: {}, unknown: [] };
  const attributeCount = readAttributeList(buf, attrsStart, attrsEnd, ctx, state, log, nlri.length > 0);
  const attrs = state.attrs;
  if (state.unknown.length > 0) attrs.unknown = state.unknown;
  if (!ctx.fourOctetAs) applyAs4Attributes(state);
  const mp = readMpRoutes(buf, state, log);
  checkWellKnown(attrs, nlri.length > 0, mp.announced.length > 0, log);

  const allWithdrawn = mp.withdrawn.length > 0 ? withdrawn.concat(mp.withdrawn) : withdrawn;
  const announced: AnnouncedRoutes[] = [];
  if (log.treatAsWithdraw) {
    for (const p of nlri) allWithdrawn.push(p);
    for (const p of mp.announced) allWithdrawn.push(p);
  } else {
    const complete = attrs as PathAttributes;
    if (nlri.length > 0) announced.push({ attributes: complete, prefixes: nlri });
    if (mp.announced.length > 0 && mp.nextHop !== undefined) {
      const { nextHop: _nh, nextHopLinkLocal: _ll, ...rest } = complete;
      const withNextHop: PathAttributes =
        mp.nextHop.linkLocal === undefined
          ? { ...rest, nextHop: mp.nextHop.nextHop }
          : { ...rest, nextHop: mp.nextHop.nextHop, nextHopLinkLocal: mp.nextHop.linkLocal };
      announced.push({ attributes: withNextHop, prefixes: mp.announced });
    }
  }

  const result: UpdateMessage = {
    type: 'update',
    withdrawn: allWithdrawn,
    announced,
    treatAsWithdraw: log.treatAsWithdraw,
    attributeErrors: log.reports,
  };
  // RFC 4724 2: End-of-RIB is an empty UPDATE (IPv4) or an UPDATE holding only an empty MP_UNREACH.
  const nothingElse = withdrawnLen === 0 && end === attrsEnd;
  if (nothingElse && attrsLen === 0) return { ...result, endOfRib: 'ipv4' };
  if (nothingElse && attributeCount === 1 && mp.unreachFamily !== undefined && mp.withdrawn.length === 0) {
    return { ...result, endOfRib: mp.unreachFamily };
  }
  return result;
}

/**
 * Walks the path attributes through the table, filling `state`; returns how many distinct
 * attributes were seen. Flags, duplicates, unknown types and each record's own checks are applied
 * here, each error going to RFC 7606 handling or a NOTIFICATION.
 */
function readAttributeList(
  buf: Buffer,
  attrsStart: number,
  attrsEnd: number,
  ctx: CodecContext,
  state: DecodeState,
  log: ErrorLog,
  hasNlriField: boolean,
): number {
  /**
   * RFC 7606 4: an attribute list that overruns is treat-as-withdraw, the total length still
   * locating the NLRI field. But withdrawing needs the NLRI (RFC 7606 3, last paragraph): with an
   * empty NLRI field and no MP attribute found before the break, the routes could only be in an MP
   * attribute we cannot see, so the session must be reset.
   */
  const listOverrun = (code: number, subcode: UpdateMessageSubcode, reason: string, data?: Buffer): void => {
    if (!hasNlriField && state.mpReach === undefined && state.mpUnreach === undefined) {
      throw updateError(subcode, reason, data);
    }
    log.soften(code, 'treat-as-withdraw', subcode, reason, data);
  };

  const touched: number[] = [];
  try {
    let at = attrsStart;
    while (at < attrsEnd) {
      const flags = buf[at]!;
      const headerLen = flags & AttrFlag.ExtendedLength ? 4 : 3;
      if (at + headerLen > attrsEnd) {
        const reason = `attribute header at offset ${at - attrsStart} runs past the path attributes`;
        listOverrun(0, UpdateMessageSubcode.MalformedAttributeList, reason);
        break;
      }
      const code = buf[at + 1]!;
      const len = headerLen === 4 ? buf.readUInt16BE(at + 2) : buf[at + 2]!;
      const attrStart = at;
      const vStart = at + headerLen;
      const vEnd = vStart + len;
      if (vEnd > attrsEnd) {
        const reason = `attribute ${code} length ${len} runs past the path attributes`;
        listOverrun(
          code,
          UpdateMessageSubcode.AttributeLengthError,
          reason,
          copyOf(buf, attrStart, attrsEnd),
        );
        break;
      }
      at = vEnd;
      const spec = ATTRIBUTE_BY_CODE[code];

      // RFC 7606 3(g): a repeated MP attribute is fatal, any other repeat keeps the first.
      if (SEEN[code] === 1) {
        const reason = `attribute ${spec?.name ?? code} appears more than once`;
        if (code === AttrType.MpReachNlri || code === AttrType.MpUnreachNlri) {
          throw updateError(UpdateMessageSubcode.MalformedAttributeList, reason);
        }
        log.soften(code, 'attribute-discard', UpdateMessageSubcode.MalformedAttributeList, reason);
        continue;
      }
      SEEN[code] = 1;
      touched.push(code);

      if (spec === undefined) {
        if ((flags & AttrFlag.Optional) === 0) {
          throw updateError(
            UpdateMessageSubcode.UnrecognizedWellKnownAttribute,
            `well-known attribute ${code} is not recognized`,
            copyOf(buf, attrStart, vEnd),
          );
        }
        // RFC 4271 5: unrecognized optional transitive attributes pass on with Partial set; the
        // value is copied because it outlives this message in the RIB.
        if (flags & AttrFlag.Transitive) {
          state.unknown.push({
            flags: (flags | AttrFlag.Partial) & ~AttrFlag.ExtendedLength,
            typeCode: code,
            value: copyOf(buf, vStart, vEnd),
          });
        }
        continue;
      }

      const flagBits = flags & (AttrFlag.Optional | AttrFlag.Transitive);
      const partialNotAllowed =
        (flags & AttrFlag.Partial) !== 0 && spec.flags !== (AttrFlag.Optional | AttrFlag.Transitive);
      if (flagBits !== spec.flags || partialNotAllowed) {
        const reason = `${spec.name} has flags 0x${flags.toString(16)}, expected 0x${spec.flags.toString(16)}`;
        const data = copyOf(buf, attrStart, vEnd);
        // RFC 7606 3(c): wrong flags make the attribute malformed, handled by treat-as-withdraw
        // unless the attribute's own rule is a session reset.
        if (spec.onMalformed === 'session-reset') {
          throw updateError(UpdateMessageSubcode.AttributeFlagsError, reason, data);
        }
        log.soften(code, 'treat-as-withdraw', UpdateMessageSubcode.AttributeFlagsError, reason, data);
        continue;
      }

      try {
        spec.decode(buf, vStart, vEnd, state, ctx);
      } catch (e) {
        if (!(e instanceof MalformedAttribute)) throw e;
        const data = copyOf(buf, attrStart, vEnd);
        if (spec.onMalformed === 'session-reset') throw updateError(e.subcode, e.reason, data);
        log.soften(code, spec.onMalformed, e.subcode, e.reason, data);
      }
    }
  } finally {
    for (const c of touched) SEEN[c] = 0;
  }
  return touched.length;
}

interface MpRoutes {
  readonly announced: Prefix[];
  readonly nextHop?: { readonly nextHop: string; readonly linkLocal?: string };
  readonly withdrawn: Prefix[];
  readonly unreachFamily?: AddressFamily;
}

/** The prefixes inside MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760), located by the attribute walk. */
function readMpRoutes(buf: Buffer, state: DecodeState, log: ErrorLog): MpRoutes {
  const announced: Prefix[] = [];
  const withdrawn: Prefix[] = [];
  let nextHop: MpRoutes['nextHop'];
  let unreachFamily: AddressFamily | undefined;
  const reach = state.mpReach;
  if (reach !== undefined) {
    const family = familyOfAfiSafi(reach.afi, reach.safi);
    if (family === undefined) {
      log.ignore(
        AttrType.MpReachNlri,
        `MP_REACH_NLRI for AFI ${reach.afi} SAFI ${reach.safi} is not supported; ignored`,
      );
    } else {
      const err = readPrefixes(buf, reach.nlriStart, reach.nlriEnd, family, announced);
      if (err !== undefined)
        throw updateError(UpdateMessageSubcode.InvalidNetworkField, `MP_REACH_NLRI: ${err}`);
      const nh = decodeMpNextHop(reach.nextHop, family);
      // RFC 7606 7.11: the next hop precedes the NLRI, so a bad one still lets us withdraw.
      if (typeof nh === 'string') {
        log.soften(
          AttrType.MpReachNlri,
          'treat-as-withdraw',
          UpdateMessageSubcode.OptionalAttributeError,
          nh,
        );
      } else {
        nextHop = nh;
      }
    }
  }
  const unreach = state.mpUnreach;
  if (unreach !== undefined) {
    unreachFamily = familyOfAfiSafi(unreach.afi, unreach.safi);
    if (unreachFamily === undefined) {
      log.ignore(
        AttrType.MpUnreachNlri,
        `MP_UNREACH_NLRI for AFI ${unreach.afi} SAFI ${unreach.safi} is not supported; ignored`,
      );
    } else {
      const err = readPrefixes(buf, unreach.nlriStart, unreach.nlriEnd, unreachFamily, withdrawn);
      if (err !== undefined)
        throw updateError(UpdateMessageSubcode.InvalidNetworkField, `MP_UNREACH_NLRI: ${err}`);
    }
  }
  const routes: MpRoutes = { announced, withdrawn };
  return {
    ...routes,
    ...(nextHop !== undefined ? { nextHop } : {}),
    ...(unreachFamily !== undefined ? { unreachFamily } : {}),
  };
}

/** RFC 4271 5 / RFC 4760 3: ORIGIN and AS_PATH with any route, NEXT_HOP with IPv4 NLRI-field routes. */
function checkWellKnown(
  attrs: Partial<PathAttributes>,
  hasNlriField: boolean,
  hasMpRoutes: boolean,
  log: ErrorLog,
): void {
  if (!hasNlriField && !hasMpRoutes) return;
  const required: [AttrType, string, boolean][] = [
    [AttrType.Origin, 'ORIGIN', attrs.origin !== undefined],
    [AttrType.AsPath, 'AS_PATH', attrs.asPath !== undefined],
    [AttrType.NextHop, 'NEXT_HOP', !hasNlriField || attrs.nextHop !== undefined],
  ];
  for (const [code, name, present] of required) {
    // An attribute that was there but malformed is already reported; it is not also "missing".
    if (present || log.has(code)) continue;
    log.soften(
      code,
      'treat-as-withdraw',
      UpdateMessageSubcode.MissingWellKnownAttribute,
      `well-known attribute ${name} is missing`,
      Buffer.from([code]),
    );
  }
}

function copyOf(buf: Buffer, start: number, end: number): Buffer {
  return Buffer.from(buf.subarray(start, end));
}

/** RFC 4760 3 / RFC 2545 3: 4 octets for IPv4, 16 (global) or 32 (global + link-local) for IPv6. */
function decodeMpNextHop(
  nh: Buffer,
  family: AddressFamily,
): { nextHop: string; linkLocal?: string } | string {
  if (family === 'ipv4') {
    if (nh.length !== 4) return `MP_REACH_NLRI IPv4 next hop has length ${nh.length}, expected 4`;
    const invalid = invalidIPv4NextHop(nh, 0);
    return invalid ?? { nextHop: readIPv4(nh, 0) };
  }
  if (nh.length !== 16 && nh.length !== 32) {
    return `MP_REACH_NLRI IPv6 next hop has length ${nh.length}, expected 16 or 32`;
  }
  const invalid = invalidIPv6NextHop(nh, 0);
  if (invalid !== undefined) return invalid;
  if (nh.length === 32) return { nextHop: readIPv6(nh, 0), linkLocal: readIPv6(nh, 16) };
  return { nextHop: readIPv6(nh, 0) };
}

/**
 * RFC 6793 4.2.3 for a session without 4-octet AS numbers: AGGREGATOR other than AS_TRANS means a
 * 2-octet speaker aggregated after the AS4 attributes were written, so both are stale and ignored.
 */
function applyAs4Attributes(state: DecodeState): void {
  const attrs = state.attrs;
  if (attrs.aggregator !== undefined && attrs.aggregator.asn !== AS_TRANS) return;
  if (state.as4Aggregator !== undefined) attrs.aggregator = state.as4Aggregator;
  if (state.as4Path !== undefined && attrs.asPath !== undefined) {
    attrs.asPath = mergeAs4Path(attrs.asPath, state.as4Path);
  }
}
