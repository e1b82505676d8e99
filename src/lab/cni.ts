/**
 * Lab workloads attached the way a container runtime attaches them: the lab execs our `calico` CNI
 * plugin by file name from a CNI_PATH (wrappers written by scripts/install-cni.sh into the lab's
 * directory), with CNI_COMMAND/CNI_CONTAINERID/CNI_NETNS/CNI_IFNAME in the environment and the
 * network configuration on stdin, from inside the host's network namespace, because the plugin
 * creates the host side of the veth in the namespace it runs in. So every lab and the convergence
 * benchmark exercise the real plugin, its IPAM and its endpoint records, not a copy of its wiring.
 *
 * A workload whose scenario fixes its address (the tenant scenarios keep the seed's 172.16.1.x) is
 * attached the same way, with `IP=<address>` in CNI_ARGS, as a runtime asks Calico's plugin for a
 * chosen address; so every lab workload is a container the plugin knows, DEL'd at `down`.
 *
 * Each attachment is written to `cni-attachments.json` in the lab directory *before* ADD runs, so
 * `down` can DEL everything a crashed `up` or benchmark started (DEL of what is not there succeeds),
 * which releases the addresses in IPAM before the namespaces go.
 *
 * After ADD the lab does what an orchestrator does through pod labels: it sets the endpoint's labels
 * and profiles from the scenario, keeping the name the plugin chose. It also sets `spec.endpoint` to
 * the workload's scenario name, because that is the name the matrix and `policy explain` look
 * workloads up by (the plugin writes the container's interface, `eth0`, there).
 */
import { spawn, spawnSync } from 'node:child_process';
import { packageRoot } from '../programs.js';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { workloadEndpointName, type WorkloadEndpoint } from '../api/index.js';
import { decodeResult } from '../cni/spec.js';
import type { ResourceClient } from '../datastore/resources.js';
import { hostEtcdEndpoints } from './etcd.js';
import type { LabScenario, LabWorkload } from './scenario.js';
import { labDir, labRunDir, type LabState } from './state.js';

const ROOT = packageRoot();

/** The CNI network every lab workload joins; also the name of the Profile the plugin creates for it. */
export const LAB_CNI_NETWORK = 'calico-lab';

const CNI_VERSION = '1.0.0';
const PLUGIN_TIMEOUT_MS = 120_000;

/** The network configuration a runtime would hand the plugin on stdin for a workload on `host`. */
export type LabCniNetworkConfig = Readonly<Record<string, unknown>>;

/** Everything needed to run ADD, and later DEL, for one workload; recorded in the lab directory. */
export interface LabCniAttachment {
  /** The scenario's name for the workload (`spec.endpoint` after ADD). */
  readonly workload: string;
  readonly host: string;
  /** The host's namespace, where the plugin runs. */
  readonly hostNamespace: string;
  readonly containerId: string;
  /** CNI_NETNS: the workload namespace's path. */
  readonly netns: string;
  readonly ifname: string;
  /** CNI_ARGS: `IP=<address>` for a workload with a fixed address, else absent. */
  readonly args?: string;
  readonly network: LabCniNetworkConfig;
}

/** What ADD gave a workload. */
export interface LabCniResult {
  /** Addresses as the plugin reported them (`10.244.3.5/32`). */
  readonly addresses: readonly string[];
  /** The WorkloadEndpoint the plugin wrote (name and namespace). */
  readonly endpointName: string;
  readonly endpointNamespace: string;
}

export class LabCniError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabCniError';
  }
}

/**
 * The plugin's configuration for a workload on `host`: the lab's datastore as that host reaches it
 * (the SQLite file, or etcd on the host's fabric), the host as node name, IPv4 from Calico IPAM.
 */
export function labCniNetworkConfig(
  datastore: LabState['datastore'],
  scenario: LabScenario,
  host: string,
): LabCniNetworkConfig {
  const store = ((): Record<string, unknown> => {
    switch (datastore.type) {
      case 'sqlite':
        return { datastore_type: 'sqlite', sqlite_path: datastore.path };
      case 'etcdv3':
        // The plugin runs in the host's namespace, which reaches etcd on the fabric, not the root link.
        return { datastore_type: 'etcdv3', etcd_endpoints: hostEtcdEndpoints(scenario, host).join(',') };
      default: {
        const never: never = datastore;
        throw new LabCniError(`unknown lab datastore ${JSON.stringify(never)}`);
      }
    }
  })();
  return {
    cniVersion: CNI_VERSION,
    name: LAB_CNI_NETWORK,
    type: 'calico',
    ...store,
    nodename: host,
    log_level: 'warning',
    ipam: { type: 'calico-ipam', assign_ipv4: 'true', assign_ipv6: 'false' },
  };
}

