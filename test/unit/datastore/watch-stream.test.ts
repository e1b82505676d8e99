import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WatchEvent } from '../../../src/datastore/types.js';
import { WatchStream } from '../../../src/datastore/watch-stream.js';

const added = (n: number): WatchEvent => ({
  type: 'added',
  kv: { key: `/k${n}`, value: String(n), revision: n },
});

function makeStream(bufferLimit = 10, signal?: AbortSignal): { stream: WatchStream; ended: () => number } {
  let endings = 0;
  const stream = new WatchStream({ bufferLimit, signal, onEnd: () => endings++ });
  return { stream, ended: () => endings };
}

describe('WatchStream', () => {
  test('delivers events pushed before and after the consumer starts waiting, in order', async () => {
    const { stream } = makeStream();
    stream.push(added(1));
    const first = await stream.next();
    const waiting = stream.next();
    stream.push(added(2));
    assert.deepEqual(
      [first, await waiting],
      [
        { value: added(1), done: false },
        { value: added(2), done: false },
      ],
    );
  });

  test('exceeding the buffer limit replaces the backlog with one resync-required event', async () => {
    const { stream, ended } = makeStream(3);
    for (let n = 1; n <= 4; n++) stream.push(added(n));
    const first = await stream.next();
    assert.equal(first.value?.type, 'resync-required');
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
    assert.equal(ended(), 1);
  });

  test('stop() ends a pending read and drops buffered events; onEnd runs once', async () => {
    const { stream, ended } = makeStream();
    const pending = stream.next();
    stream.stop();
    assert.deepEqual(await pending, { value: undefined, done: true });
    stream.push(added(1));
    stream.stop();
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
    assert.equal(ended(), 1);
  });

  test('fail() rejects the pending read once, then the stream reports done', async () => {
    const { stream } = makeStream();
    const pending = stream.next();
    stream.fail(new Error('disk gone'));
    await assert.rejects(pending, /disk gone/);
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
  });

  test('aborting the signal ends the stream and a pre-aborted signal ends it at once', async () => {
    const controller = new AbortController();
    const { stream, ended } = makeStream(10, controller.signal);
    const pending = stream.next();
    controller.abort();
    assert.deepEqual(await pending, { value: undefined, done: true });
    assert.equal(ended(), 1);
    const { stream: preAborted, ended: preEnded } = makeStream(10, AbortSignal.abort());
    preAborted.push(added(1));
    assert.deepEqual(await preAborted.next(), { value: undefined, done: true });
    assert.equal(preEnded(), 1);
  });

  test('reads queued before any event arrives are answered in order', async () => {
    const { stream } = makeStream();
    const reads = [stream.next(), stream.next(), stream.next()];
    stream.push(added(1));
    stream.push(added(2));
    stream.stop();
    assert.deepEqual(await Promise.all(reads), [
      { value: added(1), done: false },
      { value: added(2), done: false },
      { value: undefined, done: true },
    ]);
  });

  test('keeps order across many buffered events (buffer compaction)', async () => {
    const { stream } = makeStream(5_000);
    for (let n = 1; n <= 3_000; n++) stream.push(added(n));
    for (let n = 1; n <= 3_000; n++) assert.deepEqual((await stream.next()).value, added(n));
  });
});
