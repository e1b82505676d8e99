/**
 * The rtnetlink route writer: a long-lived calico-fib-writer coprocess (native/calico-fib-writer.c)
 * fed operations on its stdin, answering on its stdout (protocol: fib-writer-protocol.ts).
 *
 * Why a coprocess and not `ip -batch`: ip sends one route and waits for its acknowledgement before
 * it parses the next line, ~20 us a route; the coprocess packs thousands of routes into each
 * sendmsg and reads the acknowledgements in bulk, so a full table costs what the kernel itself
 * needs. Why not netlink from Node: Node has no AF_NETLINK sockets.
 *
 * A write sends its operations and a barrier, and resolves when the barrier is answered, with the
 * operations the kernel refused. If the coprocess dies (or stops answering), every write in flight
 * resolves as `unknown` (the caller reads the kernel back), and the next call starts a new one,
 * after a backoff that doubles with each death in a row so a crashing binary cannot spin. A death
 * with nothing in flight is reported as `unknown` by the next write, so a restart always ends in a
 * full sync.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Logger } from '../../log.js';
import { canonicalPrefix, normalizeNextHops, type FibFamily } from './canonical-route-text.js';
import {
  LineSplitter,
  MAX_WRITER_SEQ,
  encodeBarrier,
  encodeListRequest,
  decodeRouteOpLine,
  encodeRouteOp,
  parseWriterReply,
  type WriterReply,
} from './fib-writer-protocol.js';
import type { RouteOp, RouteOpFailure, RouteWriteResult, RouteWriter } from './route-writer.js';

export interface NetlinkRouteWriterOptions {
  /** argv that starts the coprocess, e.g. [path] or ['ip', 'netns', 'exec', ns, path]. */
  readonly command: readonly string[];
  readonly log: Pick<Logger, 'info' | 'warn'>;
  /** First restart delay after a death; doubles per death in a row up to `maxRestartDelayMs`. */
  readonly minRestartDelayMs?: number;
  readonly maxRestartDelayMs?: number;
  /** A write gets this long plus `answerMsPerOp` per operation before the coprocess is presumed hung. */
  readonly answerTimeoutMs?: number;
  readonly answerMsPerOp?: number;
}

/**
 * A write waiting for its barrier. It keeps the text it sent, not the operations: a table
 * streaming in has tens of thousands of operations in flight, and their objects (with their
 * prefix strings) outlived V8's young generation only to be collected later by a full GC. A
 * refusal, which is rare, finds its operation by parsing its line back.
 */
interface PendingWrite {
  readonly firstSeq: number;
  readonly count: number;
  readonly text: string;
  lines?: readonly string[];
  readonly failed: RouteOpFailure[];
  readonly resolve: (r: RouteWriteResult) => void;
  readonly timer: NodeJS.Timeout;
}

interface PendingList {
  readonly seq: number;
  readonly routes: Map<string, readonly string[]>;
  readonly resolve: (routes: Map<string, readonly string[]>) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const STDERR_TAIL = 2000;

/** The lines of a write: its operations numbered from `firstSeq`, then the barrier. */
function encodeWrite(firstSeq: number, ops: readonly RouteOp[]): string {
  const parts: string[] = new Array<string>(ops.length + 1);
  for (let i = 0; i < ops.length; i++) parts[i] = encodeRouteOp(firstSeq + i, ops[i] as RouteOp);
  parts[ops.length] = encodeBarrier(firstSeq + ops.length);
  return parts.join('');
}

export class NetlinkRouteWriter implements RouteWriter {
  readonly kind = 'netlink' as const;
  /** One stdin stream, read in order by one process. */
  readonly ordered = true;
  private child: ChildProcessWithoutNullStreams | undefined;
  private childStderr = '';
  private nextSeq = 1;
  private readonly writes = new Map<number, PendingWrite>();
  private readonly lists: PendingList[] = [];
  private deathsInARow = 0;
  private lastDeathAt = 0;
  private closed = false;
  private starting: Promise<ChildProcessWithoutNullStreams | undefined> | undefined;
  /** Why the last coprocess died, until a write has reported it (the kernel may have moved meanwhile). */
  private unreportedDeath: string | undefined;
  /** Starts so far, for tests and logs. */
  starts = 0;

