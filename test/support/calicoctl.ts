/**
 * Runs calicoctl in-process against a throwaway SQLite store (or, with `runCalicoctl`, any datastore
 * the environment names), capturing what it prints, so tests read like transcripts:
 * `await ctl('get', 'ippool')` → { code, out, err }.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

export interface CtlResult {
  code: number;
  out: string;
  err: string;
}

export interface CtlSandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
  ctl: (...args: string[]) => Promise<CtlResult>;
  ctlIn: (stdin: string, ...args: string[]) => Promise<CtlResult>;
  cleanup: () => void;
}

export function ctlSandbox(): CtlSandbox {
  const dir = mkdtempSync(join(tmpdir(), 'calico-ts-ctl-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    DATASTORE_TYPE: 'sqlite',
    SQLITE_PATH: join(dir, 'store.sqlite'),
    // Never read the machine's /etc/calico/calicoctl.cfg from a test.
    CALICOCTL_DEFAULT_CONFIG: join(dir, 'no-such-calicoctl.cfg'),
  };
  return {
    dir,
    env,
    ctl: (...args) => runCalicoctl(env, args),
    ctlIn: (stdin, ...args) => runCalicoctl(env, args, stdin),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs calicoctl in-process with `env` as its whole environment, capturing what it prints. */
export async function runCalicoctl(
  env: NodeJS.ProcessEnv,
  args: readonly string[],
  stdin = '',
): Promise<CtlResult> {
  let out = '';
  let err = '';
  const code = await main([...args], {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    readStdin: async () => stdin,
    env,
  });
  return { code, out, err };
}

/** Splits a printed table into rows of cells (columns are separated by runs of 2+ spaces). */
export function tableRows(out: string): string[][] {
  return out
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/ {2,}/).map((c) => c.trim()));
}

export const seedFile = (name: string): string =>
  new URL(`../../examples/seed/${name}`, import.meta.url).pathname;
