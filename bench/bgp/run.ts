/**
 * BGP end-to-end benchmark: how fast a receiving speaker takes a full table from a real peer into
 * its RIB and into the kernel, our calico-node against BIRD 2 on the same job.
 *
 * For each N (default 10k, 100k, 500k IPv4 /24s) and each receiver, a fresh pair of namespaces:
 * the announcer, a BIRD 2 with N static routes exported over eBGP (BIRD loads a generated static
 * table in a moment, where GoBGP would need one CLI call per prefix), and the receiver:
 *   (a) calico-node with Felix off (our speaker, kernel routes proto 81), or
 *   (b) BIRD 2 with a kernel protocol exporting to the main table (proto bird).
 * The clock starts at the moment the receiver itself records the session as Established (ours:
 * the status socket's `since`; BIRD: `show protocols` with millisecond time format), not when the
 * bench notices, since a receiver busy taking the table answers the bench late. Then:
 *   RIB:    all N accepted (ours: the status socket's per-peer `routesAccepted`; BIRD:
 *           `birdc show route count`);
 *   kernel: all N in the main table (the kernel's prefix count in the namespace's
 *           /proc/net/fib_triestat, read from the receiver's /proc entry without starting a
 *           process, minus the prefixes there before).
 * Both are polled every few ms (BIRD over its control socket, ours over the status socket).
 * Our receiver is started as a user runs it: `node dist/bin/calico-node.js` (run `npm run build`
 * first; the bench refuses a dist/ older than src/bgp, and falls back to tsx, saying so in the JSON,
 * only when there is no dist/ at all), since tsx adds ~50 MB of RSS and seconds of start-up.
 * CPU seconds are the receiver's user+system time from Established to all-in-kernel, its child
 * processes included (our `ip -batch` or netlink coprocess, which BIRD does in-process): /proc is
 * sampled every 5 ms and the sample at Established is the last one before it. Peak RSS is VmHWM,
 * plus the coprocess's own VmHWM for ours. Beside it: the table's cost (peak minus the RSS at
 * Established), the highest anonymous resident set sampled (RssAnon: memory of the process's own,
 * without the pages of its program files, which for Node is 34 MB of the node binary), and, once
 * per run, what the Node runtime holds with no code of ours (`node -e` with calico-node's node
 * flags): a floor no speaker written for Node can go below, reported against BIRD's peaks.
 * While a receiver takes the table, the announcer's control socket is poked every poll, so BIRD's
 * lost wake-up before its last UPDATE (`nudgeAnnouncer`) does not land on one receiver only.
 * Polling resolution grows with N and is reported. Both receivers run one after the other, never
 * together, on this 2-core machine shared with other work; the load average is recorded.
 *
 * On a loaded machine one run can be unlucky: `--repeat R` runs each receiver R times per N
 * (alternating) and keeps the run with the shortest time to kernel; every run is in the JSON.
 *
 * Usage: node --import tsx bench/bgp/run.ts [--repeat R] [N ...]   writes bench/results/bgp.json
 *   (BENCH_BGP_TRACE=1 prints each poll; BENCH_BGP_NODE_FLAGS adds node flags to calico-node, e.g.
 *   "--cpu-prof --cpu-prof-dir=/tmp/prof" or "--trace-gc", BENCH_BGP_NODE_OUTPUT=file keeps its output; BENCH_BGP_OUT writes the JSON elsewhere, for
 *   diagnostic runs that must not replace the committed results)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestStatus, statusSocketPath, type NodeStatusReply } from '../../src/bgp/speaker/index.js';
import { SqliteDatastore } from '../../src/datastore/sqlite.js';
import { ResourceClient } from '../../src/datastore/resources.js';
import { NetnsLab, requireRootAndTools } from '../../test/support/netns.js';
import { ourProgramArgv, packageRoot, PROGRAM_NODE_FLAGS } from '../../src/programs.js';
import { createRouter, requireRouter, type BgpRouter } from '../../test/support/bgp-peers.js';

const RECEIVER4 = '10.0.0.1';
const ANNOUNCER4 = '10.0.0.2';
const RECEIVER_AS = 64512;
const ANNOUNCER_AS = 65001;
const args = process.argv.slice(2);
const repeatAt = args.indexOf('--repeat');
const REPEAT = repeatAt >= 0 ? Math.max(1, Number(args[repeatAt + 1]) || 1) : 1;
const sizes = args
  .filter((_, i) => repeatAt < 0 || (i !== repeatAt && i !== repeatAt + 1))
  .map(Number)
  .filter((n) => n > 0);
const SIZES = sizes.length > 0 ? sizes : [10_000, 100_000, 500_000];
const TIMEOUT_MS = 15 * 60_000;
/** BENCH_BGP_TRACE=1 prints every poll: how the RIB and the kernel fill. */
const TRACE = process.env.BENCH_BGP_TRACE === '1';
/** BENCH_BGP_NODE_FLAGS: extra node flags for calico-node (--cpu-prof, --trace-gc, --heapsnapshot-signal=SIGUSR2). */
const NODE_FLAGS = (process.env.BENCH_BGP_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
/** BENCH_BGP_NODE_OUTPUT: a file that gets calico-node's stdout and stderr (e.g. --trace-gc lines). */
const NODE_OUTPUT = process.env.BENCH_BGP_NODE_OUTPUT;
const TICKS_PER_SEC = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

type ReceiverKind = 'calico' | 'bird';

interface Measurement {
  receiver: ReceiverKind;
  prefixes: number;
  /** Established → all N in the RIB, ms. */
  ribMs: number;
  /** Established → all N in the kernel, ms. */
  kernelMs: number;
  /** Receiver CPU (user+sys, children included) from Established to all in the kernel, s. */
  cpuSec: number;
  /** Peak resident set (VmHWM), MB. */
  peakRssMB: number;
  /** Resident set when the session came up (before the table), MB. */
  rssAtEstablishedMB: number;
  /** Of the peak: the receiver's helper processes (our netlink coprocess), MB. */
  helperPeakRssMB: number;
  /** Peak minus the resident set at Established: what the table itself cost. */
  tableRssMB: number;
  /** Highest anonymous (private) resident set seen, helper processes included (sampled), MB. */
  peakAnonMB: number;
  pollMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `/24`s from 11.0.0.0 upwards: N distinct prefixes, none overlapping the lab's addresses. */
function prefixes(n: number): string[] {
  const out: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const v = (11 << 16) + i;
    out[i] = `${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}.0/24`;
  }
  return out;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14-17 of stat (utime stime cutime cstime) are 11-14 after the command name.
  const ticks = [11, 12, 13, 14].reduce((s, i) => s + Number(fields[i]), 0);
  return ticks / TICKS_PER_SEC;
}

function memoryMB(pid: number, field: 'VmHWM' | 'VmRSS' | 'RssAnon'): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return NaN;
  }
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The live child processes of `pid`. */
function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number),
    );
  } catch {
    return [];
  }
}

