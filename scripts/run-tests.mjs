#!/usr/bin/env node
// Runs the test suites named on the command line (unit, integration, interop) with node's own test
// runner, TypeScript loaded through tsx. Node 20's --test takes no globs, so the files are found here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function findTests(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const suites = args.filter((a) => !a.startsWith('-') && !a.includes('/'));
const explicit = args.filter((a) => a.includes('/'));
const files = [...explicit, ...suites.flatMap((s) => findTests(join('test', s)))];
if (files.length === 0) {
  console.error('run-tests: no test files found for', args.join(' '));
  process.exit(1);
}
// Integration tests share kernel state (namespaces, iptables) per test file; they run one file at a
// time. Unit tests run in parallel.
const serial = suites.some((s) => s !== 'unit') || explicit.some((f) => !f.includes('test/unit/'));
const nodeArgs = ['--import', 'tsx', '--test', '--test-reporter=spec'];
if (serial) nodeArgs.push('--test-concurrency=1');
const r = spawnSync(process.execPath, [...nodeArgs, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