/**
 * The CNI_* variables for one call, as the runtime sets them, and CALICO_RUN_DIR: where the
 * `calico` shim finds the CNI server of the host's calico-node (the lab's run directory, not
 * /var/run/calico), so the call is served in-process instead of by a Node process per call.
 */
export function cniEnvironment(
  command: 'ADD' | 'DEL',
  a: LabCniAttachment,
  cniPath: string,
  runDir: string,
): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: a.containerId,
    CNI_NETNS: a.netns,
    CNI_IFNAME: a.ifname,
    // The same CNI_ARGS on DEL as on ADD, as runtimes do (the plugin's DEL does not read IP=).
    ...(a.args ? { CNI_ARGS: a.args } : {}),
    CNI_PATH: cniPath,
    CALICO_RUN_DIR: runDir,
  };
}

/**
 * The attachment of scenario workload `workload` on `host`: the container ID is the workload's name
 * (unique in the lab, whose datastore is its own), the interface `eth0`; a fixed `ip` is asked for
 * with `IP=` in CNI_ARGS.
 */
export function labCniAttachment(
  state: LabState,
  scenario: LabScenario,
  w: { readonly name: string; readonly host: string; readonly namespace: string; readonly ip?: string },
  hostNamespace: string,
): LabCniAttachment {
  return {
    workload: w.name,
    host: w.host,
    hostNamespace,
    containerId: w.name,
    netns: `/var/run/netns/${w.namespace}`,
    ifname: 'eth0',
    ...(w.ip ? { args: `IP=${w.ip}` } : {}),
    network: labCniNetworkConfig(state.datastore, scenario, w.host),
  };
}

/**
 * The endpoint as the lab wants it after ADD: the plugin's record with the scenario's labels on top
 * (the plugin's `projectcalico.org/*` labels stay), the scenario's profiles instead of the network's
 * own profile when the scenario names any, and the scenario name in `spec.endpoint`.
 */
export function withScenarioIdentity(wep: WorkloadEndpoint, w: LabWorkload): WorkloadEndpoint {
  return {
    ...wep,
    metadata: { ...wep.metadata, labels: { ...(wep.metadata.labels ?? {}), ...(w.labels ?? {}) } },
    spec: {
      ...wep.spec,
      endpoint: w.name,
      ...(w.profiles && w.profiles.length > 0 ? { profiles: [...w.profiles] } : {}),
    },
  };
}

const attachmentsFile = (lab: string, env?: NodeJS.ProcessEnv) =>
  join(labDir(lab, env), 'cni-attachments.json');

export function readLabCniAttachments(lab: string, env?: NodeJS.ProcessEnv): LabCniAttachment[] {
  const file = attachmentsFile(lab, env);
  if (!existsSync(file)) return [];
  return JSON.parse(readFileSync(file, 'utf8')) as LabCniAttachment[];
}

function recordAttachment(lab: string, a: LabCniAttachment, env?: NodeJS.ProcessEnv): void {
  const all = readLabCniAttachments(lab, env).filter((x) => x.containerId !== a.containerId);
  const file = attachmentsFile(lab, env);
  writeFileSync(`${file}.tmp`, JSON.stringify([...all, a], null, 2));
  renameSync(`${file}.tmp`, file);
}

/** Where the lab's plugin wrappers live (its CNI_PATH). */
export function labCniPath(lab: string, env?: NodeJS.ProcessEnv): string {
  return join(labDir(lab, env), 'cni-bin');
}

/**
 * Writes the `calico` and `calico-ipam` wrappers into the lab's CNI_PATH with the project's own
 * installer: the compiled plugin when dist/ has it and CALICO_LAB_FROM_SOURCE is not set (as
 * `ourProgram` chooses for calico-node), else the sources through tsx.
 */
export function installLabCniPlugins(lab: string, env: NodeJS.ProcessEnv = process.env): string {
  const dest = labCniPath(lab, env);
  const compiled = existsSync(join(ROOT, 'dist', 'bin', 'calico.js')) && !env.CALICO_LAB_FROM_SOURCE;
  const r = spawnSync(
    'sh',
    [join(ROOT, 'scripts', 'install-cni.sh'), '--dest', dest, ...(compiled ? [] : ['--source'])],
    { encoding: 'utf8' },
  );
  if (r.status !== 0)
    throw new LabCniError(
      `installing the CNI plugins into ${dest} failed: ${(r.stderr || r.stdout || '').trim()}`,
    );
  return dest;
}

