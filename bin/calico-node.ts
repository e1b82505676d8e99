#!/usr/bin/env -S node --max-semi-space-size=1
import { setFlagsFromString } from 'node:v8';
import { runCalicoNode } from '../src/node/main.js';

// The old generation may grow to 1.2x what the last full GC kept (V8's default is up to 4x for a
// heap of our size). While a BGP peer sends a full table the speaker promotes short-lived route
// objects faster than V8 decides to collect them: at 500k prefixes the heap reached ~3x its live
// set (peak RSS 245 MB for ~40 MB of routes; bench/bgp-memory: table growth 120 -> 64 MB). The
// price is more frequent full GCs, mostly concurrent: ~5-10% more CPU during a table transfer
// (bench/bgp), nothing measurable at rest. Set here, for every user, and read by V8 at each GC, so
// setting it after start-up takes effect. Pass --heap-growing-percent on the command line to override.
const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
if (!given.includes('--heap-growing-percent')) {
  setFlagsFromString('--heap-growing-percent=20');
}

process.exitCode = await runCalicoNode(process.argv.slice(2));