/** CPU of the process, its waited-for children and its live children. */
function treeCpuSeconds(pid: number, children = childPids(pid)): number {
  let total = 0;
  try {
    total = cpuSeconds(pid);
  } catch {
    return total;
  }
  for (const child of children) {
    try {
      total += cpuSeconds(child);
    } catch {
      // exited between the listing and the read
    }
  }
  return total;
}

/** Anonymous (private, not file-backed) resident memory of the process and its live children, MB. */
function treeAnonMB(pid: number, children = childPids(pid)): number {
  return [pid, ...children].reduce((sum, p) => sum + (memoryMB(p, 'RssAnon') || 0), 0);
}

/**
 * /proc readings every 5 ms, so the reading at a past moment (Established) can be looked up, and
 * the highest anonymous resident set seen (the kernel keeps no high-water mark of that one).
 */
function sampleProcess(pid: number): {
  at(t: number): { cpu: number; rssMB: number };
  peakAnonMB(): number;
  stop(): void;
} {
  const taken: { t: number; cpu: number; rssMB: number }[] = [];
  let peakAnon = 0;
  const take = () => {
    // One listing of the children per sample, for both readings.
    const children = childPids(pid);
    taken.push({ t: Date.now(), cpu: treeCpuSeconds(pid, children), rssMB: memoryMB(pid, 'VmRSS') });
    peakAnon = Math.max(peakAnon, treeAnonMB(pid, children));
  };
  take();
  const timer = setInterval(take, 5);
  return {
    at: (t) => {
      let found = taken[0]!;
      for (const s of taken) if (s.t <= t) found = s;
      return found;
    },
    peakAnonMB: () => peakAnon,
    stop: () => clearInterval(timer),
  };
}

