/**
 * calico-node's own memory on /metrics, under prom-client's default names.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMetrics } from '../../../src/node/health.js';
import { processMemorySamples } from '../../../src/node/process-metrics.js';

describe('process memory metrics', () => {
  const usage = { rss: 64_000_000, heapTotal: 14_000_000, heapUsed: 11_500_000, external: 2_100_000 };
  const TABLE = [
    { name: 'process_resident_memory_bytes', value: 64_000_000 },
    { name: 'nodejs_heap_size_total_bytes', value: 14_000_000 },
    { name: 'nodejs_heap_size_used_bytes', value: 11_500_000 },
    { name: 'nodejs_external_memory_bytes', value: 2_100_000 },
  ];
  const text = renderMetrics({ ready: () => true, metrics: () => processMemorySamples(usage) });
  for (const row of TABLE) {
    test(`${row.name} is a gauge of ${row.value}`, () => {
      assert.match(text, new RegExp(`^# TYPE ${row.name} gauge$`, 'm'));
      assert.match(text, new RegExp(`^${row.name} ${row.value}$`, 'm'));
    });
  }
});
