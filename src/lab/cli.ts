/**
 * `calico-lab`: up, down, status, probe, routes, explain, report, list, plan. Each command reads the
 * lab's state file and datastore; nothing is kept in this process between commands.
 */
import { Command, CommanderError } from 'commander';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { packageRoot } from '../programs.js';
import { ResourceClient } from '../datastore/resources.js';
import type { Resource } from '../api/types.js';
import { explainTraffic, formatExplanation, policyResourcesFrom } from '../policy/index.js';
import { loadScenarioFile, ScenarioError, type LabScenario } from './scenario.js';
import { layoutScenario, type LabLayout } from './topology.js';
import { labUp, LabError, ourProgram } from './build.js';
import { labDown } from './teardown.js';
import { labDir, labRunDir, listLabs, readState, type LabState } from './state.js';
import { formatMatrix, probeMatrix, type MatrixCell, type MatrixWorkload } from './matrix.js';
import { formatPlans, planTopology, TOPOLOGIES, type Topology } from './plan.js';
import { renderReport, type ReportSession } from './report.js';
import { hostDatastoreEnv, openLabDatastore } from './datastore.js';

const SCENARIO_DIR = join(packageRoot(), 'examples', 'lab');

export interface LabIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** A scenario by name (examples/lab/NAME.yaml) or by path. */
export function scenarioPath(nameOrPath: string): string {
  if (existsSync(nameOrPath)) return nameOrPath;
  const builtIn = join(SCENARIO_DIR, `${nameOrPath}.yaml`);
  if (existsSync(builtIn)) return builtIn;
  throw new LabError(
    `no scenario "${nameOrPath}" (built-in: ${builtInScenarios().join(', ')}; or give a YAML file)`,
  );
}

export function builtInScenarios(): string[] {
  return existsSync(SCENARIO_DIR)
    ? readdirSync(SCENARIO_DIR)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => f.slice(0, -5))
        .sort()
    : [];
}

interface Loaded {
  state: LabState;
  scenario: LabScenario;
  layout: LabLayout;
}

function loadLab(lab: string | undefined, env: NodeJS.ProcessEnv): Loaded {
  const labs = listLabs(env);
  const name = lab ?? (labs.length === 1 ? labs[0] : undefined);
  if (!name)
    throw new LabError(
      labs.length
        ? `several labs are up (${labs.join(', ')}); name one`
        : 'no lab is up; run "calico-lab up SCENARIO"',
    );
  const state = readState(name, env);
  if (!state) throw new LabError(`lab "${name}" is not up`);
  const scenario = loadScenarioFile(state.scenarioFile);
  return { state, scenario, layout: layoutScenario(scenario, state.lab) };
}

async function withResources<T>(
  state: LabState,
  fn: (resources: Resource[], client: ResourceClient) => Promise<T>,
): Promise<T> {
  const store = await openLabDatastore(state);
  try {
    const client = new ResourceClient(store);
    const kinds = [
      'WorkloadEndpoint',
      'HostEndpoint',
      'GlobalNetworkPolicy',
      'NetworkPolicy',
      'Profile',
    ] as const;
    const resources: Resource[] = [];
    for (const k of kinds) resources.push(...(await client.list(k)));
    return await fn(resources, client);
  } finally {
    await store.close();
  }
}

function matrixWorkloads(l: Loaded, resources: Resource[]): MatrixWorkload[] {
  return l.layout.workloads.flatMap((w) => {
    const wep = resources.find((r) => r.kind === 'WorkloadEndpoint' && r.spec.endpoint === w.name);
    const ip = wep?.kind === 'WorkloadEndpoint' ? wep.spec.ipNetworks?.[0]?.split('/')[0] : undefined;
    return ip ? [{ name: w.name, namespace: w.namespace, ip }] : [];
  });
}

async function runProbe(
  l: Loaded,
): Promise<{ cells: MatrixCell[]; workloads: MatrixWorkload[]; text: string }> {
  return withResources(l.state, async (resources) => {
    const workloads = matrixWorkloads(l, resources);
    const cells = await probeMatrix(workloads, resources, {
      icmp: l.scenario.probe.icmp,
      tcp: l.scenario.probe.tcp,
    });
    let text = formatMatrix(workloads, cells);
    const lesson = l.scenario.lesson;
    if (lesson) {
      const c = cells.find(
        (x) => x.from === lesson.from && x.to === lesson.to && x.probe === `tcp/${lesson.port}`,
      );
      text += `\nlesson: ${lesson.text}\n  observed: tcp/${lesson.port} from ${lesson.from} to ${lesson.to} is ${c ? (c.actual ? 'OPEN' : 'CLOSED') : 'not probed'}\n`;
    }
    return { cells, workloads, text };
  });
}

/**
 * Routes per device: a host's Calico routes (everything but connected routes), a router's BGP routes.
 * An ECMP route is one route: its indented `nexthop` lines are not counted.
 */