  constructor(private readonly opts: NetlinkRouteWriterOptions) {}

  /** The pid of the running coprocess, if one runs (for tests that kill it). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  write(ops: readonly RouteOp[]): Promise<RouteWriteResult> {
    if (ops.length === 0) return Promise.resolve({ failed: [] });
    // Handed over at once when the coprocess runs: the speaker writes while a table streams in,
    // within one turn of the event loop, so there must be no await before the pipe write.
    if (this.child !== undefined) return this.send(this.child, ops);
    return this.running().then((child) =>
      child === undefined ? { failed: [], unknown: 'calico-fib-writer is closed' } : this.send(child, ops),
    );
  }

  private send(child: ChildProcessWithoutNullStreams, ops: readonly RouteOp[]): Promise<RouteWriteResult> {
    const count = ops.length;
    const firstSeq = this.allocateSeqs(count + 1);
    // No closure in this function: one that mentioned `ops` would keep the operations alive (V8
    // keeps a function's captured variables in one context shared by all its closures) until the
    // answer, which is what PendingWrite is there to avoid.
    return this.awaitBarrier(child, firstSeq, count, encodeWrite(firstSeq, ops));
  }

  private awaitBarrier(
    child: ChildProcessWithoutNullStreams,
    firstSeq: number,
    count: number,
    text: string,
  ): Promise<RouteWriteResult> {
    const barrier = firstSeq + count;
    const restarted = this.unreportedDeath;
    this.unreportedDeath = undefined;
    return new Promise<RouteWriteResult>((resolve) => {
      const timer = setTimeout(
        () => this.presumeHung(`no answer for ${count} route operations`),
        this.answerTimeout(count),
      );
      this.writes.set(barrier, {
        firstSeq,
        count,
        text,
        failed: [],
        resolve: (r) =>
          resolve(
            restarted !== undefined && r.unknown === undefined
              ? { ...r, unknown: `restarted: ${restarted}` }
              : r,
          ),
        timer,
      });
      child.stdin.write(text);
    });
  }

  async readRoutes(family: FibFamily): Promise<Map<string, readonly string[]>> {
    const child = this.child ?? (await this.running());
    if (child === undefined) throw new Error('calico-fib-writer is closed');
    const seq = this.allocateSeqs(1);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.presumeHung('no end of a route listing'), this.answerTimeout(0));
      this.lists.push({ seq, routes: new Map(), resolve, reject, timer });
      child.stdin.write(encodeListRequest(seq, family));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (child === undefined) return;
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    child.stdin.end();
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(kill);
  }

  private answerTimeout(ops: number): number {
    return (this.opts.answerTimeoutMs ?? 30_000) + ops * (this.opts.answerMsPerOp ?? 0.05);
  }

  private allocateSeqs(n: number): number {
    if (this.nextSeq + n > MAX_WRITER_SEQ) this.nextSeq = 1;
    const first = this.nextSeq;
    this.nextSeq += n;
    return first;
  }

  /**
   * The live coprocess, started (after the backoff, if it died lately) when there is none. Callers
   * waiting for one start share it and resume in call order, so their writes keep their order.
   */
  private running(): Promise<ChildProcessWithoutNullStreams | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    if (this.child !== undefined) return Promise.resolve(this.child);
    this.starting ??= this.startAfterBackoff().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async startAfterBackoff(): Promise<ChildProcessWithoutNullStreams | undefined> {
    if (this.deathsInARow > 0) {
      const min = this.opts.minRestartDelayMs ?? 200;
      const max = this.opts.maxRestartDelayMs ?? 10_000;
      const delay = Math.min(max, min * 2 ** (this.deathsInARow - 1));
      const wait = this.lastDeathAt + delay - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (this.closed) return undefined;
      if (this.child !== undefined) return this.child;
    }
    return this.start();
  }

