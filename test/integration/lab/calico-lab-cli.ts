/**
 * `calico-lab` as a lab test drives it: in-process (labMain), its output captured, against a
 * CALICO_LAB_DIR of the test's own so that `down --all` takes away this test's labs and no one
 * else's, and with the lab starting calico-node from the TypeScript sources (tests run through tsx,
 * there may be no dist/). `close()` takes every lab of the directory down (processes, namespaces,
 * CNI attachments), then removes the directory and the variable, even when `down` fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labMain } from '../../../src/lab/cli.js';

export interface LabRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export class CalicoLabCli {
  readonly dir: string;

  /** Makes the lab directory, named from `tmpPrefix`; call from `before()`, after the tool checks. */
  constructor(tmpPrefix: string) {
    process.env.CALICO_LAB_FROM_SOURCE = '1';
    this.dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  }

  /** The environment the lab's commands and state readers see. */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, CALICO_LAB_DIR: this.dir };
  }

  /** `calico-lab <args...>`. */
  async run(...args: string[]): Promise<LabRun> {
    let out = '';
    let err = '';
    const code = await labMain(args, { out: (t) => (out += t), err: (t) => (err += t), env: this.env() });
    return { code, out, err };
  }

  /** The network namespaces of lab `name` still present (the lab names them `cl-<name>-*`). */
  namespacesOf(name: string): string[] {
    return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((l) => l.startsWith(`cl-${name}-`));
  }

  async close(): Promise<void> {
    try {
      await this.run('down', '--all');
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
      delete process.env.CALICO_LAB_FROM_SOURCE;
    }
  }
}