function routeCounts(l: Loaded): { device: string; routes: number; table: string }[] {
  return l.layout.nodes.map((n) => {
    const table = spawnSync('ip', ['-n', n.namespace, 'route', 'show'], { encoding: 'utf8' }).stdout;
    const routes = table
      .split('\n')
      .filter((line) => /^\S/.test(line) && !/\bproto kernel\b/.test(line)).length;
    return { device: n.name, routes, table };
  });
}

/** BGP sessions as `calicoctl node status` reports them inside each host (when the speaker runs). */
function sessions(l: Loaded, env: NodeJS.ProcessEnv): ReportSession[] {
  const out: ReportSession[] = [];
  for (const h of l.scenario.hosts) {
    const ns = l.layout.nodes.find((n) => n.name === h.name)?.namespace;
    if (!ns) continue;
    const r = spawnSync('ip', ['netns', 'exec', ns, ...ourProgram('calicoctl'), 'node', 'status'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        ...hostDatastoreEnv(l.state, l.scenario, h.name),
        NODENAME: h.name,
        CALICO_RUN_DIR: labRunDir(l.state.lab, env),
      },
    });
    for (const line of r.stdout.split('\n')) {
      const m = /^\|\s*([0-9a-f.:]+)\s*\|[^|]*\|\s*(\w+)\s*\|[^|]*\|\s*([^|]*?)\s*\|/.exec(line);
      if (!m) continue;
      const peer =
        l.layout.nodes.find((n) => n.attachments.some((a) => a.address === m[1]))?.name ?? m[1] ?? '';
      out.push({ from: h.name, to: peer, state: `${m[2]} ${m[3]}`.trim() });
    }
  }
  return out;
}