/**
 * What the Node runtime itself holds resident, with calico-node's node flags and no code of ours:
 * `node -e` with a timer, read after it settled. Measured in the same run as the receivers, because
 * it bounds from below what any speaker written for Node can reach.
 */
async function nodeRuntimeFloor(): Promise<{ rssMB: number; anonMB: number }> {
  const child = spawn(
    process.execPath,
    [...PROGRAM_NODE_FLAGS['calico-node'], '-e', 'setInterval(() => {}, 1 << 30)'],
    { stdio: 'ignore' },
  );
  try {
    await sleep(700);
    const pid = child.pid as number;
    return { rssMB: round1(memoryMB(pid, 'VmRSS')), anonMB: round1(memoryMB(pid, 'RssAnon')) };
  } finally {
    child.kill('SIGKILL');
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Prefixes in the main routing table, from the kernel's own count (no listing of the routes). */
function mainTablePrefixes(fibTrieStat: string): number {
  const m = /Main:[\s\S]*?Prefixes:\s+(\d+)/.exec(fibTrieStat);
  if (!m) throw new Error(`benchmark: no main table in fib_triestat:\n${fibTrieStat}`);
  return Number(m[1]);
}

/** Before the receiver runs: through a process started in the namespace. */
function kernelPrefixesIn(ns: string): number {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/fib_triestat'], { encoding: 'utf8' });
  return mainTablePrefixes(r.stdout);
}

/** While the receiver runs: its /proc view of its namespace, read without starting a process. */
function kernelPrefixesOf(pid: number): number {
  return mainTablePrefixes(readFileSync(`/proc/${pid}/net/fib_triestat`, 'utf8'));
}

/**
 * BIRD's control socket spoken directly (what birdc does), so a poll costs a socket round trip,
 * not two process starts. A reply ends with a line whose four-digit code is followed by a space.
 */
class BirdControl {
  private socket: Socket | undefined;
  private buffered = '';
  private waiting: { resolve: (reply: string) => void; reject: (e: Error) => void } | undefined;

  constructor(private readonly path: string) {}

  async request(command: string): Promise<string> {
    if (this.socket === undefined) {
      const socket = createConnection(this.path);
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => this.take(d));
      // Not there yet (BIRD starting) or gone: fail the request; the next one connects again.
      const fail = (e?: Error): void => {
        if (this.socket === socket) this.socket = undefined;
        this.buffered = '';
        const waiting = this.waiting;
        this.waiting = undefined;
        waiting?.reject(e ?? new Error('BIRD control socket closed'));
      };
      socket.on('error', fail);
      socket.on('close', () => fail());
      this.socket = socket;
      await this.reply(); // the greeting
    }
    const reply = this.reply();
    this.socket?.write(`${command}\n`);
    return reply;
  }

  private reply(): Promise<string> {
    return new Promise<string>((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  close(): void {
    this.socket?.destroy();
  }

  private take(data: string): void {
    this.buffered += data;
    if (!/(^|\n)\d{4} [^\n]*\n$/.test(this.buffered)) return;
    const reply = this.buffered;
    this.buffered = '';
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve(reply);
  }
}

/**
 * Keeps the announcer's event loop awake while a receiver takes the table: a `show status` on its
 * control socket every few ms, replies discarded. BIRD 2.0.12 as the sender holds its last UPDATE
 * (the routes of its final export step, 16 of 10k here) until something wakes its poll() — a
 * packet from the receiver, a blocked socket becoming writable, a timer — which took 0.4-1.5 s in
 * half the 10k runs, always when the receiver had nothing to send after the burst (ours sends its
 * End-of-RIB at once; a BIRD receiver sends its own late, which wakes the announcer). Seen with
 * tcpdump and `ss -ti` on the announcer: the bytes were not written, TCP was idle. Both
 * receivers get the same nudge, so the clock measures the receiver, not the announcer's wake-up.
 */
function nudgeAnnouncer(announcer: BgpRouter, everyMs: number): () => void {
  // The router keeps its control socket in its own directory (test/support/bgp-peers.ts).
  const dir = (announcer as unknown as { dir?: unknown }).dir;
  const path = typeof dir === 'string' ? join(dir, 'bird.ctl') : '';
  if (!existsSync(path)) throw new Error(`benchmark: no control socket of the announcing BIRD at '${path}'`);
  const socket = createConnection(path);
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
  const timer = setInterval(() => socket.write('show status\n'), everyMs);
  return () => {
    clearInterval(timer);
    socket.destroy();
  };
}

async function until(
  what: string,
  probe: () => Promise<boolean> | boolean,
  pollMs: number,
  limitMs = TIMEOUT_MS,
): Promise<number> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (await probe()) return Date.now();
    if (Date.now() > deadline) throw new Error(`benchmark: timed out waiting until ${what}`);
    await sleep(pollMs);
  }
}

/** The receiver side as the loop below drives it. */
interface Receiver {
  pid(): number;
  /** When the receiver recorded the session as Established (epoch ms), once it is. */
  establishedAt(): Promise<number | undefined>;
  ribCount(): Promise<number>;
  stop(): Promise<void>;
}

/** How calico-node is started: the compiled program when there is one, as a user runs it. */
const CALICO_NODE_ARGV = ourProgramArgv('calico-node');
const CALICO_NODE_FORM = CALICO_NODE_ARGV.includes('tsx') ? 'tsx (no dist/: run npm run build)' : 'dist';

/** Newest modification time of the .ts files under a directory. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Refuses to measure a dist/ that does not hold the speaker's current sources. */
function requireFreshDist(): void {
  if (CALICO_NODE_FORM !== 'dist') {
    console.warn('bench/bgp: no dist/ build; calico-node runs through tsx (~50 MB more RSS than a user has)');
    return;
  }
  const compiled = CALICO_NODE_ARGV[CALICO_NODE_ARGV.length - 1] as string;
  const root = packageRoot();
  const speaker = join(root, 'dist', 'src', 'bgp', 'speaker', 'agent.js');
  const built = Math.min(statSync(compiled).mtimeMs, existsSync(speaker) ? statSync(speaker).mtimeMs : 0);
  if (newestSource(join(root, 'src', 'bgp')) > built) {
    throw new Error('bench/bgp: dist/ is older than src/bgp; run `npm run build` first');
  }
}

/** A child's stdout and stderr as one text so far (and appended to BENCH_BGP_NODE_OUTPUT, when set). */
function collectOutput(child: ChildProcess): () => string {
  let output = '';
  const keep = (d: Buffer) => {
    output += d.toString();
    if (NODE_OUTPUT !== undefined) appendFileSync(NODE_OUTPUT, d);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => output;
}

/** calico-node in the namespace (`ip netns exec` execs it, so the child's pid is calico-node's). */
function startCalicoNode(
  ns: string,
  nodeName: string,
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; output: () => string; stop: () => Promise<void> } {
  const [node, ...argv] = CALICO_NODE_ARGV as [string, ...string[]];
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      node,
      ...NODE_FLAGS,
      ...argv,
      '--node',
      nodeName,
      '--health-port',
      '0',
      '--no-felix',
      '--no-ipv6',
      '--log-level',
      'warn',
    ],
    { cwd: packageRoot(), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = collectOutput(child);
  return {
    child,
    output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function calicoReceiver(lab: NetnsLab, ns: string, dir: string): Promise<Receiver> {
  const dbPath = join(dir, 'store.sqlite');
  const store = await SqliteDatastore.open(dbPath);
  const client = new ResourceClient(store);
  await client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: { nodeToNodeMeshEnabled: false, asNumber: RECEIVER_AS },
  });
  await client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name: 'bench' },
    spec: { bgp: { ipv4Address: `${RECEIVER4}/24` } },
  });
  await client.create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'BGPPeer',
    metadata: { name: 'announcer' },
    spec: { peerIP: ANNOUNCER4, asNumber: ANNOUNCER_AS },
  });
  await store.close();
  const runDir = join(dir, 'run');
  const node = startCalicoNode(ns, 'bench', {
    DATASTORE_TYPE: 'sqlite',
    SQLITE_PATH: dbPath,
    CALICO_RUN_DIR: runDir,
    LOGLEVEL: 'warn',
  });
  const sock = statusSocketPath('bench', runDir);
  const peer = async () => {
    try {
      const reply = (await requestStatus(sock, { request: 'status' }, 30_000)) as NodeStatusReply;
      return reply.bgp?.peers.find((p) => p.address === ANNOUNCER4);
    } catch {
      return undefined;
    }
  };
  // `ip netns exec` execs the program: the child's pid is calico-node's.
  const pid = node.child.pid ?? 0;
  void lab;
  return {
    pid: () => pid,
    establishedAt: async () => {
      if (node.child.exitCode !== null) throw new Error(`calico-node exited:\n${node.output()}`);
      const p = await peer();
      return p?.state === 'Established' ? p.since : undefined;
    },
    ribCount: async () => (await peer())?.routesAccepted ?? 0,
    stop: async () => {
      await node.stop();
    },
  };
}

