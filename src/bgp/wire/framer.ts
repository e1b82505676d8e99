/**
 * Splits a TCP byte stream into BGP messages. TCP delivers arbitrary chunks; a message may span
 * chunks or a chunk may hold many. Messages wholly inside one chunk are returned as views of it
 * (no copy); only a message split across chunks is assembled into a new buffer.
 */
import { HEADER_LENGTH } from './constants.js';
import { checkHeader } from './header.js';

export class MessageFramer {
  private pending: Buffer | undefined;

  /**
   * Adds a chunk; returns the complete messages now available, each a Buffer holding exactly one
   * message (header included). Throws BgpProtocolError (Connection Not Synchronized, Bad Message
   * Length) as soon as a header is wrong — the stream cannot be resynchronised after that.
   */
  push(chunk: Buffer): Buffer[] {
    let buf = chunk;
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    const out: Buffer[] = [];
    let at = 0;
    while (buf.length - at >= HEADER_LENGTH) {
      const length = checkHeader(buf, at);
      if (buf.length - at < length) break;
      out.push(buf.subarray(at, at + length));
      at += length;
    }
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at));
    return out;
  }

  /** Octets held waiting for the rest of a message. */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }
}
