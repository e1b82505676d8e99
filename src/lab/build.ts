/**
 * `calico-lab up`: builds a scenario from real parts. Switch namespaces with a bridge per L2
 * network; host namespaces running calico-node against the lab's own datastore; router namespaces
 * running BIRD 2; workload namespaces attached to their hosts by our CNI plugin, exec'd as a runtime
 * would (cni.ts), with `IP=` in CNI_ARGS when the scenario fixes their address. The state file is
 * written after every step, so `down` can undo a half-built lab.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ourProgramArgv, packageRoot } from '../programs.js';
import { API_VERSION, loadResources, type Resource } from '../api/index.js';
import { ResourceClient } from '../datastore/resources.js';
import type { LabScenario } from './scenario.js';
import { layoutScenario, addressOf, type LabLayout } from './topology.js';
import { labDir, labRunDir, readState, writeState, type LabState } from './state.js';
import { birdConfig } from './bird.js';
import { startLabEtcd } from './etcd.js';
import { hostDatastoreEnv, openLabDatastore } from './datastore.js';
import { attachWorkloadThroughCni, installLabCniPlugins, labCniAttachment } from './cni.js';

const ROOT = packageRoot();

export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabError';
  }
}

function sh(args: string[], input?: string): string {
  const r = spawnSync(args[0] as string, args.slice(1), { encoding: 'utf8', input: input ?? '' });
  if (r.status !== 0) throw new LabError(`${args.join(' ')} failed: ${(r.stderr || r.stdout || '').trim()}`);
  return r.stdout;
}

const inNs = (ns: string, ...args: string[]) => sh(['ip', 'netns', 'exec', ns, ...args]);

/** How to start our own programs: the compiled one if it is there, else the sources through tsx. */
export function ourProgram(name: 'calico-node' | 'calicoctl'): string[] {
  return ourProgramArgv(name, Boolean(process.env.CALICO_LAB_FROM_SOURCE));
}

export interface UpOptions {
  readonly lab?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
  readonly refreshIntervalMs?: number;
  /** A throwaway etcd (in its own namespace, see etcd.ts) instead of the SQLite file. */
  readonly etcd?: boolean;
}

function veth(a: { ns: string; name: string }, b: { ns: string; name: string }): void {
  const tmpA = `lt${randomBytes(4).toString('hex')}`;
  const tmpB = `lt${randomBytes(4).toString('hex')}`;
  sh(['ip', 'link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB]);
  sh(['ip', 'link', 'set', tmpA, 'netns', a.ns]);
  sh(['ip', 'link', 'set', tmpB, 'netns', b.ns]);
  inNs(a.ns, 'ip', 'link', 'set', tmpA, 'name', a.name);
  inNs(b.ns, 'ip', 'link', 'set', tmpB, 'name', b.name);
  inNs(a.ns, 'ip', 'link', 'set', a.name, 'up');
  inNs(b.ns, 'ip', 'link', 'set', b.name, 'up');
}

function startDetached(
  state: LabState,
  name: string,
  kind: LabState['processes'][number]['kind'],
  ns: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
): number {
  const fd = openSync(logFile, 'a');
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...env },
    cwd: ROOT,
  });
  closeSync(fd);
  child.unref();
  if (!child.pid) throw new LabError(`could not start ${name}`);
  state.processes.push({ name, pid: child.pid, kind });
  return child.pid;
}

