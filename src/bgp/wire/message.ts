/**
 * The five BGP messages as one discriminated union, and the two entry points the session uses:
 * `decodeMessage` (one framed message in, a typed message out, or a BgpProtocolError carrying the
 * NOTIFICATION) and `encodeMessage`.
 */
import { ByteWriter } from './byte-writer.js';
import { HEADER_LENGTH, MessageType } from './constants.js';
import type { CodecContext } from './context.js';
import { BgpProtocolError } from './errors.js';
import { checkHeader, checkType, frameMessage } from './header.js';
import { decodeOpen, encodeOpenBody, type OpenMessage } from './open.js';
import { describeNotification, ErrorCode, MessageHeaderSubcode } from './notification-codes.js';
import { decodeUpdate, type UpdateMessage } from './update.js';
import { encodeUpdate } from './update-encode.js';

export interface NotificationMessage {
  readonly type: 'notification';
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
}

export interface KeepaliveMessage {
  readonly type: 'keepalive';
}

/** RFC 2918 3; the octet between AFI and SAFI is RFC 7313's message subtype (0 = plain refresh). */
export interface RouteRefreshMessage {
  readonly type: 'route-refresh';
  readonly afi: number;
  readonly safi: number;
  readonly subtype: number;
}

export type BgpMessage =
  OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

/** Human text for a NOTIFICATION, e.g. "Cease / AdministrativeShutdown". */
export function describeNotificationMessage(n: NotificationMessage): string {
  const text = describeNotification(n.code, n.subcode);
  return n.data.length > 0 ? `${text} (data ${n.data.toString('hex')})` : text;
}

/**
 * Decodes one whole message `buf[at..at+length)` (as the framer hands it over: header checked or
 * not — it is checked again here so the function is safe on any bytes). Throws only
 * BgpProtocolError.
 */
export function decodeMessage(buf: Buffer, ctx: CodecContext, at = 0): BgpMessage {
  if (buf.length - at < HEADER_LENGTH) {
    throw new BgpProtocolError(
      ErrorCode.MessageHeader,
      MessageHeaderSubcode.BadMessageLength,
      `${buf.length - at} octets is shorter than a message header`,
    );
  }
  const length = checkHeader(buf, at);
  if (at + length > buf.length) {
    throw new BgpProtocolError(
      ErrorCode.MessageHeader,
      MessageHeaderSubcode.BadMessageLength,
      `header says ${length} octets but only ${buf.length - at} are present`,
    );
  }
  const type = checkType(buf, at, length);
  const start = at + HEADER_LENGTH;
  const end = at + length;
  switch (type) {
    case MessageType.Open:
      return decodeOpen(buf, start, end);
    case MessageType.Update:
      return decodeUpdate(buf, start, end, ctx);
    case MessageType.Notification:
      return {
        type: 'notification',
        code: buf[start]!,
        subcode: buf[start + 1]!,
        data: Buffer.from(buf.subarray(start + 2, end)),
      };
    case MessageType.Keepalive:
      return { type: 'keepalive' };
    case MessageType.RouteRefresh:
      return {
        type: 'route-refresh',
        afi: buf.readUInt16BE(start),
        subtype: buf[start + 2]!,
        safi: buf[start + 3]!,
      };
    default: {
      const unreachable: never = type;
      throw new BgpProtocolError(
        ErrorCode.MessageHeader,
        MessageHeaderSubcode.BadMessageType,
        `message type ${String(unreachable)}`,
      );
    }
  }
}

const KEEPALIVE = frameMessage(MessageType.Keepalive, Buffer.alloc(0));

export function encodeMessage(msg: BgpMessage, ctx: CodecContext): Buffer {
  switch (msg.type) {
    case 'open': {
      const w = new ByteWriter(64);
      encodeOpenBody(msg, w);
      return frameMessage(MessageType.Open, w.toBuffer());
    }
    case 'update':
      return encodeUpdate(msg, ctx);
    case 'notification': {
      const body = Buffer.alloc(2 + msg.data.length);
      body[0] = msg.code;
      body[1] = msg.subcode;
      msg.data.copy(body, 2);
      return frameMessage(MessageType.Notification, body);
    }
    case 'keepalive':
      return Buffer.from(KEEPALIVE);
    case 'route-refresh': {
      const body = Buffer.alloc(4);
      body.writeUInt16BE(msg.afi, 0);
      body[2] = msg.subtype;
      body[3] = msg.safi;
      return frameMessage(MessageType.RouteRefresh, body);
    }
    default: {
      const unreachable: never = msg;
      throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
    }
  }
}
