/**
 * The one error the decoder throws. A BGP decoding failure is never just "bad bytes": RFC 4271 6 says
 * which NOTIFICATION the speaker must send, so the error carries it and the session sends it as is.
 */
import { describeNotification, ErrorCode } from './notification-codes.js';

export interface NotificationFields {
  readonly code: ErrorCode | number;
  readonly subcode: number;
  readonly data: Buffer;
}

export class BgpProtocolError extends Error {
  readonly notification: NotificationFields;

  constructor(code: ErrorCode, subcode: number, detail: string, data: Buffer = Buffer.alloc(0)) {
    super(`${describeNotification(code, subcode)}: ${detail}`);
    this.name = 'BgpProtocolError';
    this.notification = { code, subcode, data };
  }
}

/** A 2-octet big-endian value, the data field several NOTIFICATIONs carry (bad length, version). */
export function uint16Data(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value & 0xffff, 0);
  return b;
}
