// The CNI benchmark: ADD and DEL latency of our `calico` plugin as installed (scripts/install-cni.sh:
// the native shim handing the call to calico-node's CNI server, which the bench starts in its host
// namespace with Felix and BGP off), over N containers, in the same run as the reference `bridge` +
// `host-local` plugins doing the same job (a veth per container, one address each), invocations
// interleaved so all see the same machine load. SQLite datastore, calico-ipam in-process. Extra rows:
// the shim with no calico-node (it execs the Node plugin, snapshot form), and the Node plugin
// installed without the shim in its three forms (compiled dist/, one esbuild bundle, a V8 start-up
// snapshot). Each call is timed from spawn to exit, as a runtime sees it; all go through
// `nsenter --net` into the bench's host namespace, whose own cost is measured and shown.
// Also measured: `calico` VERSION (Node start-up plus module loading, no datastore, no kernel work),
// and the same ADD/DEL called in one long-lived process (bench/cni/in-process.ts), both as the Node
// executable does the work and as the server does it: the work itself, without start-up.
//
// Run (as root): npm run build && node --import tsx bench/cni/run.ts   (BENCH_CNI_CONTAINERS=50)
// Writes bench/results/cni.json.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqliteDatastore } from '../../src/datastore/sqlite.js';
import { cniSocketPath } from '../../src/cni/server.js';
import { ResourceClient } from '../../src/datastore/resources.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONTAINERS = Number(process.env.BENCH_CNI_CONTAINERS ?? 50);
const REFERENCE_DIR = '/usr/lib/cni';
const TARGETS = { addP50Ms: 20, ratioToReference: 1.5 } as const;

interface Stats {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly samples: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    p50: round(at(0.5)),
    p99: round(at(0.99)),
    mean: round(sorted.reduce((s, x) => s + x, 0) / sorted.length),
    min: round(sorted[0] ?? NaN),
    samples: sorted.length,
  };
}

