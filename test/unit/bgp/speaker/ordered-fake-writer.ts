/**
 * A route writer that keeps order, as the calico-fib-writer coprocess does, over an in-memory
 * table. Writes are answered in order: each one turn of the event loop after it was made, or, with
 * `msPerWrite`, one after the other that many milliseconds apart (a kernel slower than the peer).
 * The size of every write and the most writes ever waiting for an answer are recorded.
 */
import type { FibFamily, RouteOp, RouteWriteResult, RouteWriter } from '../../../../src/bgp/fib/index.js';

export class OrderedFakeWriter implements RouteWriter {
  readonly kind = 'netlink';
  readonly ordered = true;
  readonly routes = new Map<string, readonly string[]>();
  /** Operations per write, in the order the writes were made. */
  readonly writes: number[] = [];
  /** The most writes unanswered at one time. */
  maxInFlight = 0;
  private inFlight = 0;
  /** When the last write made is answered (answers come in order). */
  private lastAnswer: Promise<void> = Promise.resolve();

  constructor(private readonly msPerWrite?: number) {}

  readRoutes(family: FibFamily): Promise<Map<string, readonly string[]>> {
    return Promise.resolve(new Map([...this.routes].filter(([p]) => p.includes(':') === (family === 6))));
  }

  write(ops: readonly RouteOp[]): Promise<RouteWriteResult> {
    this.writes.push(ops.length);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const delay = this.msPerWrite;
    const answered = this.lastAnswer.then(
      () =>
        new Promise<void>((resolve) =>
          delay === undefined ? setImmediate(resolve) : setTimeout(resolve, delay),
        ),
    );
    this.lastAnswer = answered;
    return answered.then(() => {
      for (const op of ops) {
        if (op.kind === 'delete') this.routes.delete(op.prefix);
        else this.routes.set(op.prefix, op.nextHops);
      }
      this.inFlight--;
      return { failed: [] };
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
