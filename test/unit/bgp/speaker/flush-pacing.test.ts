// Within a burst of received UPDATEs the speaker flushes the RIB at most every
// FLUSH_WITHIN_BURST_MS; outside one, at the end of every turn.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FLUSH_WITHIN_BURST_MS, flushDue } from '../../../../src/bgp/speaker/flush-pacing.js';

describe('flushDue', () => {
  const cases: { name: string; receiving: boolean; msSinceLastFlush: number; due: boolean }[] = [
    { name: 'no burst, just flushed: flush now', receiving: false, msSinceLastFlush: 0, due: true },
    { name: 'no burst, long ago: flush now', receiving: false, msSinceLastFlush: 5_000, due: true },
    { name: 'in a burst, just flushed: wait', receiving: true, msSinceLastFlush: 0, due: false },
    {
      name: 'in a burst, one ms short of the interval: wait',
      receiving: true,
      msSinceLastFlush: FLUSH_WITHIN_BURST_MS - 1,
      due: false,
    },
    {
      name: 'in a burst, the interval passed: flush',
      receiving: true,
      msSinceLastFlush: FLUSH_WITHIN_BURST_MS,
      due: true,
    },
    {
      name: 'in a burst, never flushed (clock far from 0): flush',
      receiving: true,
      msSinceLastFlush: 1.7e12,
      due: true,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(flushDue({ receiving: c.receiving, msSinceLastFlush: c.msSinceLastFlush }), c.due);
    });
  }

  test('the interval can be given', () => {
    assert.equal(flushDue({ receiving: true, msSinceLastFlush: 30 }, 20), true);
    assert.equal(flushDue({ receiving: true, msSinceLastFlush: 30 }, 50), false);
  });
});
