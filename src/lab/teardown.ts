/**
 * `calico-lab down`: stops the lab's processes and removes its namespaces, from the state file and
 * also by prefix (whatever a crashed `up` created before it could write it down), then the lab's
 * directory. Safe to run twice.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { labDir, readState } from './state.js';
import { labPrefix } from './topology.js';
import { etcdRootLinkName } from './etcd.js';
import { detachLabWorkloads } from './cni.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function labDown(
  lab: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ namespaces: number; processes: number }> {
  const state = readState(lab, env);
  const prefix = state?.prefix ?? labPrefix(lab);
  // CNI DEL first, while the host namespaces and the datastore (maybe the lab's etcd) are still
  // there, so the plugin releases every address; best effort, the namespaces go anyway.
  await detachLabWorkloads(lab, env).catch(() => undefined);
  const pids = (state?.processes ?? []).map((p) => p.pid).filter(alive);
  // Processes first (calico-node and BIRD get SIGTERM and a moment to stop cleanly), each with its group.
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  }
  const deadline = Date.now() + 5000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`));
  const namespaces = [...new Set([...(state?.namespaces ?? []), ...listed])];
  // Anything still running inside a lab namespace (a listener, a stray probe) goes too.
  for (const ns of namespaces) {
    const pidsIn = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean);
    for (const p of pidsIn) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
  // Deleting the datastore namespace deletes its root link too; this catches an `up` that died
  // between making the link and recording the namespace. Silent when there is none.
  spawnSync('ip', ['link', 'del', etcdRootLinkName(lab)], { stdio: 'ignore' });
  // A lab etcd's data lives in the lab directory, but the state file is what says where.
  if (state?.datastore.type === 'etcdv3') rmSync(state.datastore.dataDir, { recursive: true, force: true });
  rmSync(labDir(lab, env), { recursive: true, force: true });
  return { namespaces: namespaces.length, processes: pids.length };
}
