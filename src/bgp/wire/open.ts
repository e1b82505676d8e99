/**
 * OPEN (RFC 4271 4.2) with capabilities in optional parameter 2 (RFC 5492). Decoding checks what the
 * message alone can tell (version, hold time 1 or 2, zero identifier, parameter layout); checks that
 * need configuration (expected peer AS, our own identifier) belong to the session.
 */
import { ByteWriter } from './byte-writer.js';
import { readIPv4, writeIPv4 } from './address.js';
import { decodeCapabilities, encodeCapability, type Capability } from './capabilities.js';
import { AS_TRANS, BGP_VERSION, OPTIONAL_PARAMETER_CAPABILITIES } from './constants.js';
import { BgpProtocolError, uint16Data } from './errors.js';
import { ErrorCode, OpenMessageSubcode } from './notification-codes.js';

export interface OpenMessage {
  readonly type: 'open';
  readonly version: number;
  /** The 2-octet My Autonomous System field; AS_TRANS when the real AS needs 4 octets. */
  readonly myAs: number;
  readonly holdTime: number;
  readonly bgpId: string;
  readonly capabilities: readonly Capability[];
}

/** The value for the My Autonomous System field (RFC 6793 4.1). */
export function myAsField(asn: number): number {
  return asn > 0xffff ? AS_TRANS : asn;
}

/** The sender's real AS: the 4-octet AS capability if present, else the 2-octet field. */
export function openPeerAs(open: OpenMessage): number {
  for (const c of open.capabilities) if (c.kind === 'four-octet-as') return c.asn;
  return open.myAs;
}

function openError(subcode: OpenMessageSubcode, detail: string, data?: Buffer): BgpProtocolError {
  return new BgpProtocolError(ErrorCode.OpenMessage, subcode, detail, data);
}

/** Decodes the OPEN body `buf[start..end)` (after the 19-octet header). */
export function decodeOpen(buf: Buffer, start: number, end: number): OpenMessage {
  if (end - start < 10) {
    throw openError(OpenMessageSubcode.Unspecific, `OPEN body is ${end - start} octets, at least 10 needed`);
  }
  const version = buf[start]!;
  if (version !== BGP_VERSION) {
    // RFC 4271 6.2: the data field names the largest version we support.
    throw openError(
      OpenMessageSubcode.UnsupportedVersionNumber,
      `peer speaks BGP version ${version}; only version 4 is supported`,
      uint16Data(BGP_VERSION),
    );
  }
  const myAs = buf.readUInt16BE(start + 1);
  const holdTime = buf.readUInt16BE(start + 3);
  if (holdTime === 1 || holdTime === 2) {
    throw openError(
      OpenMessageSubcode.UnacceptableHoldTime,
      `hold time ${holdTime}s is not allowed; it must be 0 or at least 3 seconds`,
    );
  }
  const idValue = buf.readUInt32BE(start + 5);
  if (idValue === 0) {
    throw openError(OpenMessageSubcode.BadBgpIdentifier, 'BGP identifier 0.0.0.0 is not valid (RFC 6286)');
  }
  const bgpId = readIPv4(buf, start + 5);
  const paramsLen = buf[start + 9]!;
  const paramsStart = start + 10;
  if (paramsStart + paramsLen !== end) {
    throw openError(
      OpenMessageSubcode.Unspecific,
      `optional parameters length ${paramsLen} does not match the ${end - paramsStart} octets left`,
    );
  }
  const capabilities: Capability[] = [];
  let at = paramsStart;
  while (at < end) {
    if (at + 2 > end)
      throw openError(OpenMessageSubcode.Unspecific, 'optional parameter header is truncated');
    const type = buf[at]!;
    const len = buf[at + 1]!;
    if (at + 2 + len > end) {
      throw openError(OpenMessageSubcode.Unspecific, `optional parameter ${type} runs past the message`);
    }
    if (type !== OPTIONAL_PARAMETER_CAPABILITIES) {
      throw openError(
        OpenMessageSubcode.UnsupportedOptionalParameter,
        `optional parameter type ${type} is not supported (only capabilities, type 2)`,
      );
    }
    decodeCapabilities(buf, at + 2, at + 2 + len, capabilities);
    at += 2 + len;
  }
  return { type: 'open', version, myAs, holdTime, bgpId, capabilities };
}

/** Writes the OPEN body; all capabilities go into one optional parameter, as BIRD and FRR do. */
export function encodeOpenBody(open: OpenMessage, w: ByteWriter): void {
  w.u8(open.version).u16(open.myAs).u16(open.holdTime);
  const id = Buffer.alloc(4);
  if (!writeIPv4(open.bgpId, id, 0))
    throw new RangeError(`BGP identifier "${open.bgpId}" is not a dotted quad`);
  w.bytes(id);
  const paramsLenAt = w.skip(1);
  if (open.capabilities.length > 0) {
    w.u8(OPTIONAL_PARAMETER_CAPABILITIES);
    const capLenAt = w.skip(1);
    const capStart = w.length;
    for (const c of open.capabilities) encodeCapability(c, w);
    const capLen = w.length - capStart;
    if (capLen > 253) throw new RangeError(`capabilities take ${capLen} octets; an OPEN allows 253`);
    w.patchU8(capLenAt, capLen);
  }
  w.patchU8(paramsLenAt, w.length - paramsLenAt - 1);
}