export function buildLabProgram(io: LabIo): Command {
  const program = new Command('calico-lab')
    .description('Multi-host Calico clusters in network namespaces on this machine')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  program
    .command('list')
    .description('Built-in scenarios, and the labs that are up')
    .action(() => {
      io.out(`scenarios: ${builtInScenarios().join(', ')}\n`);
      const labs = listLabs(io.env);
      io.out(`labs up: ${labs.length ? labs.join(', ') : 'none'}\n`);
    });
  program
    .command('up')
    .argument('<scenario>', 'a built-in scenario name or a scenario YAML file')
    .option('--name <lab>', 'lab name (default: the scenario name); prefixes every namespace')
    .option('--refresh-interval <ms>', 'Felix refresh interval for the hosts')
    .option('--etcd', "start a throwaway etcd as the lab's datastore (default: a SQLite file)")
    .action(async (nameOrPath: string, o: { name?: string; refreshInterval?: string; etcd?: boolean }) => {
      const file = scenarioPath(nameOrPath);
      const scenario = loadScenarioFile(file);
      const started = Date.now();
      try {
        const state = await labUp(scenario, file, {
          ...(o.name ? { lab: o.name } : {}),
          env: io.env,
          log: (line) => io.out(`  ${line}\n`),
          ...(o.refreshInterval ? { refreshIntervalMs: Number(o.refreshInterval) } : {}),
          ...(o.etcd ? { etcd: true } : {}),
        });
        io.out(
          `lab "${state.lab}" is up (${state.namespaces.length} namespaces, ${state.processes.length} processes) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
      } catch (e) {
        io.err(`up failed: ${(e as Error).message}\nremoving what was built...\n`);
        await labDown(o.name ?? scenario.name, io.env);
        throw e;
      }
    });
  program
    .command('down')
    .argument('[lab]')
    .option('--all', 'every lab that is up')
    .action(async (lab: string | undefined, o: { all?: boolean }) => {
      const labs = o.all ? listLabs(io.env) : [lab ?? loadLab(undefined, io.env).state.lab];
      for (const l of labs) {
        const r = await labDown(l, io.env);
        io.out(`lab "${l}" is down (${r.processes} processes stopped, ${r.namespaces} namespaces removed)\n`);
      }
    });
  program
    .command('status')
    .argument('[lab]')
    .action((lab: string | undefined) => {
      const l = loadLab(lab, io.env);
      io.out(
        `lab "${l.state.lab}" (scenario ${l.state.scenario}), up since ${l.state.createdAt}, ${l.state.ready ? 'ready' : 'NOT READY'}\n`,
      );
      const d = l.state.datastore;
      io.out(
        `  datastore    ${d.type === 'sqlite' ? `sqlite ${d.path}` : `etcd ${d.endpoints.join(',')}`}\n`,
      );
      for (const p of l.state.processes) {
        let alive = true;
        try {
          process.kill(p.pid, 0);
        } catch {
          alive = false;
        }
        io.out(
          `  ${p.kind.padEnd(12)} ${p.name.padEnd(14)} pid ${String(p.pid).padEnd(8)} ${alive ? 'running' : 'NOT RUNNING'}\n`,
        );
      }
      for (const s of sessions(l, io.env)) io.out(`  bgp ${s.from} → ${s.to}: ${s.state}\n`);
    });
  program
    .command('probe')
    .argument('[lab]')
    .action(async (lab: string | undefined) => {
      io.out((await runProbe(loadLab(lab, io.env))).text);
    });
  program
    .command('routes')
    .argument('[device]', "show this host or router's table instead of the counts")
    .option('--lab <lab>')
    .action((device: string | undefined, o: { lab?: string }) => {
      const counts = routeCounts(loadLab(o.lab, io.env));
      if (device) {
        const d = counts.find((c) => c.device === device);
        if (!d)
          throw new LabError(`no device "${device}" (devices: ${counts.map((c) => c.device).join(', ')})`);
        io.out(d.table);
        return;
      }
      for (const c of counts) io.out(`${c.device.padEnd(16)} ${String(c.routes).padStart(6)} routes\n`);
    });
  program
    .command('explain')
    .argument('<from>')
    .argument('<to>')
    .option('--protocol <p>', 'tcp, udp, icmp...', 'tcp')
    .option('--port <n>', 'destination port')
    .option('--lab <lab>')
    .action(async (from: string, to: string, o: { protocol: string; port?: string; lab?: string }) => {
      const l = loadLab(o.lab, io.env);
      await withResources(l.state, async (resources) => {
        io.out(
          formatExplanation(
            explainTraffic(policyResourcesFrom(resources), {
              from,
              to,
              protocol: o.protocol,
              ...(o.port ? { port: Number(o.port) } : {}),
            }),
          ).join('\n') + '\n',
        );
      });
    });
  program
    .command('report')
    .argument('[lab]')
    .option('-o, --output <file>', 'where to write the HTML (default: the lab directory)')
    .action(async (lab: string | undefined, o: { output?: string }) => {
      const l = loadLab(lab, io.env);
      const probe = await runProbe(l);
      const html = renderReport({
        lab: l.state.lab,
        scenario: l.scenario.name,
        description: l.scenario.description,
        layout: l.layout,
        sessions: sessions(l, io.env),
        cells: probe.cells,
        workloads: probe.workloads.map((w) => w.name),
        workloadAddresses: Object.fromEntries(probe.workloads.map((w) => [w.name, w.ip])),
        routeCounts: routeCounts(l).map(({ device, routes }) => ({ device, routes })),
        ...(l.scenario.lesson ? { lesson: l.scenario.lesson.text } : {}),
        generatedAt: new Date().toISOString(),
      });
      // Beside the lab's directory, not in it, so the report outlives `down`.
      const file = o.output ?? `${labDir(l.state.lab, io.env)}-report.html`;
      writeFileSync(file, html);
      io.out(probe.text);
      io.out(`report written to ${file}\n`);
    });
  program
    .command('plan')
    .option('--topology <t>', `one of ${TOPOLOGIES.join(', ')}, or all`, 'all')
    .option('--hosts <n>', 'hosts', '2000')
    .option('--racks <n>', 'racks', '50')
    .option('--workloads-per-host <n>', 'workloads per host', '30')
    .option('--block-size <n>', 'IPAM block size', '26')
    .option('--json', 'print JSON')
    .action(
      (o: {
        topology: string;
        hosts: string;
        racks: string;
        workloadsPerHost: string;
        blockSize: string;
        json?: boolean;
      }) => {
        const input = {
          hosts: Number(o.hosts),
          racks: Number(o.racks),
          workloadsPerHost: Number(o.workloadsPerHost),
          blockSize: Number(o.blockSize),
        };
        for (const [k, v] of Object.entries(input))
          if (!Number.isInteger(v) || v <= 0)
            throw new LabError(
              `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a positive integer`,
            );
        if (input.blockSize < 20 || input.blockSize > 32) throw new LabError('--block-size must be 20 to 32');
        const topologies: Topology[] = o.topology === 'all' ? [...TOPOLOGIES] : [o.topology as Topology];
        if (!topologies.every((t) => (TOPOLOGIES as readonly string[]).includes(t)))
          throw new LabError(`--topology must be one of ${TOPOLOGIES.join(', ')} or all`);
        // The chosen topology first, then the others side by side, as the issue asks.
        const plans = topologies.map((t) => planTopology(t, input));
        io.out(o.json ? JSON.stringify({ input, plans }, null, 2) + '\n' : formatPlans(input, plans));
      },
    );
  return program;
}

export async function labMain(argv: string[], io: LabIo): Promise<number> {
  const program = buildLabProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 || e.code === 'commander.helpDisplayed' ? 0 : 1;
    if (e instanceof LabError || e instanceof ScenarioError) {
      io.err(`${e.message}\n`);
      return 1;
    }
    io.err(`calico-lab: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}