  private start(): ChildProcessWithoutNullStreams {
    const [file, ...args] = this.opts.command;
    if (file === undefined) throw new Error('NetlinkRouteWriter: empty command');
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.childStderr = '';
    this.starts++;
    if (this.starts > 1)
      this.opts.log.info(
        { pid: child.pid, starts: this.starts },
        'calico-fib-writer restarted; the FIB reads the kernel back',
      );
    const lines = new LineSplitter();
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (this.child !== child) return;
      for (const line of lines.push(chunk)) {
        let reply: WriterReply;
        try {
          reply = parseWriterReply(line);
        } catch (e) {
          this.presumeHung((e as Error).message);
          return;
        }
        this.onReply(reply);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.childStderr = (this.childStderr + chunk).slice(-STDERR_TAIL);
    });
    // EPIPE after the process died: the exit handler reports it.
    child.stdin.on('error', () => undefined);
    let gone = false;
    const onGone = (why: string) => {
      if (gone) return;
      gone = true;
      this.onDeath(child, why);
    };
    child.on('error', (e) => onGone(`could not run ${file}: ${e.message}`));
    // 'close', not 'exit': the answers it printed before dying are read first.
    child.on('close', (code, signal) => onGone(signal ? `killed by ${signal}` : `exited with code ${code}`));
    return child;
  }

  private onReply(reply: WriterReply): void {
    switch (reply.kind) {
      case 'failed': {
        for (const w of this.writes.values()) {
          const index = reply.seq - w.firstSeq;
          if (index < 0 || index >= w.count) continue;
          w.lines ??= w.text.split('\n');
          const op = decodeRouteOpLine(w.lines[index] as string);
          w.failed.push({ op, errno: reply.errno, error: reply.error });
          return;
        }
        return;
      }
      case 'barrier': {
        const w = this.writes.get(reply.seq);
        if (w === undefined) return;
        this.writes.delete(reply.seq);
        clearTimeout(w.timer);
        this.deathsInARow = 0;
        w.resolve(
          reply.stateKnown
            ? { failed: w.failed }
            : {
                failed: w.failed,
                unknown: 'calico-fib-writer lost kernel answers (ENOBUFS or a failed send)',
              },
        );
        return;
      }
      case 'route': {
        const list = this.lists[0];
        if (list !== undefined)
          list.routes.set(canonicalPrefix(reply.prefix), normalizeNextHops(reply.nextHops));
        return;
      }
      case 'listed': {
        const list = this.lists.shift();
        if (list === undefined) return;
        clearTimeout(list.timer);
        if (reply.seq !== list.seq || reply.error !== undefined)
          list.reject(new Error(`calico-fib-writer could not list routes: ${reply.error ?? 'out of order'}`));
        else list.resolve(list.routes);
        return;
      }
      default: {
        const never: never = reply;
        throw new Error(`unhandled writer reply ${JSON.stringify(never)}`);
      }
    }
  }

  /** A coprocess that talks nonsense or stops answering is killed; its exit resolves the waiters. */
  private presumeHung(why: string): void {
    const child = this.child;
    if (child === undefined) return;
    this.opts.log.warn({ pid: child.pid, reason: why }, 'calico-fib-writer misbehaves: killing it');
    this.childStderr += `\n(${why})`;
    child.kill('SIGKILL');
  }

  private onDeath(child: ChildProcessWithoutNullStreams, why: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    const detail = this.childStderr.trim();
    const reason = `calico-fib-writer ${why}${detail ? `: ${detail}` : ''}`;
    if (!this.closed) {
      this.deathsInARow++;
      this.lastDeathAt = Date.now();
      this.opts.log.warn({ reason, deathsInARow: this.deathsInARow }, 'calico-fib-writer stopped');
      // Nothing in flight lost: still, the next write says so, and the FIB reads the kernel back.
      if (this.writes.size === 0) this.unreportedDeath = reason;
    }
    for (const w of this.writes.values()) {
      clearTimeout(w.timer);
      w.resolve({ failed: w.failed, unknown: reason });
    }
    this.writes.clear();
    for (const list of this.lists.splice(0)) {
      clearTimeout(list.timer);
      list.reject(new Error(reason));
    }
  }
}
