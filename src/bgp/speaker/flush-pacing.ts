/**
 * When the speaker flushes the RIB (sends UPDATEs, hands Loc-RIB changes to the FIB) while a
 * session is still taking a burst of UPDATEs.
 *
 * The session handles received messages in turns of about 10 ms. Flushing after every turn made
 * a cold calico-node taking a 10k table do the FIB's work for each few hundred routes in between
 * (half of the CPU before the last route was in the RIB: RIB settle, next-hop lists, FIB keys and
 * writes), so the table reached the RIB at about twice the time of the decoding alone, and the
 * kernel no sooner. Within a burst the flush waits FLUSH_WITHIN_BURST_MS after the last one: a
 * 10k table (about 100 ms of handling) goes to the FIB in one or two batches, a 500k one still
 * streams to the FIB writer every 100 ms so the kernel fills beside the stream. Once no session
 * has messages waiting, the flush runs at the end of the turn as before.
 */
export const FLUSH_WITHIN_BURST_MS = 100;

/** Whether a flush queued for this turn should run now (else it waits for the session's next turn). */
export function flushDue(
  burst: { readonly receiving: boolean; readonly msSinceLastFlush: number },
  withinBurstMs = FLUSH_WITHIN_BURST_MS,
): boolean {
  return !burst.receiving || burst.msSinceLastFlush >= withinBurstMs;
}