/** Runs a plugin in the host namespace with CNI_* and stdin; resolves with milliseconds and stdout. */
function timedCall(
  hostNs: string,
  plugin: string,
  env: Record<string, string>,
  stdin: string,
): Promise<{ ms: number; code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('nsenter', [`--net=/run/netns/${hostNs}`, plugin], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, code: code ?? 1, stdout }),
    );
    // A plugin that ignores stdin (or /bin/true) may exit before reading it.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/cni needs root (network namespaces)');
  if (!existsSync(join(ROOT, 'dist/bin/calico.js')))
    throw new Error('dist/bin/calico.js is missing: run npm run build first');
  for (const p of ['bridge', 'host-local'])
    if (!existsSync(join(REFERENCE_DIR, p)))
      throw new Error(`${REFERENCE_DIR}/${p} is missing: apt-get install -y containernetworking-plugins`);

  const prefix = `cb${randomBytes(2).toString('hex')}`;
  const namespaces: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'calico-ts-bench-cni-'));
  const addNs = (name: string) => {
    const full = `${prefix}-${name}`;
    execFileSync('ip', ['netns', 'add', full]);
    namespaces.push(full);
    return full;
  };
  const cleanup = () => {
    for (const ns of namespaces.splice(0)) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });

  let calicoNode: ChildProcess | undefined;
  try {
    const hostNs = addNs('host');
    const install = (dest: string, ...args: string[]) =>
      execFileSync(join(ROOT, 'scripts/install-cni.sh'), ['--dest', join(dir, dest), ...args], {
        stdio: 'ignore',
      });
    install('bin-shim', '--snapshot');
    install('bin', '--no-shim');
    install('bin-bundle', '--bundle', '--no-shim');
    install('bin-snapshot', '--snapshot', '--no-shim');
    const sqlitePath = join(dir, 'store.sqlite');
    const store = await SqliteDatastore.open(sqlitePath);
    await new ResourceClient(store).create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'benchpool' },
      spec: { cidr: '10.123.0.0/16', blockSize: 26 },
    });
    await store.close();

    // calico-node serving CNI calls in the bench's host namespace, on the same datastore.
    const runDir = join(dir, 'run');
    let nodeLog = '';
    calicoNode = spawn(
      'ip',
      [
        'netns',
        'exec',
        hostNs,
        process.execPath,
        join(ROOT, 'dist/bin/calico-node.js'),
        '--node',
        'bench-node',
        '--no-felix',
        '--no-bgp',
        '--health-port',
        '0',
        '--log-level',
        'warning',
      ],
      {
        env: { ...process.env, DATASTORE_TYPE: 'sqlite', SQLITE_PATH: sqlitePath, CALICO_RUN_DIR: runDir },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    calicoNode.stderr?.on('data', (d: Buffer) => (nodeLog += d.toString()));
    const socket = cniSocketPath(runDir, statSync(`/run/netns/${hostNs}`).ino);
    for (let waited = 0; !existsSync(socket); waited += 50) {
      if (waited > 30_000 || calicoNode.exitCode !== null)
        throw new Error(`calico-node did not open its CNI socket ${socket}:\n${nodeLog}`);
      await sleep(50);
    }

    const calicoConf = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'benchnet',
      type: 'calico',
      nodename: 'bench-node',
      datastore_type: 'sqlite',
      sqlite_path: sqlitePath,
      ipam: { type: 'calico-ipam' },
    });
    const bridgeConf = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'refnet',
      type: 'bridge',
      bridge: `${prefix}br`,
      isGateway: true,
      ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.124.0.0/16' }]], dataDir: join(dir, 'host-local') },
    });
    const plugins = {
      calicoShim: { path: join(dir, 'bin-shim/calico'), conf: calicoConf, runDir },
      calicoFallback: {
        path: join(dir, 'bin-shim/calico'),
        conf: calicoConf,
        runDir: join(dir, 'no-server'),
      },
      calico: { path: join(dir, 'bin/calico'), conf: calicoConf },
      calicoBundle: { path: join(dir, 'bin-bundle/calico'), conf: calicoConf },
      calicoSnapshot: { path: join(dir, 'bin-snapshot/calico'), conf: calicoConf },
      reference: { path: join(REFERENCE_DIR, 'bridge'), conf: bridgeConf },
    } as const;
    const cniPath = [join(dir, 'bin'), REFERENCE_DIR].join(':');
    const containers = Array.from({ length: CONTAINERS }, (_, i) => ({
      calicoShim: addNs(`h${i}`),
      calicoFallback: addNs(`f${i}`),
      calico: addNs(`c${i}`),
      calicoBundle: addNs(`b${i}`),
      calicoSnapshot: addNs(`s${i}`),
      reference: addNs(`r${i}`),
      id: `${prefix}ctr${i}`,
    }));
    const FORMS = [
      'calicoShim',
      'calicoFallback',
      'calico',
      'calicoBundle',
      'calicoSnapshot',
      'reference',
    ] as const;
    const envFor = (command: string, ns: string, id: string, which: (typeof FORMS)[number]) => {
      const plugin = plugins[which];
      const runDirOf = 'runDir' in plugin ? plugin.runDir : undefined;
      return {
        CNI_COMMAND: command,
        CNI_CONTAINERID: id,
        CNI_NETNS: `/run/netns/${ns}`,
        CNI_IFNAME: 'eth0',
        CNI_PATH: cniPath,
        ...(runDirOf ? { CALICO_RUN_DIR: runDirOf } : {}),
      };
    };
    const samples = {
      calicoShim: { add: [] as number[], del: [] as number[] },
      calicoFallback: { add: [] as number[], del: [] as number[] },
      calico: { add: [] as number[], del: [] as number[] },
      calicoBundle: { add: [] as number[], del: [] as number[] },
      calicoSnapshot: { add: [] as number[], del: [] as number[] },
      reference: { add: [] as number[], del: [] as number[] },
    };
    // Warm the file cache and create the bridge, so the first timed call is not an outlier of set-up.
    for (const which of FORMS) {
      const warm = addNs(`w-${which.toLowerCase()}`);
      for (const command of ['ADD', 'DEL'])
        await timedCall(
          hostNs,
          plugins[which].path,
          envFor(command, warm, `${prefix}warm`, which),
          plugins[which].conf,
        );
    }
    for (const command of ['ADD', 'DEL'] as const)
      for (const c of containers)
        for (const which of FORMS) {
          const r = await timedCall(
            hostNs,
            plugins[which].path,
            envFor(command, c[which], c.id, which),
            plugins[which].conf,
          );
          if (r.code !== 0) throw new Error(`${which} ${command} ${c.id} failed: ${r.stdout}`);
          samples[which][command === 'ADD' ? 'add' : 'del'].push(r.ms);
        }

    const versionShim: number[] = [];
    const version: number[] = [];
    const versionBundle: number[] = [];
    const versionSnapshot: number[] = [];
    const bareNode: number[] = [];
    const nsenterOnly: number[] = [];
    for (let i = 0; i < 20; i++) {
      versionShim.push(
        (
          await timedCall(
            hostNs,
            plugins.calicoShim.path,
            { CNI_COMMAND: 'VERSION', CALICO_RUN_DIR: runDir },
            '{"cniVersion":"1.0.0"}',
          )
        ).ms,
      );
      versionSnapshot.push(
        (
          await timedCall(
            hostNs,
            plugins.calicoSnapshot.path,
            { CNI_COMMAND: 'VERSION' },
            '{"cniVersion":"1.0.0"}',
          )
        ).ms,
      );
      bareNode.push((await timedCall(hostNs, process.execPath, {}, '')).ms);
      versionBundle.push(
        (
          await timedCall(
            hostNs,
            plugins.calicoBundle.path,
            { CNI_COMMAND: 'VERSION' },
            '{"cniVersion":"1.0.0"}',
          )
        ).ms,
      );
      version.push(
        (await timedCall(hostNs, plugins.calico.path, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}'))
          .ms,
      );
      nsenterOnly.push((await timedCall(hostNs, '/bin/true', {}, '')).ms);
    }

    // The plugin's own work without start-up: the same calls inside one process in the host namespace.
    for (let i = 0; i < CONTAINERS; i++) addNs(`i${i}`);
    const inProcess = JSON.parse(
      execFileSync(
        'nsenter',
        [
          `--net=/run/netns/${hostNs}`,
          process.execPath,
          '--import',
          'tsx',
          join(ROOT, 'bench/cni/in-process.ts'),
          sqlitePath,
          String(CONTAINERS),
          `${prefix}-i`,
        ],
        { cwd: ROOT, encoding: 'utf8' },
      ),
    ) as Record<
      'direct' | 'server',
      { add: number[]; del: number[]; processesPerAdd: number; processesPerDel: number }
    >;

    const result = {
      calicoShim: { add: stats(samples.calicoShim.add), del: stats(samples.calicoShim.del) },
      calicoFallback: { add: stats(samples.calicoFallback.add), del: stats(samples.calicoFallback.del) },
      calico: { add: stats(samples.calico.add), del: stats(samples.calico.del) },
      calicoBundle: { add: stats(samples.calicoBundle.add), del: stats(samples.calicoBundle.del) },
      calicoSnapshot: { add: stats(samples.calicoSnapshot.add), del: stats(samples.calicoSnapshot.del) },
      reference: { add: stats(samples.reference.add), del: stats(samples.reference.del) },
      calicoInProcess: { add: stats(inProcess.direct.add), del: stats(inProcess.direct.del) },
      calicoServerInProcess: { add: stats(inProcess.server.add), del: stats(inProcess.server.del) },
      processesPerCall: {
        node: { add: inProcess.direct.processesPerAdd, del: inProcess.direct.processesPerDel },
        server: { add: inProcess.server.processesPerAdd, del: inProcess.server.processesPerDel },
      },
      calicoShimVersionCommand: stats(versionShim),
      calicoVersionCommand: stats(version),
      calicoBundleVersionCommand: stats(versionBundle),
      calicoSnapshotVersionCommand: stats(versionSnapshot),
      bareNodeStartup: stats(bareNode),
      nsenterOverhead: stats(nsenterOnly),
    };
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const ratios = {
      shimAddP50: ratio(result.calicoShim.add.p50, result.reference.add.p50),
      shimAddP99: ratio(result.calicoShim.add.p99, result.reference.add.p99),
      shimDelP50: ratio(result.calicoShim.del.p50, result.reference.del.p50),
      shimDelP99: ratio(result.calicoShim.del.p99, result.reference.del.p99),
      fallbackAddP50: ratio(result.calicoFallback.add.p50, result.reference.add.p50),
      fallbackDelP50: ratio(result.calicoFallback.del.p50, result.reference.del.p50),
      addP50: ratio(result.calico.add.p50, result.reference.add.p50),
      addP99: ratio(result.calico.add.p99, result.reference.add.p99),
      delP50: ratio(result.calico.del.p50, result.reference.del.p50),
      delP99: ratio(result.calico.del.p99, result.reference.del.p99),
      bundleAddP50: ratio(result.calicoBundle.add.p50, result.reference.add.p50),
      bundleAddP99: ratio(result.calicoBundle.add.p99, result.reference.add.p99),
      bundleDelP50: ratio(result.calicoBundle.del.p50, result.reference.del.p50),
      bundleDelP99: ratio(result.calicoBundle.del.p99, result.reference.del.p99),
      snapshotAddP50: ratio(result.calicoSnapshot.add.p50, result.reference.add.p50),
      snapshotAddP99: ratio(result.calicoSnapshot.add.p99, result.reference.add.p99),
      snapshotDelP50: ratio(result.calicoSnapshot.del.p50, result.reference.del.p50),
      snapshotDelP99: ratio(result.calicoSnapshot.del.p99, result.reference.del.p99),
    };

    const rows: [string, Stats][] = [
      ['calico ADD (shim → calico-node)', result.calicoShim.add],
      ['reference ADD (bridge+host-local)', result.reference.add],
      ['calico DEL (shim → calico-node)', result.calicoShim.del],
      ['reference DEL (bridge+host-local)', result.reference.del],
      ['calico ADD (shim, no node: snapshot)', result.calicoFallback.add],
      ['calico DEL (shim, no node: snapshot)', result.calicoFallback.del],
      ['calico ADD (dist)', result.calico.add],
      ['calico ADD (bundle)', result.calicoBundle.add],
      ['calico ADD (snapshot)', result.calicoSnapshot.add],
      ['calico DEL (dist)', result.calico.del],
      ['calico DEL (bundle)', result.calicoBundle.del],
      ['calico DEL (snapshot)', result.calicoSnapshot.del],
      ['calico ADD in-process, as the server', result.calicoServerInProcess.add],
      ['calico DEL in-process, as the server', result.calicoServerInProcess.del],
      ['calico ADD in-process, as the plugin', result.calicoInProcess.add],
      ['calico DEL in-process, as the plugin', result.calicoInProcess.del],
      ['calico VERSION (shim → calico-node)', result.calicoShimVersionCommand],
      ['calico VERSION (dist: start-up only)', result.calicoVersionCommand],
      ['calico VERSION (bundle)', result.calicoBundleVersionCommand],
      ['calico VERSION (snapshot)', result.calicoSnapshotVersionCommand],
      ['node with no script (bare start-up)', result.bareNodeStartup],
      ['nsenter + /bin/true (harness cost)', result.nsenterOverhead],
    ];
    console.log(
      `CNI latency over ${CONTAINERS} containers (ms, spawn to exit; load average ${loadavg()[0]?.toFixed(1)})`,
    );
    console.log(
      ['what'.padEnd(40), 'p50'.padStart(8), 'p99'.padStart(8), 'mean'.padStart(8), 'min'.padStart(8)].join(
        '',
      ),
    );
    for (const [name, s] of rows)
      console.log(
        [name.padEnd(40), ...[s.p50, s.p99, s.mean, s.min].map((n) => n.toFixed(1).padStart(8))].join(''),
      );
    console.log(
      `ratio shim/reference: ADD p50 ${ratios.shimAddP50}x, p99 ${ratios.shimAddP99}x; DEL p50 ${ratios.shimDelP50}x, p99 ${ratios.shimDelP99}x`,
    );
    console.log(
      `processes started per call: as the server ADD ${result.processesPerCall.server.add}, DEL ${result.processesPerCall.server.del}; as the plugin ADD ${result.processesPerCall.node.add}, DEL ${result.processesPerCall.node.del}`,
    );
    console.log(
      `ratio bundle/reference: ADD p50 ${ratios.bundleAddP50}x, p99 ${ratios.bundleAddP99}x; DEL p50 ${ratios.bundleDelP50}x, p99 ${ratios.bundleDelP99}x`,
    );
    console.log(
      `ratio dist/reference: ADD p50 ${ratios.addP50}x, p99 ${ratios.addP99}x; DEL p50 ${ratios.delP50}x, p99 ${ratios.delP99}x`,
    );
    console.log(
      `ratio snapshot/reference: ADD p50 ${ratios.snapshotAddP50}x, p99 ${ratios.snapshotAddP99}x; DEL p50 ${ratios.snapshotDelP50}x, p99 ${ratios.snapshotDelP99}x`,
    );
    // The targets are judged on the installed path: the shim with calico-node running.
    const installed = result.calicoShim.add.p50;
    const installedRatio = ratios.shimAddP50;
    console.log(
      `targets (shim → calico-node): ADD p50 < ${TARGETS.addP50Ms} ms: ${installed < TARGETS.addP50Ms ? 'met' : 'NOT met'} (${installed} ms); ADD p50 <= ${TARGETS.ratioToReference}x reference: ${installedRatio <= TARGETS.ratioToReference ? 'met' : 'NOT met'} (${installedRatio}x)`,
    );

    const out = join(ROOT, 'bench/results/cni.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(
      out,
      JSON.stringify(
        {
          benchmark: 'cni',
          date: new Date().toISOString(),
          node: process.version,
          loadAverage1m: loadavg()[0],
          containers: CONTAINERS,
          datastore: 'sqlite',
          plugin:
            'calicoShim: native/calico-cni-shim → calico-node CNI server (Felix and BGP off), as scripts/install-cni.sh installs it; calicoFallback: the shim with no calico-node, exec of the snapshot Node plugin; calico, calicoBundle, calicoSnapshot: install-cni.sh --no-shim wrappers (sh → node)',
          referencePlugins: 'containernetworking-plugins bridge + host-local (Debian 12)',
          unit: 'ms',
          ...result,
          ratios,
          targets: {
            judgedOn: 'calicoShim',
            addP50UnderMs: TARGETS.addP50Ms,
            addP50: installed,
            addP50Met: installed < TARGETS.addP50Ms,
            ratioToReference: TARGETS.ratioToReference,
            addP50Ratio: installedRatio,
            ratioMet: installedRatio <= TARGETS.ratioToReference,
          },
        },
        null,
        2,
      ) + '\n',
    );
    console.log(`wrote ${out}`);
  } finally {
    if (calicoNode && calicoNode.exitCode === null) {
      const exited = new Promise((r) => calicoNode?.once('exit', r));
      calicoNode.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
    }
    cleanup();
  }
}

await main();