async function waitFor(what: () => string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new LabError(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function loadResourceFiles(s: LabScenario): Resource[] {
  return s.resources.flatMap((f) => {
    const path = resolve(s.baseDir, f);
    const { resources, problems } = loadResources(readFileSync(path, 'utf8'));
    if (problems.length)
      throw new LabError(
        `${path}: ${problems.map((p) => `${p.label}: ${p.problems.join('; ')}`).join('\n')}`,
      );
    return resources.map((r) => r.resource);
  });
}

export async function labUp(s: LabScenario, scenarioFile: string, opts: UpOptions = {}): Promise<LabState> {
  const lab = opts.lab ?? s.name;
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  if (process.getuid?.() !== 0) throw new LabError('calico-lab needs root: it creates network namespaces');
  if (readState(lab, env))
    throw new LabError(`lab "${lab}" is already up; run "calico-lab down ${lab}" first`);
  const layout = layoutScenario(s, lab);
  const dir = labDir(lab, env);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const state: LabState = {
    lab,
    scenario: s.name,
    scenarioFile: resolve(scenarioFile),
    prefix: layout.prefix,
    createdAt: new Date().toISOString(),
    namespaces: [],
    processes: [],
    datastore: { type: 'sqlite', path: join(dir, 'datastore.sqlite') },
    ready: false,
  };
  writeState(state, env);
  const addNs = (ns: string) => {
    sh(['ip', 'netns', 'add', ns]);
    state.namespaces.push(ns);
    writeState(state, env);
    inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
  };

  log(
    `building ${s.networks.length} network(s), ${s.hosts.length} host(s), ${s.routers.length} router(s), ${s.workloads.length} workload(s)`,
  );
  for (const sw of layout.switches) {
    addNs(sw.namespace);
    inNs(sw.namespace, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
    inNs(sw.namespace, 'ip', 'link', 'set', 'br0', 'up');
  }
  for (const node of layout.nodes) {
    addNs(node.namespace);
    inNs(node.namespace, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
    for (const a of node.attachments) {
      const sw = layout.switches.find((x) => x.network === a.network);
      if (!sw) continue;
      const port = `p-${node.name}`.slice(0, 15);
      veth({ ns: node.namespace, name: a.iface }, { ns: sw.namespace, name: port });
      inNs(sw.namespace, 'ip', 'link', 'set', port, 'master', 'br0');
      inNs(node.namespace, 'ip', 'addr', 'add', `${a.address}/${a.prefixLength}`, 'dev', a.iface);
    }
  }

  if (opts.etcd) {
    log('starting the lab etcd');
    try {
      state.datastore = await startLabEtcd(
        {
          addNamespace: addNs,
          link: veth,
          inNamespace: inNs,
          inRoot: (...argv) => sh(argv),
          startDetached: (name, kind, ns, argv, logFile) =>
            startDetached(state, name, kind, ns, argv, {}, logFile),
        },
        { state, scenario: s, layout, dir },
      );
    } catch (e) {
      throw e instanceof LabError ? e : new LabError((e as Error).message);
    } finally {
      writeState(state, env);
    }
  }

  const store = await openLabDatastore(state);
  try {
    const client = new ResourceClient(store);
    await client.create({
      apiVersion: API_VERSION,
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
      spec: {
        nodeToNodeMeshEnabled: s.bgp.mesh,
        ...(s.bgp.asNumber !== undefined ? { asNumber: s.bgp.asNumber } : {}),
      },
    });
    for (const h of s.hosts) {
      const node = layout.nodes.find((n) => n.name === h.name);
      const a = node?.attachments[0];
      await client.create({
        apiVersion: API_VERSION,
        kind: 'Node',
        metadata: { name: h.name, ...(h.labels ? { labels: { ...h.labels } } : {}) },
        spec: {
          bgp: {
            ...(a ? { ipv4Address: `${a.address}/${a.prefixLength}` } : {}),
            ...(h.asNumber !== undefined ? { asNumber: h.asNumber } : {}),
            ...(h.routeReflectorClusterID ? { routeReflectorClusterID: h.routeReflectorClusterID } : {}),
          },
        },
      });
    }
    for (const [i, p] of s.pools.entries())
      await client.create({
        apiVersion: API_VERSION,
        kind: 'IPPool',
        metadata: { name: `pool-${i}` },
        spec: {
          cidr: p.cidr,
          ...(p.blockSize ? { blockSize: p.blockSize } : {}),
          natOutgoing: p.natOutgoing ?? false,
        },
      });
    for (const r of loadResourceFiles(s)) await client.apply(r);
    // Routers peer with whoever the scenario says; hosts peer back through global/node BGPPeers.
    for (const r of s.routers) {
      for (const p of r.peers.filter((x) => s.hosts.some((h) => h.name === x.peer))) {
        const shared = layout.nodes
          .find((n) => n.name === r.name)
          ?.attachments.find((a) =>
            layout.nodes.find((n) => n.name === p.peer)?.attachments.some((b) => b.network === a.network),
          );
        const ip = addressOf(layout, r.name, p.network ?? shared?.network);
        if (!ip) continue;
        await client.apply({
          apiVersion: API_VERSION,
          kind: 'BGPPeer',
          metadata: { name: `${p.peer}.${r.name}` },
          spec: { node: p.peer, peerIP: ip, asNumber: r.asNumber },
        });
      }
    }

    // Workloads: a namespace each, attached through our CNI plugin run as a runtime runs it (cni.ts);
    // a fixed address is asked for with IP= in CNI_ARGS.
    const cniPath = s.workloads.length > 0 ? installLabCniPlugins(lab, env) : '';
    for (const w of layout.workloads) {
      const spec = s.workloads.find((x) => x.name === w.name);
      if (!spec) continue;
      addNs(w.namespace);
      const hostNs = layout.nodes.find((n) => n.name === w.host)?.namespace as string;
      log(`CNI ADD ${w.name} on ${w.host}${spec.ip ? ` (IP=${spec.ip})` : ''}`);
      try {
        await attachWorkloadThroughCni(
          client,
          lab,
          labCniAttachment(state, s, { ...w, ...(spec.ip ? { ip: spec.ip } : {}) }, hostNs),
          spec,
          cniPath,
          env,
        );
      } catch (e) {
        throw e instanceof LabError ? e : new LabError((e as Error).message);
      }
    }

    if (s.routing === 'static') await addStaticRoutes(s, layout, client);
  } finally {
    await store.close();
  }

  // Daemons last, so they start from a complete datastore.
  for (const h of s.hosts) startLabCalicoNode(state, s, h.name, { ...opts, env });
  for (const r of s.routers) {
    const node = layout.nodes.find((n) => n.name === r.name) as LabLayout['nodes'][number];
    const conf = join(dir, `bird-${r.name}.conf`);
    writeFileSync(conf, birdConfig(s, layout, r.name));
    startDetached(
      state,
      r.name,
      'bird',
      node.namespace,
      [
        'bird',
        '-f',
        '-c',
        conf,
        '-s',
        join(dir, `bird-${r.name}.ctl`),
        '-P',
        join(dir, `bird-${r.name}.pid`),
      ],
      {},
      join(dir, 'logs', `${r.name}.log`),
    );
    writeState(state, env);
  }
  log('waiting for every calico-node to program its dataplane');
  const logTail = (h: string) => {
    try {
      return readFileSync(join(dir, 'logs', `${h}.log`), 'utf8')
        .split('\n')
        .slice(-8)
        .join('\n');
    } catch {
      return '(no log)';
    }
  };
  await waitFor(
    () =>
      `calico-node readiness (logs:\n${s.hosts.map((h) => `--- ${h.name}\n${logTail(h.name)}`).join('\n')})`,
    () =>
      s.hosts.every((h) => {
        try {
          return readFileSync(join(dir, 'logs', `${h.name}.log`), 'utf8').includes('dataplane in sync');
        } catch {
          return false;
        }
      }),
    60_000,
  );
  state.ready = true;
  writeState(state, env);
  return state;
}

/** Without BGP, each host learns the others' workloads from routes the lab adds. */
async function addStaticRoutes(s: LabScenario, layout: LabLayout, client: ResourceClient): Promise<void> {
  const weps = await client.list('WorkloadEndpoint');
  for (const h of s.hosts) {
    const node = layout.nodes.find((n) => n.name === h.name);
    if (!node) continue;
    for (const w of weps) {
      if (w.spec.node === h.name) continue;
      const remote = layout.nodes.find((n) => n.name === w.spec.node);
      const shared = remote?.attachments.find((a) => node.attachments.some((b) => b.network === a.network));
      if (!shared) continue;
      for (const net of w.spec.ipNetworks ?? [])
        inNs(node.namespace, 'ip', 'route', 'replace', net, 'via', shared.address);
    }
  }
}

/**
 * Starts (or starts again) the calico-node of `host` inside its namespace, as `up` does, and records
 * its pid in the state file in place of an earlier one. The convergence benchmark and the restart
 * test use it to restart a node the way the lab started it.
 */
export function startLabCalicoNode(
  state: LabState,
  s: LabScenario,
  host: string,
  opts: Pick<UpOptions, 'refreshIntervalMs' | 'env'> = {},
): number {
  const env = opts.env ?? process.env;
  const dir = labDir(state.lab, env);
  const node = layoutScenario(s, state.lab).nodes.find((n) => n.name === host && n.kind === 'host');
  if (!node) throw new LabError(`lab ${state.lab} has no host "${host}"`);
  state.processes = state.processes.filter((p) => !(p.kind === 'calico-node' && p.name === host));
  const pid = startDetached(
    state,
    host,
    'calico-node',
    node.namespace,
    [
      ...ourProgram('calico-node'),
      '--node',
      host,
      ...(opts.refreshIntervalMs ? ['--refresh-interval', String(opts.refreshIntervalMs)] : []),
    ],
    {
      ...hostDatastoreEnv(state, s, host),
      NODENAME: host,
      CALICO_NETWORKING_BACKEND: s.routing === 'static' ? 'none' : 'bird',
      // Each lab keeps its nodes' status sockets to itself: node names repeat across labs.
      CALICO_RUN_DIR: labRunDir(state.lab, env),
    },
    join(dir, 'logs', `${host}.log`),
  );
  writeState(state, env);
  return pid;
}
