/**
 * The line protocol between calico-node and the calico-fib-writer coprocess (the full description
 * is atop native/calico-fib-writer.c). Text, one operation or answer per line, so the C side parses
 * with strtok and inet_pton, and a person can drive the program by hand to see what it does.
 *
 *   to the writer:   A <seq> <prefix> <gw>...   D <seq> <prefix>   B <seq>   L <seq> <4|6>
 *   from the writer: F <seq> <errno> <text>     B <seq> ok|unknown R <prefix> <gw>...
 *                    L <seq> ok | L <seq> error <text>
 *
 * Pure: encoding and parsing only; the process and its pipes are in netlink-route-writer.ts.
 */
import type { FibFamily } from './canonical-route-text.js';
import type { RouteOp } from './route-writer.js';

/** Sequence numbers are the netlink header's 32-bit field. */
export const MAX_WRITER_SEQ = 0xffff_ffff;

function checkSeq(seq: number): void {
  if (!Number.isInteger(seq) || seq < 0 || seq > MAX_WRITER_SEQ)
    throw new Error(`fib writer: sequence number ${seq} is not a 32-bit unsigned integer`);
}

/** A word must not split or end the line (the FIB's canonical text never does; this guards bugs). */
function checkWord(what: string, text: string): void {
  if (text.length === 0 || text.includes(' ') || text.includes('\n'))
    throw new Error(`fib writer: ${what} ${JSON.stringify(text)} is empty or contains a space or newline`);
}

/** One operation as its line (with the newline). */
export function encodeRouteOp(seq: number, op: RouteOp): string {
  checkSeq(seq);
  checkWord('prefix', op.prefix);
  switch (op.kind) {
    case 'replace': {
      if (op.nextHops.length === 0)
        throw new Error(`fib writer: route ${op.prefix} has no next hop to install (delete it instead)`);
      if (op.nextHops.length === 1) {
        const hop = op.nextHops[0] as string;
        checkWord('next hop', hop);
        return `A ${seq} ${op.prefix} ${hop}\n`;
      }
      for (const hop of op.nextHops) checkWord('next hop', hop);
      return `A ${seq} ${op.prefix} ${op.nextHops.join(' ')}\n`;
    }
    case 'delete':
      return `D ${seq} ${op.prefix}\n`;
    default: {
      const never: never = op;
      throw new Error(`fib writer: unknown route op ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The operation of a line `encodeRouteOp` made (without its newline): a write keeps its text, not
 * its operation objects, while it waits for the answers, and maps a refusal back through this.
 */
export function decodeRouteOpLine(line: string): RouteOp {
  const words = line.split(' ');
  const prefix = words[2];
  if (prefix !== undefined && words[0] === 'A' && words.length > 3) {
    return { kind: 'replace', prefix, nextHops: words.slice(3) };
  }
  if (prefix !== undefined && words[0] === 'D' && words.length === 3) return { kind: 'delete', prefix };
  throw new Error(`fib writer: ${JSON.stringify(line)} is not a route operation line`);
}

export function encodeBarrier(seq: number): string {
  checkSeq(seq);
  return `B ${seq}\n`;
}

export function encodeListRequest(seq: number, family: FibFamily): string {
  checkSeq(seq);
  return `L ${seq} ${family}\n`;
}

export type WriterReply =
  | { readonly kind: 'failed'; readonly seq: number; readonly errno: number; readonly error: string }
  | { readonly kind: 'barrier'; readonly seq: number; readonly stateKnown: boolean }
  | { readonly kind: 'route'; readonly prefix: string; readonly nextHops: readonly string[] }
  | { readonly kind: 'listed'; readonly seq: number; readonly error?: string };

function parseSeq(text: string | undefined, line: string): number {
  const seq = text !== undefined && /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(seq <= MAX_WRITER_SEQ)) throw new Error(`fib writer: bad sequence number in ${JSON.stringify(line)}`);
  return seq;
}

/** One line the writer printed (without its newline). Throws on anything the protocol lacks. */
export function parseWriterReply(line: string): WriterReply {
  const code = line[0];
  if (line[1] !== ' ' && line.length > 1)
    throw new Error(`fib writer: unexpected output ${JSON.stringify(line)}`);
  switch (code) {
    case 'R': {
      const [, prefix, ...nextHops] = line.split(' ');
      if (prefix === undefined || prefix === '')
        throw new Error(`fib writer: route line without a prefix: ${JSON.stringify(line)}`);
      return { kind: 'route', prefix, nextHops };
    }
    case 'F': {
      const m = /^F (\S+) (\d+) ?(.*)$/.exec(line);
      if (!m) throw new Error(`fib writer: malformed failure line ${JSON.stringify(line)}`);
      return { kind: 'failed', seq: parseSeq(m[1], line), errno: Number(m[2]), error: m[3] ?? '' };
    }
    case 'B': {
      const m = /^B (\S+) (ok|unknown)$/.exec(line);
      if (!m) throw new Error(`fib writer: malformed barrier line ${JSON.stringify(line)}`);
      return { kind: 'barrier', seq: parseSeq(m[1], line), stateKnown: m[2] === 'ok' };
    }
    case 'L': {
      const m = /^L (\S+) (ok|error)(?: (.*))?$/.exec(line);
      if (!m) throw new Error(`fib writer: malformed listing end ${JSON.stringify(line)}`);
      const seq = parseSeq(m[1], line);
      return m[2] === 'ok'
        ? { kind: 'listed', seq }
        : { kind: 'listed', seq, error: m[3] ?? 'unknown error' };
    }
    default:
      throw new Error(`fib writer: unexpected output ${JSON.stringify(line)}`);
  }
}

/** Cuts a byte stream into lines, keeping a partial last line for the next chunk. */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    return lines;
  }
}
