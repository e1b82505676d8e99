/**
 * calico-node's own memory as metrics, under the names prom-client's default Node metrics use
 * (Felix, in Go, exports `process_resident_memory_bytes` the same way), so one dashboard reads both
 * and bench/node-memory can ask a running daemon for its heap without attaching to it.
 */
import type { HealthSource } from './health.js';

/** The fields of `process.memoryUsage()` these metrics read. */
export type MemoryUsageReading = Pick<NodeJS.MemoryUsage, 'rss' | 'heapTotal' | 'heapUsed' | 'external'>;

export function processMemorySamples(usage: MemoryUsageReading): ReturnType<HealthSource['metrics']> {
  return [
    {
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes',
      type: 'gauge',
      value: usage.rss,
    },
    {
      name: 'nodejs_heap_size_total_bytes',
      help: 'V8 heap size reserved in bytes',
      type: 'gauge',
      value: usage.heapTotal,
    },
    {
      name: 'nodejs_heap_size_used_bytes',
      help: 'V8 heap in use in bytes',
      type: 'gauge',
      value: usage.heapUsed,
    },
    {
      name: 'nodejs_external_memory_bytes',
      help: 'Memory of C++ objects bound to JavaScript objects, in bytes',
      type: 'gauge',
      value: usage.external,
    },
  ];
}
