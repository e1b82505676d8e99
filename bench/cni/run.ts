// The CNI benchmark: ADD and DEL latency of our `calico` plugin in its three installed forms (compiled
// dist/, one esbuild bundle, a V8 start-up snapshot; see scripts/install-cni.sh; SQLite datastore,
// calico-ipam in-process) over N containers, in the same run as the reference `bridge` + `host-local`
// plugins doing the same job (a veth per container, one address each), invocations interleaved so
// both see the same machine load. Each call is timed from spawn to exit, as a runtime sees it; both
// go through `nsenter --net` into the bench's host namespace, whose own cost is measured and shown.
// Also measured: `calico` VERSION (Node start-up plus module loading, no datastore, no kernel work),
// and the same ADD/DEL called in one long-lived process (bench/cni/in-process.ts): the work itself.
//
// Run (as root): npm run build && node --import tsx bench/cni/run.ts   (BENCH_CNI_CONTAINERS=50)
// Writes bench/results/cni.json.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SqliteDatastore } from '../../src/datastore/sqlite.js';
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

  try {
    const hostNs = addNs('host');
    execFileSync(join(ROOT, 'scripts/install-cni.sh'), ['--dest', join(dir, 'bin')], { stdio: 'ignore' });
    execFileSync(join(ROOT, 'scripts/install-cni.sh'), ['--dest', join(dir, 'bin-bundle'), '--bundle'], {
      stdio: 'ignore',
    });
    execFileSync(join(ROOT, 'scripts/install-cni.sh'), ['--dest', join(dir, 'bin-snapshot'), '--snapshot'], {
      stdio: 'ignore',
    });
    const sqlitePath = join(dir, 'store.sqlite');
    const store = await SqliteDatastore.open(sqlitePath);
    await new ResourceClient(store).create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'benchpool' },
      spec: { cidr: '10.123.0.0/16', blockSize: 26 },
    });
    await store.close();

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
      calico: { path: join(dir, 'bin/calico'), conf: calicoConf },
      calicoBundle: { path: join(dir, 'bin-bundle/calico'), conf: calicoConf },
      calicoSnapshot: { path: join(dir, 'bin-snapshot/calico'), conf: calicoConf },
      reference: { path: join(REFERENCE_DIR, 'bridge'), conf: bridgeConf },
    } as const;
    const cniPath = [join(dir, 'bin'), REFERENCE_DIR].join(':');
    const containers = Array.from({ length: CONTAINERS }, (_, i) => ({
      calico: addNs(`c${i}`),
      calicoBundle: addNs(`b${i}`),
      calicoSnapshot: addNs(`s${i}`),
      reference: addNs(`r${i}`),
      id: `${prefix}ctr${i}`,
    }));
    const envFor = (command: string, ns: string, id: string) => ({
      CNI_COMMAND: command,
      CNI_CONTAINERID: id,
      CNI_NETNS: `/run/netns/${ns}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: cniPath,
    });

    const FORMS = ['calico', 'calicoBundle', 'calicoSnapshot', 'reference'] as const;
    const samples = {
      calico: { add: [] as number[], del: [] as number[] },
      calicoBundle: { add: [] as number[], del: [] as number[] },
      calicoSnapshot: { add: [] as number[], del: [] as number[] },
      reference: { add: [] as number[], del: [] as number[] },
    };
    // Warm the file cache and create the bridge, so the first timed call is not an outlier of set-up.
    for (const which of FORMS) {
      const warm = addNs(`w-${which.toLowerCase()}`);
      await timedCall(hostNs, plugins[which].path, envFor('ADD', warm, `${prefix}warm`), plugins[which].conf);
      await timedCall(hostNs, plugins[which].path, envFor('DEL', warm, `${prefix}warm`), plugins[which].conf);
    }
    for (const command of ['ADD', 'DEL'] as const)
      for (const c of containers)
        for (const which of FORMS) {
          const r = await timedCall(
            hostNs,
            plugins[which].path,
            envFor(command, c[which], c.id),
            plugins[which].conf,
          );
          if (r.code !== 0) throw new Error(`${which} ${command} ${c.id} failed: ${r.stdout}`);
          samples[which][command === 'ADD' ? 'add' : 'del'].push(r.ms);
        }

    const version: number[] = [];
    const versionBundle: number[] = [];
    const versionSnapshot: number[] = [];
    const bareNode: number[] = [];
    const nsenterOnly: number[] = [];
    for (let i = 0; i < 20; i++) {
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
    ) as { add: number[]; del: number[] };

    const result = {
      calico: { add: stats(samples.calico.add), del: stats(samples.calico.del) },
      calicoBundle: { add: stats(samples.calicoBundle.add), del: stats(samples.calicoBundle.del) },
      calicoSnapshot: { add: stats(samples.calicoSnapshot.add), del: stats(samples.calicoSnapshot.del) },
      reference: { add: stats(samples.reference.add), del: stats(samples.reference.del) },
      calicoInProcess: { add: stats(inProcess.add), del: stats(inProcess.del) },
      calicoVersionCommand: stats(version),
      calicoBundleVersionCommand: stats(versionBundle),
      calicoSnapshotVersionCommand: stats(versionSnapshot),
      bareNodeStartup: stats(bareNode),
      nsenterOverhead: stats(nsenterOnly),
    };
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const ratios = {
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
      ['calico ADD (dist)', result.calico.add],
      ['calico ADD (bundle)', result.calicoBundle.add],
      ['calico ADD (snapshot)', result.calicoSnapshot.add],
      ['reference ADD (bridge+host-local)', result.reference.add],
      ['calico DEL (dist)', result.calico.del],
      ['calico DEL (bundle)', result.calicoBundle.del],
      ['calico DEL (snapshot)', result.calicoSnapshot.del],
      ['reference DEL (bridge+host-local)', result.reference.del],
      ['calico ADD in-process (no start-up)', result.calicoInProcess.add],
      ['calico DEL in-process (no start-up)', result.calicoInProcess.del],
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
      ['what'.padEnd(36), 'p50'.padStart(8), 'p99'.padStart(8), 'mean'.padStart(8), 'min'.padStart(8)].join(
        '',
      ),
    );
    for (const [name, s] of rows)
      console.log(
        [name.padEnd(36), ...[s.p50, s.p99, s.mean, s.min].map((n) => n.toFixed(1).padStart(8))].join(''),
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
    const best = Math.min(result.calico.add.p50, result.calicoBundle.add.p50, result.calicoSnapshot.add.p50);
    const bestRatio = Math.min(ratios.addP50, ratios.bundleAddP50, ratios.snapshotAddP50);
    console.log(
      `targets (best form): ADD p50 < ${TARGETS.addP50Ms} ms: ${best < TARGETS.addP50Ms ? 'met' : 'NOT met'} (${best} ms); ADD p50 <= ${TARGETS.ratioToReference}x reference: ${bestRatio <= TARGETS.ratioToReference ? 'met' : 'NOT met'} (${bestRatio}x)`,
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
          plugin: 'dist/bin/calico.js via the install-cni.sh wrapper (sh → node)',
          referencePlugins: 'containernetworking-plugins bridge + host-local (Debian 12)',
          unit: 'ms',
          ...result,
          ratios,
          targets: {
            addP50UnderMs: TARGETS.addP50Ms,
            bestAddP50: best,
            addP50Met: best < TARGETS.addP50Ms,
            ratioToReference: TARGETS.ratioToReference,
            bestAddP50Ratio: bestRatio,
            ratioMet: bestRatio <= TARGETS.ratioToReference,
          },
        },
        null,
        2,
      ) + '\n',
    );
    console.log(`wrote ${out}`);
  } finally {
    cleanup();
  }
}

await main();