async function birdReceiver(lab: NetnsLab, ns: string, dir: string): Promise<Receiver> {
  const conf = join(dir, 'receiver.conf');
  const sock = join(dir, 'receiver.ctl');
  writeFileSync(
    conf,
    [
      `router id ${RECEIVER4};`,
      'timeformat protocol iso long ms;',
      'protocol device { scan time 10; }',
      'protocol kernel { ipv4 { export all; import none; }; merge paths on; }',
      'protocol bgp announcer {',
      `  local ${RECEIVER4} as ${RECEIVER_AS};`,
      `  neighbor ${ANNOUNCER4} as ${ANNOUNCER_AS};`,
      '  connect retry time 1;',
      '  ipv4 { import all; export none; };',
      '}',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    'ip',
    ['netns', 'exec', ns, 'bird', '-f', '-c', conf, '-s', sock, '-P', join(dir, 'r.pid')],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output = collectOutput(child);
  const pid = child.pid ?? 0;
  const control = new BirdControl(sock);
  const birdc = async (command: string): Promise<string> => {
    try {
      return await control.request(command);
    } catch {
      return '';
    }
  };
  void lab;
  return {
    pid: () => pid,
    establishedAt: async () => {
      if (child.exitCode !== null) throw new Error(`receiving BIRD exited:\n${output()}`);
      const m = /announcer\s+BGP\s+\S+\s+up\s+(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})\s+Established/.exec(
        await birdc('show protocols'),
      );
      // BIRD prints local time, as JavaScript reads a date-time without a zone.
      return m ? new Date(`${m[1]}T${m[2]}`).getTime() : undefined;
    },
    ribCount: async () => {
      const m = /(\d+) of (\d+) routes/.exec(await birdc('show route protocol announcer count'));
      return m ? Number(m[1]) : 0;
    },
    stop: async () => {
      control.close();
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function measure(kind: ReceiverKind, n: number, table: readonly string[]): Promise<Measurement> {
  const lab = new NetnsLab();
  const dir = mkdtempSync(join(tmpdir(), 'calico-ts-bench-bgp-'));
  let announcer: BgpRouter | undefined;
  let receiver: Receiver | undefined;
  let stopNudging: (() => void) | undefined;
  const pollMs = n <= 10_000 ? 5 : n <= 100_000 ? 20 : 50;
  try {
    const rcv = lab.addNamespace('rcv');
    const ann = lab.addNamespace('ann');
    lab.veth({ ns: rcv, name: 'eth1' }, { ns: ann, name: 'eth1' });
    lab.exec(rcv, 'ip', ['addr', 'add', `${RECEIVER4}/24`, 'dev', 'eth1']);
    lab.exec(ann, 'ip', ['addr', 'add', `${ANNOUNCER4}/24`, 'dev', 'eth1']);
    announcer = createRouter({
      kind: 'bird',
      ns: ann,
      asNumber: ANNOUNCER_AS,
      routerId: ANNOUNCER4,
      address4: ANNOUNCER4,
      neighbors: [{ address: RECEIVER4, asNumber: RECEIVER_AS, holdTimeSec: 240 }],
    });
    await announcer.announce(table);
    await announcer.start();
    const baseline = kernelPrefixesIn(rcv);
    receiver = kind === 'calico' ? await calicoReceiver(lab, rcv, dir) : await birdReceiver(lab, rcv, dir);
    const r = receiver;
    const samples = sampleProcess(r.pid());
    stopNudging = nudgeAnnouncer(announcer, pollMs);
    let t0 = 0;
    await until(
      `${kind} is Established`,
      async () => {
        t0 = (await r.establishedAt()) ?? 0;
        return t0 > 0;
      },
      10,
      60_000,
    );
    const atStart = samples.at(t0);
    const cpu0 = atStart.cpu;
    const rss0 = atStart.rssMB;
    let tRib: number | undefined;
    let tKernel: number | undefined;
    await until(
      `${kind} has ${n} routes in its RIB and the kernel`,
      async () => {
        const inRib = tRib === undefined ? await r.ribCount() : n;
        const inKernel = tKernel === undefined ? kernelPrefixesOf(r.pid()) - baseline : n;
        if (TRACE) console.log(`${kind} ${n}: +${Date.now() - t0} ms: RIB ${inRib}, kernel ${inKernel}`);
        if (tRib === undefined && inRib >= n) tRib = Date.now();
        if (tKernel === undefined && inKernel >= n) tKernel = Date.now();
        return tRib !== undefined && tKernel !== undefined;
      },
      pollMs,
    );
    const cpu1 = treeCpuSeconds(r.pid());
    samples.stop();
    const peakAnon = Math.max(samples.peakAnonMB(), treeAnonMB(r.pid()));
    const helperPeak = childPids(r.pid()).reduce((sum, p) => sum + (memoryMB(p, 'VmHWM') || 0), 0);
    const peak = memoryMB(r.pid(), 'VmHWM') + helperPeak;
    return {
      receiver: kind,
      prefixes: n,
      ribMs: (tRib as number) - t0,
      kernelMs: (tKernel as number) - t0,
      cpuSec: Math.round((cpu1 - cpu0) * 100) / 100,
      peakRssMB: Math.round(peak * 10) / 10,
      helperPeakRssMB: Math.round(helperPeak * 10) / 10,
      rssAtEstablishedMB: Math.round(rss0 * 10) / 10,
      tableRssMB: Math.round((peak - rss0) * 10) / 10,
      peakAnonMB: round1(peakAnon),
      pollMs,
    };
  } finally {
    stopNudging?.();
    await receiver?.stop().catch(() => undefined);
    await announcer?.stop().catch(() => undefined);
    lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  requireRootAndTools(['ip', 'cat']);
  requireFreshDist();
  requireRouter('bird');
  const floor = await nodeRuntimeFloor();
  const rows: {
    prefixes: number;
    bird: Measurement;
    calico: Measurement;
    ratio: Record<string, number>;
    runs: Measurement[];
  }[] = [];
  const load: number[][] = [];
  for (const n of SIZES) {
    const table = prefixes(n);
    load.push(loadavg());
    const runs: Measurement[] = [];
    for (let i = 0; i < REPEAT; i++) {
      runs.push(await measure('bird', n, table));
      runs.push(await measure('calico', n, table));
    }
    const best = (kind: ReceiverKind) =>
      runs.filter((m) => m.receiver === kind).reduce((a, b) => (b.kernelMs < a.kernelMs ? b : a));
    const bird = best('bird');
    const calico = best('calico');
    const ratio = {
      rib: round2(calico.ribMs / Math.max(1, bird.ribMs)),
      kernel: round2(calico.kernelMs / Math.max(1, bird.kernelMs)),
      cpu: round2(calico.cpuSec / Math.max(0.01, bird.cpuSec)),
      peakRss: round2(calico.peakRssMB / bird.peakRssMB),
      tableRss: round2(calico.tableRssMB / Math.max(0.1, bird.tableRssMB)),
      peakAnon: round2(calico.peakAnonMB / Math.max(0.1, bird.peakAnonMB)),
      nodeFloor: round2(floor.rssMB / bird.peakRssMB),
    };
    rows.push({ prefixes: n, bird, calico, ratio, runs });
    console.log(
      `N=${n}: RIB ${calico.ribMs} ms vs BIRD ${bird.ribMs} ms (x${ratio.rib}); kernel ${calico.kernelMs} vs ${bird.kernelMs} ms (x${ratio.kernel}); ` +
        `CPU ${calico.cpuSec} vs ${bird.cpuSec} s (x${ratio.cpu}); peak RSS ${calico.peakRssMB} vs ${bird.peakRssMB} MB (x${ratio.peakRss})`,
    );
  }
  console.log('');
  console.log(
    [
      'prefixes',
      'receiver',
      'to RIB ms',
      'to kernel ms',
      'CPU s',
      'peak RSS MB',
      'RSS at Established MB',
      'table RSS MB',
      'peak anonymous MB',
      'poll ms',
    ].join(' | '),
  );
  for (const r of rows) {
    for (const m of [r.calico, r.bird]) {
      console.log(
        [
          m.prefixes,
          m.receiver,
          m.ribMs,
          m.kernelMs,
          m.cpuSec,
          m.peakRssMB,
          m.rssAtEstablishedMB,
          m.tableRssMB,
          m.peakAnonMB,
          m.pollMs,
        ].join(' | '),
      );
    }
    console.log(
      [
        r.prefixes,
        'ratio ours/BIRD',
        `x${r.ratio.rib}`,
        `x${r.ratio.kernel}`,
        `x${r.ratio.cpu}`,
        `x${r.ratio.peakRss}`,
        '',
        `x${r.ratio.tableRss}`,
        `x${r.ratio.peakAnon}`,
        '',
      ].join(' | '),
    );
  }
  console.log(
    `\nthe Node runtime alone (node ${PROGRAM_NODE_FLAGS['calico-node'].join(' ')} -e 'setInterval(...)', no code of ours): ` +
      `${floor.rssMB} MB resident (${floor.anonMB} MB anonymous) = ` +
      rows.map((r) => `x${r.ratio.nodeFloor} of BIRD's peak at ${r.prefixes}`).join(', '),
  );
  const targets = rows.map((r) => ({
    prefixes: r.prefixes,
    ribWithin1_5x: (r.ratio.rib ?? Infinity) <= 1.5,
    kernelWithin1_5x: (r.ratio.kernel ?? Infinity) <= 1.5,
    memoryWithin3x: (r.ratio.peakRss ?? Infinity) <= 3,
    /** Whether 3x of BIRD's peak is above what the Node runtime holds with no code at all. */
    nodeRuntimeBelow3x: (r.ratio.nodeFloor ?? Infinity) <= 3,
    tableMemoryWithin3x: (r.ratio.tableRss ?? Infinity) <= 3,
    anonymousMemoryWithin3x: (r.ratio.peakAnon ?? Infinity) <= 3,
  }));
  const out =
    process.env.BENCH_BGP_OUT ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'bgp.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        benchmark: 'bgp: announcer BIRD 2 → receiver (calico-node --no-felix vs BIRD 2), eBGP, IPv4 /24s',
        date: new Date().toISOString(),
        cpus: cpus().length,
        calicoNode: CALICO_NODE_FORM,
        loadAverageBeforeEachSize: load,
        nodeRuntimeFloor: floor,
        rows,
        targets,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nwrote ${out}`);
}

await main();
