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

/** argv that runs one of our programs; `fromSource` forces the tsx form even when dist/ exists. */
export function ourProgramArgv(name: OurProgram, fromSource = false): string[] {
  const compiled = join(packageRoot(), 'dist', 'bin', `${name}.js`);
  if (!fromSource && existsSync(compiled)) return [process.execPath, compiled];
  return [process.execPath, '--import', 'tsx', join(packageRoot(), 'bin', `${name}.ts`)];
}

/** Path of one of our small C programs (native/<name>.c, built into dist/native/), if it was built. */
export function nativeProgram(name: string): string | undefined {
  const path = join(packageRoot(), 'dist', 'native', name);
  return existsSync(path) ? path : undefined;
}
