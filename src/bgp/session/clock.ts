/**
 * Time as the session edge sees it: "call me back in N ms" and "what time is it". Passed in so a
 * test can drive the session's timers by hand; production uses the system clock.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms` milliseconds; the returned function cancels the call. */
  schedule(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};
