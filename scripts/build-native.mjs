#!/usr/bin/env node
/**
 * Compiles the small C programs under native/ (one `<name>.c` each) into dist/native/<name>.
 *
 * Why C at all: two jobs are bounded by what a Node process cannot do cheaply. Writing hundreds of
 * thousands of routes needs rtnetlink (Node has no AF_NETLINK sockets; `ip -batch` waits for an
 * acknowledgement per route), and a CNI plugin is started once per container, where Node's own
 * start-up (~30 ms) is longer than the whole job. Everything else, and all the logic, stays in
 * TypeScript; these programs are thin and have a TypeScript fallback where they are missing.
 *
 * Uses `cc` (Debian's build-essential, already needed to compile better-sqlite3). A file that fails
 * to compile stops the build with the compiler's message.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = join(root, 'native');
const outDir = join(root, 'dist', 'native');
mkdirSync(outDir, { recursive: true });

const sources = readdirSync(sourceDir).filter((f) => f.endsWith('.c'));
for (const file of sources) {
  const name = file.slice(0, -2);
  const src = join(sourceDir, file);
  const out = join(outDir, name);
  let fresh = false;
  try {
    fresh = statSync(out).mtimeMs >= statSync(src).mtimeMs;
  } catch {
    fresh = false;
  }
  if (fresh) continue;
  const cc = process.env.CC ?? 'cc';
  const args = ['-O2', '-Wall', '-Wextra', '-Werror', '-std=gnu11', '-o', out, src];
  const r = spawnSync(cc, args, { stdio: 'inherit' });
  if (r.error) {
    console.error(`build-native: cannot run ${cc} (${r.error.message}); install build-essential`);
    process.exit(1);
  }
  if (r.status !== 0) {
    console.error(`build-native: ${cc} ${args.join(' ')} failed (exit ${r.status})`);
    process.exit(1);
  }
  console.log(`build-native: ${file} → dist/native/${name}`);
}
