import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type {
  ChildMessage,
  ChildOpener,
  ChildOperation,
  ChildOutcome,
  ParentMessage,
} from './child-protocol.js';

/**
 * The parent's handle on one child process that holds its own connection to the store under test.
 * Replies come back in order, one per request, so a simple FIFO of waiters matches them up.
 */
export class DatastoreChild {
  private readonly waiters: Array<{ resolve: (m: ChildMessage) => void; reject: (e: Error) => void }> = [];
  private exited = false;

  private constructor(private readonly process: ChildProcess) {
    process.on('message', (message: ChildMessage) => {
      const waiter = this.waiters.shift();
      if (message.type === 'failed') waiter?.reject(new Error(`datastore child failed: ${message.message}`));
      else waiter?.resolve(message);
    });
    process.on('exit', (code, signal) => {
      this.exited = true;
      for (const waiter of this.waiters.splice(0)) {
        waiter.reject(new Error(`datastore child exited (code ${code}, signal ${signal}) before replying`));
      }
    });
  }

  static async spawn(opener: ChildOpener): Promise<DatastoreChild> {
    const script = fileURLToPath(new URL('./child.ts', import.meta.url));
    const child = new DatastoreChild(
      fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    await child.request({ type: 'open', opener }, 'opened');
    return child;
  }

  async arm(operation: ChildOperation): Promise<void> {
    await this.request({ type: 'arm', operation }, 'armed');
  }

  async go(): Promise<ChildOutcome> {
    return this.outcomeOf(await this.request({ type: 'go' }, 'outcome'));
  }

  async run(operation: ChildOperation): Promise<ChildOutcome> {
    return this.outcomeOf(await this.request({ type: 'run', operation }, 'outcome'));
  }

  /** Asks the child to close its store and exit; kills it if it has not gone within a few seconds. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.process.send({ type: 'close' } satisfies ParentMessage);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  private request(message: ParentMessage, expected: ChildMessage['type']): Promise<ChildMessage> {
    if (this.exited) return Promise.reject(new Error('datastore child has exited'));
    return new Promise<ChildMessage>((resolve, reject) => {
      this.waiters.push({
        resolve: (reply) =>
          reply.type === expected
            ? resolve(reply)
            : reject(new Error(`datastore child answered ${reply.type}, expected ${expected}`)),
        reject,
      });
      this.process.send(message);
    });
  }

  private outcomeOf(reply: ChildMessage): ChildOutcome {
    if (reply.type !== 'outcome') throw new Error(`datastore child answered ${reply.type}, expected outcome`);
    return reply.outcome;
  }
}

/** Arms every child with its operation, waits until all are ready, then releases them together. */
export async function raceChildren(
  entries: ReadonlyArray<{ child: DatastoreChild; operation: ChildOperation }>,
): Promise<ChildOutcome[]> {
  await Promise.all(entries.map(({ child, operation }) => child.arm(operation)));
  return Promise.all(entries.map(({ child }) => child.go()));
}
