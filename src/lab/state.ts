/**
 * A lab's state on disk: what `up` created (namespaces, processes, the datastore), written before
 * and after each step, so `down` can remove everything even after `up` crashed half-way.
 * Lives in /var/lib/calico-lab/<lab>/ (CALICO_LAB_DIR overrides the parent directory).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LabState {
  readonly lab: string;
  readonly scenario: string;
  readonly scenarioFile: string;
  readonly prefix: string;
  readonly createdAt: string;
  namespaces: string[];
  processes: { name: string; pid: number; kind: 'calico-node' | 'bird' | 'listener' | 'etcd' }[];
  datastore: { type: 'sqlite'; path: string } | { type: 'etcdv3'; endpoints: string[]; dataDir: string };
  ready: boolean;
}

export function labsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CALICO_LAB_DIR ?? '/var/lib/calico-lab';
}

export function labDir(lab: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(labsDir(env), lab);
}

/**
 * The run directory of every calico-node in the lab: status sockets and the CNI servers' sockets.
 * Labs keep them apart because node names repeat across labs.
 */
export function labRunDir(lab: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(labDir(lab, env), 'run');
}

export function readState(lab: string, env?: NodeJS.ProcessEnv): LabState | undefined {
  const file = join(labDir(lab, env), 'state.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LabState;
}

export function writeState(state: LabState, env?: NodeJS.ProcessEnv): void {
  const dir = labDir(state.lab, env);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'state.json.tmp'), JSON.stringify(state, null, 2));
  // Rename is atomic: a crash leaves the old state or the new one, never half of one.
  renameSync(join(dir, 'state.json.tmp'), join(dir, 'state.json'));
}

export function listLabs(env?: NodeJS.ProcessEnv): string[] {
  const dir = labsDir(env);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((d) => existsSync(join(dir, d, 'state.json')));
}