interface PluginRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function execPlugin(
  a: LabCniAttachment,
  command: 'ADD' | 'DEL',
  cniPath: string,
  runDir: string,
): Promise<PluginRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', a.hostNamespace, join(cniPath, 'calico')], {
      env: { ...process.env, ...cniEnvironment(command, a, cniPath, runDir) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), PLUGIN_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(a.network));
  });
}

const failure = (a: LabCniAttachment, command: string, r: PluginRun) =>
  new LabCniError(
    `CNI ${command} of workload ${a.workload} on ${a.host} failed (exit ${r.code}): ${(r.stdout.trim() || r.stderr.trim()).slice(0, 2000)}`,
  );

/** Runs ADD for `a` (recorded first, so `down` can undo it) and reads the result. */
export async function cniAdd(
  lab: string,
  a: LabCniAttachment,
  cniPath: string,
  env?: NodeJS.ProcessEnv,
): Promise<LabCniResult> {
  recordAttachment(lab, a, env);
  const r = await execPlugin(a, 'ADD', cniPath, labRunDir(lab, env));
  if (r.code !== 0) throw failure(a, 'ADD', r);
  let addresses: string[];
  try {
    addresses = decodeResult(JSON.parse(r.stdout), `the result of ADD for ${a.workload}`).ips.map(
      (ip) => ip.address,
    );
  } catch (e) {
    throw new LabCniError(
      `CNI ADD of ${a.workload}: unreadable result (${(e as Error).message}): ${r.stdout}`,
    );
  }
  if (addresses.length === 0) throw new LabCniError(`CNI ADD of ${a.workload} returned no address`);
  return {
    addresses,
    // The plugin's naming (workload-identity.ts): orchestrator `cni`, workload = container ID.
    endpointName: workloadEndpointName(a.host, 'cni', a.containerId, a.ifname),
    endpointNamespace: 'default',
  };
}

export async function cniDel(a: LabCniAttachment, cniPath: string, runDir: string): Promise<void> {
  const r = await execPlugin(a, 'DEL', cniPath, runDir);
  if (r.code !== 0) throw failure(a, 'DEL', r);
}

/**
 * ADD through the plugin, then the scenario's labels, profiles and name on the endpoint it wrote.
 * The workload's namespace must exist.
 */
export async function attachWorkloadThroughCni(
  client: ResourceClient,
  lab: string,
  a: LabCniAttachment,
  w: LabWorkload,
  cniPath: string,
  env?: NodeJS.ProcessEnv,
): Promise<LabCniResult> {
  const result = await cniAdd(lab, a, cniPath, env);
  const wep = await client.get('WorkloadEndpoint', result.endpointName, result.endpointNamespace);
  if (!wep)
    throw new LabCniError(
      `CNI ADD of ${a.workload} succeeded but WorkloadEndpoint ${result.endpointNamespace}/${result.endpointName} is not in the datastore`,
    );
  await client.update(withScenarioIdentity(wep, w));
  return result;
}

/**
 * DEL for every workload the lab attached, best effort (a failure is reported, not thrown): the
 * plugin removes the veth, releases the addresses and deletes the endpoint. Needs the host
 * namespaces and the datastore, so `down` calls it before it stops anything.
 */
export async function detachLabWorkloads(
  lab: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ detached: number; failures: string[] }> {
  const attachments = readLabCniAttachments(lab, env);
  const cniPath = labCniPath(lab, env);
  if (attachments.length === 0 || !existsSync(join(cniPath, 'calico'))) return { detached: 0, failures: [] };
  const failures: string[] = [];
  let detached = 0;
  // One at a time: calls for one host share its calico-node's CNI server and datastore lock.
  for (const a of attachments) {
    if (!existsSync(`/var/run/netns/${a.hostNamespace}`)) {
      failures.push(`${a.workload}: host namespace ${a.hostNamespace} is gone`);
      continue;
    }
    try {
      await cniDel(a, cniPath, labRunDir(lab, env));
      detached++;
    } catch (e) {
      failures.push((e as Error).message);
    }
  }
  return { detached, failures };
}
