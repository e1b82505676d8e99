/**
 * The wire format between the native CNI shim (native/calico-cni-shim.c, installed as the `calico`
 * and `calico-ipam` executables) and calico-node's CNI server (server.ts). Why a shim at all: a CNI
 * call is a process start, and a Node process costs more to start than the reference plugins spend
 * on the whole call, so the executable a runtime starts is a small C program that hands the call
 * to the long-lived calico-node on the same host (as Cilium's and Multus' thick plugins do).
 *
 * Kept trivial on purpose, so the C side is a few lines and cannot drift: a message is a 4-byte
 * magic, then exactly three fields, each a 4-byte big-endian length and that many bytes.
 *
 *   request  "CNI1"  plugin (`calico` | `calico-ipam`) | environment (`KEY=VALUE`, each ended by NUL) | stdin
 *   reply    "CNR1"  exit code (decimal ASCII)                       | stdout                        | stderr
 *
 * One request and one reply per connection: the shim writes the request, the server writes the
 * reply and closes. A field longer than MAX_FIELD_BYTES is refused (a network configuration is a
 * few kilobytes; a bigger field is a bug or an attack on a root daemon's memory).
 */

export const REQUEST_MAGIC = 'CNI1';
export const REPLY_MAGIC = 'CNR1';
export const MAX_FIELD_BYTES = 4 * 1024 * 1024;
const FIELDS = 3;

export type ShimPlugin = 'calico' | 'calico-ipam';

export interface ShimRequest {
  readonly plugin: ShimPlugin;
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string;
}

export interface ShimReply {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type FrameProblem = 'bad-magic' | 'oversize' | 'bad-field' | 'trailing-bytes';

export class ShimFrameError extends Error {
  constructor(
    readonly problem: FrameProblem,
    message: string,
  ) {
    super(message);
    this.name = 'ShimFrameError';
  }
}

function encodeFrame(magic: string, fields: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(magic, 'latin1')];
  for (const f of fields) {
    if (f.length > MAX_FIELD_BYTES)
      throw new ShimFrameError('oversize', `a field of ${f.length} bytes exceeds ${MAX_FIELD_BYTES}`);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(f.length);
    parts.push(len, f);
  }
  return Buffer.concat(parts);
}

/**
 * The fields of one frame at the start of `buf`, with the bytes consumed, or `undefined` while more
 * bytes are needed. Throws as soon as the bytes seen cannot begin a valid frame, so a reader never
 * buffers a huge bogus message before refusing it.
 */
function decodeFrame(buf: Buffer, magic: string): { fields: Buffer[]; consumed: number } | undefined {
  const seenMagic = buf.subarray(0, Math.min(4, buf.length)).toString('latin1');
  if (seenMagic !== magic.slice(0, seenMagic.length))
    throw new ShimFrameError(
      'bad-magic',
      `expected a message starting "${magic}", got ${JSON.stringify(seenMagic)}`,
    );
  let at = 4;
  const fields: Buffer[] = [];
  for (let i = 0; i < FIELDS; i++) {
    if (buf.length < at + 4) return undefined;
    const len = buf.readUInt32BE(at);
    if (len > MAX_FIELD_BYTES)
      throw new ShimFrameError(
        'oversize',
        `field ${i + 1} announces ${len} bytes, more than ${MAX_FIELD_BYTES}`,
      );
    at += 4;
    if (buf.length < at + len) return undefined;
    fields.push(buf.subarray(at, at + len));
    at += len;
  }
  return { fields, consumed: at };
}

export function encodeRequest(r: ShimRequest): Buffer {
  const env = Object.entries(r.env)
    .map(([k, v]) => `${k}=${v}\0`)
    .join('');
  return encodeFrame(REQUEST_MAGIC, [Buffer.from(r.plugin), Buffer.from(env), Buffer.from(r.stdin)]);
}

function parsePlugin(text: string): ShimPlugin {
  if (text === 'calico' || text === 'calico-ipam') return text;
  throw new ShimFrameError('bad-field', `unknown plugin ${JSON.stringify(text)} (calico or calico-ipam)`);
}

function parseEnvironment(block: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of block.split('\0')) {
    if (!entry) continue;
    const eq = entry.indexOf('=');
    if (eq <= 0)
      throw new ShimFrameError('bad-field', `environment entry ${JSON.stringify(entry)} is not KEY=VALUE`);
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** A complete request from the bytes received so far, or `undefined` if it is not all there yet. */
export function decodeRequest(buf: Buffer): ShimRequest | undefined {
  const frame = decodeFrame(buf, REQUEST_MAGIC);
  if (!frame) return undefined;
  if (frame.consumed !== buf.length)
    throw new ShimFrameError('trailing-bytes', `${buf.length - frame.consumed} bytes follow the request`);
  const [plugin, env, stdin] = frame.fields as [Buffer, Buffer, Buffer];
  return {
    plugin: parsePlugin(plugin.toString('utf8')),
    env: parseEnvironment(env.toString('utf8')),
    stdin: stdin.toString('utf8'),
  };
}

export function encodeReply(r: ShimReply): Buffer {
  return encodeFrame(REPLY_MAGIC, [
    Buffer.from(String(r.exitCode)),
    Buffer.from(r.stdout),
    Buffer.from(r.stderr),
  ]);
}

/** The reply, or `undefined` if incomplete (the shim treats a connection that ends there as a failure). */
export function decodeReply(buf: Buffer): ShimReply | undefined {
  const frame = decodeFrame(buf, REPLY_MAGIC);
  if (!frame) return undefined;
  if (frame.consumed !== buf.length)
    throw new ShimFrameError('trailing-bytes', `${buf.length - frame.consumed} bytes follow the reply`);
  const [code, stdout, stderr] = frame.fields as [Buffer, Buffer, Buffer];
  const text = code.toString('latin1');
  if (!/^\d{1,3}$/.test(text) || Number(text) > 255)
    throw new ShimFrameError('bad-field', `exit code ${JSON.stringify(text)} is not 0-255`);
  return { exitCode: Number(text), stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') };
}
