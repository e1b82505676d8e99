/**
 * The 19-octet message header (RFC 4271 4.1): marker, length, type. Checked once here, before any
 * body decoder runs, so a body decoder can trust its bounds.
 */
import {
  HEADER_LENGTH,
  MARKER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  MIN_MESSAGE_LENGTH,
} from './constants.js';
import { BgpProtocolError, uint16Data } from './errors.js';
import { ErrorCode, MessageHeaderSubcode } from './notification-codes.js';

/** Writes marker, length and type at `at` (the caller has sized `out`). */
export function writeHeader(out: Buffer, at: number, length: number, type: MessageType): void {
  out.fill(0xff, at, at + MARKER_LENGTH);
  out.writeUInt16BE(length, at + MARKER_LENGTH);
  out[at + MARKER_LENGTH + 2] = type;
}

/** A whole message from a body: header prepended, length checked against the 4096-octet limit. */
export function frameMessage(type: MessageType, body: Buffer): Buffer {
  const length = HEADER_LENGTH + body.length;
  if (length > MAX_MESSAGE_LENGTH) {
    throw new RangeError(`message of type ${MessageType[type]} would be ${length} octets; the limit is 4096`);
  }
  const out = Buffer.allocUnsafe(length);
  writeHeader(out, 0, length, type);
  body.copy(out, HEADER_LENGTH);
  return out;
}

/**
 * Checks marker and length bounds of the header at `at`; returns the message length. This is what
 * the framer needs before it knows where the next message starts.
 */
export function checkHeader(buf: Buffer, at: number): number {
  for (let i = 0; i < MARKER_LENGTH; i++) {
    if (buf[at + i] !== 0xff) {
      throw new BgpProtocolError(
        ErrorCode.MessageHeader,
        MessageHeaderSubcode.ConnectionNotSynchronized,
        `marker octet ${i} is 0x${buf[at + i]!.toString(16)}, expected 0xff`,
      );
    }
  }
  const length = buf.readUInt16BE(at + MARKER_LENGTH);
  if (length < HEADER_LENGTH || length > MAX_MESSAGE_LENGTH) {
    throw new BgpProtocolError(
      ErrorCode.MessageHeader,
      MessageHeaderSubcode.BadMessageLength,
      `message length ${length} is outside 19..4096`,
      uint16Data(length),
    );
  }
  return length;
}

/** Checks the type octet and the per-type minimum (and KEEPALIVE's exact) length. */
export function checkType(buf: Buffer, at: number, length: number): MessageType {
  const type = buf[at + MARKER_LENGTH + 2]!;
  const min = (MIN_MESSAGE_LENGTH as Record<number, number | undefined>)[type];
  if (min === undefined) {
    throw new BgpProtocolError(
      ErrorCode.MessageHeader,
      MessageHeaderSubcode.BadMessageType,
      `message type ${type} is not one of OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH`,
      Buffer.from([type]),
    );
  }
  const exact = type === MessageType.Keepalive || type === MessageType.RouteRefresh;
  if (length < min || (exact && length !== min)) {
    throw new BgpProtocolError(
      ErrorCode.MessageHeader,
      MessageHeaderSubcode.BadMessageLength,
      `${MessageType[type]} message of ${length} octets; ${exact ? 'exactly' : 'at least'} ${min} required`,
      uint16Data(length),
    );
  }
  return type as MessageType;
}
