import type { WatchEvent } from '../../src/datastore/types.js';

/**
 * Reading a watch in tests without hanging forever: each read has a deadline, generous enough for a
 * loaded machine, so a missing event fails the test with a message instead of stalling the run.
 */
export const EVENT_DEADLINE_MS = 5_000;

export async function nextEvent(
  watch: AsyncIterator<WatchEvent>,
  deadlineMs = EVENT_DEADLINE_MS,
): Promise<IteratorResult<WatchEvent>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no watch event within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    return await Promise.race([watch.next(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads exactly `count` events; fails if the watch ends or stalls first. */
export async function readEvents(watch: AsyncIterator<WatchEvent>, count: number): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  while (events.length < count) {
    const result = await nextEvent(watch);
    if (result.done) throw new Error(`watch ended after ${events.length} of ${count} events`);
    events.push(result.value);
  }
  return events;
}

/** A compact, comparable form of an event: `added /k r5 = v`. */
export function describeEvent(event: WatchEvent): string {
  switch (event.type) {
    case 'added':
      return `added ${event.kv.key} r${event.kv.revision} = ${event.kv.value}`;
    case 'modified':
      return `modified ${event.kv.key} r${event.kv.revision} = ${event.kv.value} (was r${event.prev?.revision} = ${event.prev?.value})`;
    case 'deleted':
      return `deleted ${event.key} r${event.revision} (was r${event.prev?.revision} = ${event.prev?.value})`;
    case 'resync-required':
      return 'resync-required';
    default: {
      const unknown: never = event;
      return `unknown ${JSON.stringify(unknown)}`;
    }
  }
}
