/**
 * Reads what the kernel says about its modules (see kernel-modules.ts for how it is judged). Every
 * source is optional: a missing file means "this host does not offer that source", not an error.
 * `root` lets tests point it at a fake tree.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { moduleKey, type KernelModuleSources } from './kernel-modules.js';

function readText(path: string, gzip = false): string | undefined {
  try {
    const raw = readFileSync(path);
    return gzip ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  } catch {
    return undefined;
  }
}

/** `kernel/net/netfilter/xt_set.ko[.xz]` → `xt_set`. */
function moduleNameOfPath(path: string): string {
  const base = path.trim().split(':')[0]?.split('/').pop() ?? '';
  return moduleKey(base.replace(/\.ko(\.[a-z]+)?$/, ''));
}

export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out.set(m[1] as string, m[2] as string);
  }
  return out;
}

export function readKernelModuleSources(root = '/', kernelRelease = release()): KernelModuleSources {
  const at = (p: string) => join(root, p);
  const procModules = readText(at('proc/modules'));
  let sysModule: Set<string> | undefined;
  try {
    sysModule = new Set(readdirSync(at('sys/module')).map(moduleKey));
  } catch {
    sysModule = undefined;
  }
  const configText = readText(at('proc/config.gz'), true) ?? readText(at(`boot/config-${kernelRelease}`));
  const builtinText = readText(at(`lib/modules/${kernelRelease}/modules.builtin`));
  const depText = readText(at(`lib/modules/${kernelRelease}/modules.dep`));
  const lines = (t: string) => t.split('\n').filter((l) => l.trim());
  return {
    ...(procModules !== undefined
      ? { loaded: new Set(lines(procModules).map((l) => moduleKey(l.split(' ')[0] ?? ''))) }
      : {}),
    ...(sysModule ? { sysModule } : {}),
    ...(configText !== undefined ? { config: parseKernelConfig(configText) } : {}),
    ...(builtinText !== undefined ? { builtin: new Set(lines(builtinText).map(moduleNameOfPath)) } : {}),
    ...(depText !== undefined ? { available: new Set(lines(depText).map(moduleNameOfPath)) } : {}),
  };
}
