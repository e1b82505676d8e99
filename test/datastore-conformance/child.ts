// A child process for the multi-process conformance tests: opens the store the parent names and runs
// the operations it is sent. Run with `node --import tsx child.ts` over an IPC channel.
import type { Datastore } from '../../src/datastore/types.js';
import {
  wallClockMs,
  type ChildMessage,
  type ChildOperation,
  type ChildOpener,
  type ChildOutcome,
  type ParentMessage,
} from './child-protocol.js';

let datastore: Datastore | undefined;
let armed: ChildOperation | undefined;

function send(message: ChildMessage): void {
  // After the parent has closed the channel (it gave up on a failed test), there is no one to tell.
  if (process.connected) process.send?.(message);
}

async function open(opener: ChildOpener): Promise<Datastore> {
  const module = (await import(opener.moduleUrl)) as Record<string, unknown>;
  const openStore = module[opener.exportName];
  if (typeof openStore !== 'function') {
    throw new Error(`${opener.moduleUrl} has no function export named ${opener.exportName}`);
  }
  return (await openStore(opener.argument)) as Datastore;
}

async function perform(store: Datastore, operation: ChildOperation): Promise<ChildOutcome> {
  try {
    switch (operation.kind) {
      case 'create':
        return { ok: true, revision: (await store.create(operation.key, operation.value)).revision };
      case 'create-stamped': {
        const value = JSON.stringify({ writtenAt: wallClockMs() });
        return { ok: true, revision: (await store.create(operation.key, value)).revision };
      }
      case 'update':
        return {
          ok: true,
          revision: (await store.update(operation.key, operation.value, operation.expectedRevision)).revision,
        };
      case 'delete':
        return {
          ok: true,
          revision: (await store.delete(operation.key, operation.expectedRevision)).revision,
        };
      default: {
        const unknown: never = operation;
        throw new Error(`unknown operation ${JSON.stringify(unknown)}`);
      }
    }
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    return { ok: false, errorName: e.name, message: e.message };
  }
}

async function handle(message: ParentMessage): Promise<void> {
  switch (message.type) {
    case 'open':
      datastore = await open(message.opener);
      send({ type: 'opened' });
      return;
    case 'arm':
      armed = message.operation;
      send({ type: 'armed' });
      return;
    case 'go': {
      const operation = armed;
      armed = undefined;
      if (datastore === undefined || operation === undefined) throw new Error('go before open and arm');
      send({ type: 'outcome', outcome: await perform(datastore, operation) });
      return;
    }
    case 'run':
      if (datastore === undefined) throw new Error('run before open');
      send({ type: 'outcome', outcome: await perform(datastore, message.operation) });
      return;
    case 'close':
      await datastore?.close();
      process.disconnect?.();
      return;
    default: {
      const unknown: never = message;
      throw new Error(`unknown message ${JSON.stringify(unknown)}`);
    }
  }
}

process.on('message', (message: ParentMessage) => {
  handle(message).catch((error: unknown) => {
    send({
      type: 'failed',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  });
});
