/**
 * Collects a diagnostics bundle (the plan is diags-plan.ts) into a fresh temporary directory and packs
 * it with the system `tar`. A command that fails or is not installed does not stop the collection:
 * its file holds the error, and summary.txt lists every command with its exit code, so a bundle from
 * a broken host is still a bundle.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource, ResourceKind } from '../../api/types.js';
import { runChecked, type CommandRunner } from '../../kernel/runner.js';
import { bundleName, DIAGS_COMMANDS, DIAGS_KINDS, resourceDocuments } from './diags-plan.js';

export interface DiagsDeps {
  readonly runner: CommandRunner;
  readonly nodeName: string;
  /** calico-node's log directory (copied whole); a missing one is noted, not fatal. */
  readonly logDir: string;
  /** Where the tarball goes; default: the temporary directory the bundle was built in. */
  readonly destDir?: string;
  readonly listResources: (kind: ResourceKind) => Promise<readonly Resource[]>;
  readonly now: () => Date;
  readonly print: (line: string) => void;
}

export async function collectDiags(deps: DiagsDeps): Promise<string> {
  const { runner, print } = deps;
  print('Collecting diagnostics');
  const tmp = mkdtempSync(join(tmpdir(), 'calico-diags-'));
  print(`Using temp dir: ${tmp}`);
  const name = bundleName(deps.nodeName, deps.now());
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'resources'), { recursive: true });
  const summary: string[] = [`node: ${deps.nodeName}`, `collected: ${deps.now().toISOString()}`, ''];
  for (const c of DIAGS_COMMANDS) {
    print(`Dumping ${c.cmd} ${c.args.join(' ')}`.trimEnd());
    let body: string;
    let status: string;
    try {
      const r = await runner.run(c.cmd, c.args, { timeoutMs: 30_000 });
      body = r.stdout + (r.stderr ? `\n# stderr:\n${r.stderr}` : '');
      status = `exit ${r.code}`;
    } catch (e) {
      body = `# could not run: ${(e as Error).message}\n`;
      status = 'not run';
    }
    writeFileSync(join(dir, c.file), body);
    summary.push(`${c.file}: ${c.cmd} ${c.args.join(' ')} (${status})`);
  }
  print('Dumping datastore resources');
  const lists = new Map<ResourceKind, readonly Resource[]>();
  for (const kind of DIAGS_KINDS) {
    try {
      lists.set(kind, await deps.listResources(kind));
    } catch (e) {
      summary.push(`resources: listing ${kind} failed: ${(e as Error).message}`);
    }
  }
  for (const d of resourceDocuments(deps.nodeName, lists)) {
    writeFileSync(join(dir, d.file), d.text);
    summary.push(`${d.file}: ${d.count} item${d.count === 1 ? '' : 's'}`);
  }
  print(`Copying logs from ${deps.logDir}`);
  if (existsSync(deps.logDir) && statSync(deps.logDir).isDirectory()) {
    cpSync(deps.logDir, join(dir, 'logs'), { recursive: true });
    summary.push(`logs/: copied from ${deps.logDir}`);
  } else {
    mkdirSync(join(dir, 'logs'));
    summary.push(`logs/: ${deps.logDir} does not exist (is calico-node running with another --log-dir?)`);
  }
  writeFileSync(join(dir, 'summary.txt'), summary.join('\n') + '\n');
  const destDir = deps.destDir ?? tmp;
  mkdirSync(destDir, { recursive: true });
  const tarball = join(destDir, `${name}.tar.gz`);
  await runChecked(runner, 'tar', ['-czf', tarball, '-C', tmp, name]);
  rmSync(dir, { recursive: true, force: true });
  if (destDir !== tmp) rmSync(tmp, { recursive: true, force: true });
  print(`Diags saved to ${tarball}`);
  return tarball;
}
