/**
 * Where this package lives, and how to start one of its programs (calico-node, calicoctl, the CNI
 * plugin) as a child process: the compiled `dist/bin/<name>.js` when it exists, else the TypeScript
 * source through tsx. One answer for code running from `src/` (tests) and from `dist/src/` (users).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The directory holding this package's package.json. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir)
      throw new Error(`cannot find this package's root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  root = dir;
  return dir;
}

export type OurProgram = 'calico-node' | 'calicoctl' | 'calico' | 'calico-ipam' | 'calico-lab';

/**
 * Node flags a program is started with, because V8 reads them only when it starts (a program cannot
 * set them for itself). The same flags are on the program's `#!` line (bin/<name>.ts), for a user
 * who runs it from the npm bin link; a unit test keeps the two equal.
 *
 * calico-node: the young generation stays at 1 MB per semi-space, where V8 grows it to 16 MB under
 * allocation pressure. A BGP table streaming in is that pressure, and the grown young generation
 * (up to 48 MB) is resident for good: bench/bgp, peak RSS of calico-node taking 100k routes
 * 124 -> 97 MB, 500k 157 -> 123 MB, with no difference in time or CPU beyond run-to-run noise.
 */
export const PROGRAM_NODE_FLAGS: Readonly<Record<OurProgram, readonly string[]>> = {
  'calico-node': ['--max-semi-space-size=1'],
  calicoctl: [],
  calico: [],
  'calico-ipam': [],
  'calico-lab': [],
};

/** argv that runs one of our programs; `fromSource` forces the tsx form even when dist/ exists. */
export function ourProgramArgv(name: OurProgram, fromSource = false): string[] {
  const flags = PROGRAM_NODE_FLAGS[name];
  const compiled = join(packageRoot(), 'dist', 'bin', `${name}.js`);
  if (!fromSource && existsSync(compiled)) return [process.execPath, ...flags, compiled];
  return [process.execPath, ...flags, '--import', 'tsx', join(packageRoot(), 'bin', `${name}.ts`)];
}

/** Path of one of our small C programs (native/<name>.c, built into dist/native/), if it was built. */
export function nativeProgram(name: string): string | undefined {
  const path = join(packageRoot(), 'dist', 'native', name);
  return existsSync(path) ? path : undefined;
}
