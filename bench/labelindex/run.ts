/**
 * Label index benchmark (issue 4): 10,000 endpoints × 1,000 selectors.
 * Measures the full build (all selectors, then all endpoints) and the time to apply one endpoint's
 * label change (median and p99 over many changes). Targets: build < 2 s, change < 1 ms median.
 * Run: node --import tsx bench/labelindex/run.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { LabelIndex, parseSelector, type Selector } from '../../src/selector/index.js';

const ENDPOINTS = 10_000;
const SELECTORS = 1_000;
const CHANGES = 5_000;
const APPS = 200;
const NAMESPACES = 50;

/** Deterministic PRNG (mulberry32) so runs are comparable. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(42);
const pick = (n: number): number => Math.floor(rand() * n);

function endpointLabels(i: number): Record<string, string> {
  return {
    app: `app-${pick(APPS)}`,
    'projectcalico.org/namespace': `ns-${pick(NAMESPACES)}`,
    tier: ['frontend', 'backend', 'data'][pick(3)] as string,
    env: rand() < 0.5 ? 'prod' : 'dev',
    version: `v${pick(5)}`,
    ...(i % 10 === 0 ? { monitored: 'true' } : {}),
  };
}

/** A realistic mix: mostly app/namespace equality (policy selectors), some sets, some unanchored. */
function selectorText(i: number): string {
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
      return `app == "app-${pick(APPS)}"`;
    case 3:
      return `app == "app-${pick(APPS)}" && tier == "backend"`;
    case 4:
      return `projectcalico.org/namespace == "ns-${pick(NAMESPACES)}" && env == "prod"`;
    case 5:
      return `app in {"app-${pick(APPS)}", "app-${pick(APPS)}", "app-${pick(APPS)}"}`;
    case 6:
      return `projectcalico.org/namespace == "ns-${pick(NAMESPACES)}" && version != "v${pick(5)}"`;
    case 7:
      return `(app == "app-${pick(APPS)}" || app == "app-${pick(APPS)}") && has(monitored)`;
    case 8:
      return `tier == "data" && app starts with "app-${pick(10)}"`;
    default:
      // Unanchored selectors: evaluated against every endpoint.
      return i % 20 === 9
        ? `!has(monitored) && version == "v${pick(5)}"`
        : `env != "prod" && app == "app-${i}"`;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

let events = 0;
const index = new LabelIndex(() => {
  events++;
});
const selectors: Selector[] = Array.from({ length: SELECTORS }, (_, i) => parseSelector(selectorText(i)));
const labels = Array.from({ length: ENDPOINTS }, (_, i) => endpointLabels(i));

const buildStart = performance.now();
selectors.forEach((s, i) => index.updateSelector(`sel-${i}`, s));
labels.forEach((l, i) => index.updateItem(`ep-${i}`, l));
const buildMs = performance.now() - buildStart;
const buildEvents = events;

// One endpoint's label change: a new app label (the common relabel), sometimes a new tier.
const changeTimes: number[] = [];
for (let n = 0; n < CHANGES; n++) {
  const i = pick(ENDPOINTS);
  const next: Record<string, string> = { ...labels[i], app: `app-${pick(APPS)}` };
  if (n % 4 === 0) next.tier = ['frontend', 'backend', 'data'][pick(3)] as string;
  labels[i] = next;
  const t0 = performance.now();
  index.updateItem(`ep-${i}`, next);
  changeTimes.push(performance.now() - t0);
}
changeTimes.sort((a, b) => a - b);

// Baseline for the ratio: what the same change costs without the index (every selector re-checked).
const naiveTimes: number[] = [];
for (let n = 0; n < 1000; n++) {
  const l = labels[pick(ENDPOINTS)] as Record<string, string>;
  const t0 = performance.now();
  for (const s of selectors) s.evaluate(l);
  naiveTimes.push(performance.now() - t0);
}
naiveTimes.sort((a, b) => a - b);
const medianMs = percentile(changeTimes, 50);
const p99Ms = percentile(changeTimes, 99);

const results = {
  endpoints: ENDPOINTS,
  selectors: SELECTORS,
  buildMs: Number(buildMs.toFixed(1)),
  buildMatches: buildEvents,
  labelChanges: CHANGES,
  labelChangeMedianMs: Number(medianMs.toFixed(4)),
  labelChangeP99Ms: Number(p99Ms.toFixed(4)),
  naiveChangeMedianMs: Number(percentile(naiveTimes, 50).toFixed(4)),
  speedupOverNaive: Number((percentile(naiveTimes, 50) / medianMs).toFixed(1)),
  targets: { buildMs: 2000, labelChangeMedianMs: 1 },
  meetsTargets: buildMs < 2000 && medianMs < 1,
  node: process.version,
  date: new Date().toISOString(),
};

console.log('label index: %d endpoints x %d selectors', ENDPOINTS, SELECTORS);
console.table({
  'full build': { ms: results.buildMs, target: '< 2000 ms', matches: buildEvents },
  'label change (median)': { ms: results.labelChangeMedianMs, target: '< 1 ms', matches: '' },
  'label change (p99)': { ms: results.labelChangeP99Ms, target: '', matches: '' },
  'naive change (median)': {
    ms: results.naiveChangeMedianMs,
    target: `index ${results.speedupOverNaive}x faster`,
    matches: '',
  },
});
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/labelindex.json', `${JSON.stringify(results, null, 2)}\n`);
console.log('wrote bench/results/labelindex.json');
