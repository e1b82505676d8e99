/**
 * Real BGP routers as the other side of our speaker: BIRD 2, FRR (zebra + bgpd) and GoBGP, each
 * run as ordinary processes inside a network namespace a test made, with its own config, pid,
 * control socket and log in a private directory, so several run side by side and none touches the
 * machine's own router (the Debian packages' system services stay stopped).
 *
 * One interface for the three (`BgpRouter`): the tests are tables over the router kinds, and a
 * scenario written once runs against each. A router is described by data (`RouterSpec`: AS,
 * router id, neighbours with their family, RR-client, graceful restart and timers); what it
 * announces is kept here too, so a restart brings the same routes back (BIRD and FRR from their
 * regenerated config files, GoBGP re-injected through its API as soon as it answers).
 *
 * Each router answers questions through its own CLI and we parse its JSON (FRR, GoBGP) or text
 * (BIRD) into one shape, `LearnedRoute`: the prefix, the next hop, the AS path and the reflection
 * attributes, for routes learned from a neighbour (not the router's own).
 *
 * Failures are loud: a missing binary throws with the package to install, a router that does not
 * come up throws with its log. `stop()` always kills the processes and removes the directory; the
 * process-exit hook does the same if a test dies first.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type RouterKind = 'bird' | 'frr' | 'gobgp';
export const ROUTER_KINDS: readonly RouterKind[] = ['bird', 'frr', 'gobgp'];

export type Family = 'ipv4' | 'ipv6';

export interface NeighborSpec {
  /** The neighbour's address; its family decides the session's address family. */
  readonly address: string;
  readonly asNumber: number;
  /** We reflect this neighbour's routes to our other iBGP neighbours (RFC 4456 client). */
  readonly routeReflectorClient?: boolean;
  /** Advertise graceful restart (RFC 4724) with this restart time. */
  readonly gracefulRestartSec?: number;
  /** Proposed hold time (keepalive a third of it); small values make dead peers show quickly. */
  readonly holdTimeSec?: number;
}

export interface RouterSpec {
  readonly kind: RouterKind;
  /** Full namespace name (from NetnsLab.addNamespace). */
  readonly ns: string;
  readonly asNumber: number;
  readonly routerId: string;
  /** Our own addresses per family: the next hop we announce with. */
  readonly address4?: string;
  readonly address6?: string;
  readonly neighbors: readonly NeighborSpec[];
  /** Route reflector cluster id (when some neighbour is an RR client). */
  readonly clusterId?: string;
}

export interface LearnedRoute {
  readonly prefix: string;
  readonly family: Family;
  /** The neighbour the path came from. */
  readonly from: string;
  readonly nextHop: string;
  readonly asPath: readonly number[];
  readonly best: boolean;
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
}

export type SessionState = 'Established' | 'other';

export interface BgpRouter {
  readonly kind: RouterKind;
  readonly spec: RouterSpec;
  /** Everything the router's processes printed, for failure messages. */
  readonly log: () => string;
  start(): Promise<void>;
  /** Starts again after kill(): with `graceful`, as a restarting speaker (RFC 4724 R/F bits). */
  restart(opts: { graceful: boolean }): Promise<void>;
  announce(prefixes: readonly string[]): Promise<void>;
  withdraw(prefixes: readonly string[]): Promise<void>;
  /** Paths learned from neighbours (not our own), every path, best marked. */
  learned(family: Family): Promise<LearnedRoute[]>;
  /** Session state per neighbour address. */
  sessions(): Promise<Record<string, SessionState>>;
  /** SIGKILL: the TCP sessions close with no NOTIFICATION (what a crash looks like to the peer). */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: a hung router; only the hold timer notices. */
  freeze(): void;
  thaw(): void;
  /** Kills the processes, removes the directory. Safe to call more than once. */
  stop(): Promise<void>;
}

const BINARIES: Readonly<Record<RouterKind, readonly { path: string; pkg: string }[]>> = {
  bird: [
    { path: 'bird', pkg: 'bird2' },
    { path: 'birdc', pkg: 'bird2' },
  ],
  frr: [
    { path: '/usr/lib/frr/zebra', pkg: 'frr' },
    { path: '/usr/lib/frr/bgpd', pkg: 'frr' },
    { path: 'vtysh', pkg: 'frr' },
  ],
  gobgp: [
    { path: 'gobgpd', pkg: 'gobgpd' },
    { path: 'gobgp', pkg: 'gobgpd' },
  ],
};

/** Throws, naming the Debian package, when a router's programs are not installed. */
export function requireRouter(kind: RouterKind): void {
  const missing = BINARIES[kind].filter((b) => spawnSync('sh', ['-c', `command -v ${b.path}`]).status !== 0);
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((m) => m.pkg))].join(' ');
    throw new Error(
      `${kind} interop needs ${missing.map((m) => m.path).join(', ')}: apt-get install ${pkgs} (scripts/setup.sh does)`,
    );
  }
}

export function createRouter(spec: RouterSpec): BgpRouter {
  requireRouter(spec.kind);
  switch (spec.kind) {
    case 'bird':
      return new BirdRouter(spec);
    case 'frr':
      return new FrrRouter(spec);
    case 'gobgp':
      return new GobgpRouter(spec);
    default: {
      const unknown: never = spec.kind;
      throw new Error(`unknown router kind ${String(unknown)}`);
    }
  }
}

export function familyOf(addressOrPrefix: string): Family {
  return addressOrPrefix.includes(':') ? 'ipv6' : 'ipv4';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `ok`, or throws naming what it waited for and the last value seen. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T> | T,
  ok: (v: T) => boolean,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}; last saw ${JSON.stringify(v)}`);
    }
    await sleep(intervalMs);
  }
}

/** A process in a namespace, its output collected. */
class NsProcess {
  readonly child: ChildProcess;
  output = '';
  constructor(ns: string, cmd: string, args: readonly string[]) {
    this.child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    // A signal (kill/stop) is expected; only keep the process from crashing the test on EPIPE.
    this.child.on('error', (e) => (this.output += `\n[spawn error: ${e.message}]`));
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }
  async kill(): Promise<void> {
    if (!this.running) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** What every kind shares: the directory, the process list, exit-time cleanup, the announced set. */
abstract class RouterBase implements BgpRouter {
  readonly kind: RouterKind;
  protected readonly dir: string;
  protected procs: NsProcess[] = [];
  protected readonly announced = new Set<string>();
  private pastOutput = '';
  private readonly onExit = () => {
    for (const p of this.procs) p.signal('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  };

  constructor(readonly spec: RouterSpec) {
    this.kind = spec.kind;
    this.dir = mkdtempSync(join(tmpdir(), `calico-ts-${spec.kind}-`));
    process.on('exit', this.onExit);
  }

  log = (): string => this.pastOutput + this.procs.map((p) => p.output).join('\n');

  protected abstract launch(graceful: boolean): Promise<void>;
  abstract announce(prefixes: readonly string[]): Promise<void>;
  abstract withdraw(prefixes: readonly string[]): Promise<void>;
  abstract learned(family: Family): Promise<LearnedRoute[]>;
  abstract sessions(): Promise<Record<string, SessionState>>;

  async start(): Promise<void> {
    await this.launch(false);
  }

  async restart(opts: { graceful: boolean }): Promise<void> {
    await this.kill();
    await this.launch(opts.graceful);
  }

  async kill(): Promise<void> {
    for (const p of this.procs) await p.kill();
    this.pastOutput += this.procs.map((p) => p.output).join('\n');
    this.procs = [];
  }

  freeze(): void {
    for (const p of this.procs) p.signal('SIGSTOP');
  }

  thaw(): void {
    for (const p of this.procs) p.signal('SIGCONT');
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
    process.off('exit', this.onExit);
  }

  protected spawn(cmd: string, args: readonly string[]): NsProcess {
    const p = new NsProcess(this.spec.ns, cmd, args);
    this.procs.push(p);
    return p;
  }

  /** Runs a CLI in the router's namespace; throws with its output when it fails. */
  protected cli(cmd: string, args: readonly string[]): string {
    const r = spawnSync('ip', ['netns', 'exec', this.spec.ns, cmd, ...args], {
      encoding: 'utf8',
      maxBuffer: 512 * 1024 * 1024,
    });
    if (r.status !== 0) {
      throw new Error(
        `${this.kind}: ${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}\n--- router log ---\n${this.log()}`,
      );
    }
    return r.stdout;
  }

  protected async waitUp(what: string, probe: () => boolean): Promise<void> {
    await waitFor(
      `${this.kind} in ${this.spec.ns} ${what}`,
      () => {
        const dead = this.procs.find((p) => !p.running);
        if (dead) throw new Error(`${this.kind} exited while starting:\n${this.log()}`);
        return probe();
      },
      (ok) => ok,
      15_000,
      100,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n--- router log ---\n${this.log()}`);
    });
  }

  protected nextHopFor(family: Family): string {
    const a = family === 'ipv4' ? this.spec.address4 : this.spec.address6;
    if (a === undefined)
      throw new Error(`${this.kind} router ${this.spec.routerId} has no ${family} address`);
    return a;
  }

  protected neighborsOf(family: Family): NeighborSpec[] {
    return this.spec.neighbors.filter((n) => familyOf(n.address) === family);
  }
}

// ---------------------------------------------------------------- BIRD 2

/** BIRD 2: config file with a static protocol per family; announce = rewrite + `birdc configure`. */
class BirdRouter extends RouterBase {
  private get sock(): string {
    return join(this.dir, 'bird.ctl');
  }
  private get conf(): string {
    return join(this.dir, 'bird.conf');
  }

  static protocolName(address: string): string {
    return `n_${address.replace(/[.:]/g, '_')}`;
  }

  private render(): string {
    const s = this.spec;
    const lines = [`router id ${s.routerId};`, 'protocol device { scan time 10; }'];
    for (const family of ['ipv4', 'ipv6'] as const) {
      const routes = [...this.announced].filter((p) => familyOf(p) === family);
      lines.push(
        `protocol static static_${family} { ${family}; ${routes.map((p) => `route ${p} blackhole;`).join(' ')} }`,
      );
    }
    for (const n of s.neighbors) {
      const family = familyOf(n.address);
      const ibgp = n.asNumber === s.asNumber;
      const hold = n.holdTimeSec ?? 9;
      lines.push(
        `protocol bgp ${BirdRouter.protocolName(n.address)} {`,
        `  local ${this.nextHopFor(family)} as ${s.asNumber};`,
        `  neighbor ${n.address} as ${n.asNumber};`,
        '  direct;',
        '  connect retry time 1;',
        '  connect delay time 1;',
        '  error wait time 1, 2;',
        `  hold time ${hold}; keepalive time ${Math.max(1, Math.floor(hold / 3))};`,
        ...(n.gracefulRestartSec !== undefined
          ? ['  graceful restart on;', `  graceful restart time ${n.gracefulRestartSec};`]
          : ['  graceful restart off;']),
        ...(n.routeReflectorClient ? ['  rr client;', `  rr cluster id ${s.clusterId ?? s.routerId};`] : []),
        // Our own (static) routes go out with our address; reflected iBGP routes keep theirs.
        ...(ibgp ? [`  ${family} { import all; export all; next hop self ebgp; };`] : []),
        ...(!ibgp ? [`  ${family} { import all; export all; };`] : []),
        '}',
      );
    }
    return lines.join('\n') + '\n';
  }

  protected async launch(graceful: boolean): Promise<void> {
    writeFileSync(this.conf, this.render());
    this.spawn('bird', [
      '-f',
      '-c',
      this.conf,
      '-s',
      this.sock,
      '-P',
      join(this.dir, 'bird.pid'),
      ...(graceful ? ['-R'] : []),
    ]);
    await this.waitUp(
      'answers on its control socket',
      () =>
        spawnSync('ip', ['netns', 'exec', this.spec.ns, 'birdc', '-s', this.sock, 'show', 'status'])
          .status === 0,
    );
  }

  private reconfigure(): void {
    writeFileSync(this.conf, this.render());
    const out = this.cli('birdc', ['-s', this.sock, 'configure']);
    if (!/Reconfigur|Reconfiguration in progress|Reconfigured/i.test(out)) {
      throw new Error(`bird did not take the new configuration: ${out}`);
    }
  }

  async announce(prefixes: readonly string[]): Promise<void> {
    for (const p of prefixes) this.announced.add(p);
    if (this.procs.length > 0) this.reconfigure();
  }

  async withdraw(prefixes: readonly string[]): Promise<void> {
    for (const p of prefixes) this.announced.delete(p);
    if (this.procs.length > 0) this.reconfigure();
  }

  async learned(family: Family): Promise<LearnedRoute[]> {
    const table = family === 'ipv4' ? 'master4' : 'master6';
    const byProtocol = new Map(
      this.spec.neighbors.map((n) => [BirdRouter.protocolName(n.address), n.address]),
    );
    const text = this.cli('birdc', ['-s', this.sock, 'show', 'route', 'table', table, 'all']);
    return parseBirdRoutes(text, family).map((r) => ({ ...r, from: byProtocol.get(r.from) ?? r.from }));
  }

  async sessions(): Promise<Record<string, SessionState>> {
    const out = this.cli('birdc', ['-s', this.sock, 'show', 'protocols']);
    const result: Record<string, SessionState> = {};
    for (const n of this.spec.neighbors) {
      const line = out.split('\n').find((l) => l.startsWith(`${BirdRouter.protocolName(n.address)} `));
      result[n.address] = line !== undefined && /\sEstablished\s*$/.test(line) ? 'Established' : 'other';
    }
    return result;
  }
}

/**
 * `birdc show route all` as paths. Each route starts on a line with the prefix (or, for further
 * paths of the same prefix, with spaces and "unicast"); its attribute lines follow, indented.
 */
export function parseBirdRoutes(text: string, family: Family): LearnedRoute[] {
  const out: LearnedRoute[] = [];
  let prefix = '';
  let current: { best: boolean; from: string; attrs: Map<string, string>; bgp: boolean } | undefined;
  const flush = () => {
    if (current?.bgp) {
      const nh = current.attrs.get('BGP.next_hop')?.split(/\s+/)[0] ?? '';
      const asPath = (current.attrs.get('BGP.as_path') ?? '')
        .split(/\s+/)
        .filter((x) => /^\d+$/.test(x))
        .map(Number);
      const originator = current.attrs.get('BGP.originator_id');
      const clusters = current.attrs.get('BGP.cluster_list');
      out.push({
        prefix,
        family,
        from: current.from,
        nextHop: nh,
        asPath,
        best: current.best,
        ...(originator !== undefined ? { originatorId: originator } : {}),
        ...(clusters !== undefined ? { clusterList: clusters.split(/\s+/).filter(Boolean) } : {}),
      });
    }
    current = undefined;
  };
  for (const line of text.split('\n')) {
    const head = /^(\S+)?\s+(unicast|blackhole|unreachable|prohibited)\s+\[(\S+)\s[^\]]*\]\s*(\*)?/.exec(
      line,
    );
    if (head && (head[1] !== undefined || line.startsWith(' ') || line.startsWith('\t'))) {
      flush();
      if (head[1] !== undefined && head[1] !== 'Table') prefix = head[1];
      current = { best: head[4] === '*', from: head[3] ?? '', attrs: new Map(), bgp: false };
      continue;
    }
    if (!current) continue;
    const attr = /^\s+(BGP\.\w+):\s*(.*)$/.exec(line);
    if (attr) current.attrs.set(attr[1] as string, (attr[2] as string).trim());
    if (/^\s+Type:\s+BGP/.test(line)) current.bgp = true;
  }
  flush();
  return out;
}

// ---------------------------------------------------------------- FRR

/**
 * FRR: zebra and bgpd per namespace, run as the `frr` user (FRR drops privileges and insists on
 * its vty group) in a directory it owns: config, pid files, the zserv socket and the vty sockets
 * `vtysh --vty_socket` talks to. bgpd gets `network` statements; announce edits the running
 * config through vtysh and the file is regenerated for restarts.
 */
class FrrRouter extends RouterBase {
  constructor(spec: RouterSpec) {
    super(spec);
    const frr = spawnSync('id', ['-u', 'frr'], { encoding: 'utf8' });
    const grp = spawnSync('id', ['-g', 'frr'], { encoding: 'utf8' });
    if (frr.status !== 0) throw new Error('frr interop needs the frr user: apt-get install frr');
    chownSync(this.dir, Number(frr.stdout.trim()), Number(grp.stdout.trim()));
  }

  private vtysh(commands: readonly string[]): string {
    return this.cli('vtysh', ['--vty_socket', this.dir, ...commands.flatMap((c) => ['-c', c])]);
  }

  private render(): string {
    const s = this.spec;
    const anyGr = s.neighbors.some((n) => n.gracefulRestartSec !== undefined);
    const grTime = Math.max(...s.neighbors.map((n) => n.gracefulRestartSec ?? 0));
    const lines = [
      'frr defaults traditional',
      `hostname ${s.kind}-${s.routerId}`,
      '!',
      `router bgp ${s.asNumber}`,
      ` bgp router-id ${s.routerId}`,
      ' no bgp ebgp-requires-policy',
      ' no bgp default ipv4-unicast',
      ' no bgp network import-check',
      ...(s.clusterId !== undefined ? [` bgp cluster-id ${s.clusterId}`] : []),
      ...(anyGr
        ? [
            ' bgp graceful-restart',
            ` bgp graceful-restart restart-time ${grTime}`,
            ' bgp graceful-restart preserve-fw-state',
          ]
        : []),
    ];
    for (const n of s.neighbors) {
      const hold = n.holdTimeSec ?? 9;
      lines.push(
        ` neighbor ${n.address} remote-as ${n.asNumber}`,
        ` neighbor ${n.address} timers ${Math.max(1, Math.floor(hold / 3))} ${hold}`,
        ` neighbor ${n.address} timers connect 1`,
        ` neighbor ${n.address} advertisement-interval 0`,
      );
      if (anyGr && n.gracefulRestartSec === undefined)
        lines.push(` neighbor ${n.address} graceful-restart-disable`);
    }
    for (const family of ['ipv4', 'ipv6'] as const) {
      lines.push(` address-family ${family} unicast`);
      for (const p of this.announced) if (familyOf(p) === family) lines.push(`  network ${p}`);
      for (const n of this.neighborsOf(family)) {
        lines.push(`  neighbor ${n.address} activate`);
        if (n.routeReflectorClient) lines.push(`  neighbor ${n.address} route-reflector-client`);
      }
      lines.push(' exit-address-family');
    }
    return lines.join('\n') + '\n!\n';
  }

  /**
   * FRR takes no "restarting" flag on its command line: with `bgp graceful-restart` configured it
   * advertises the capability on every start, and `preserve-fw-state` sets the F bit.
   */
  protected async launch(): Promise<void> {
    const zconf = join(this.dir, 'zebra.conf');
    const bconf = join(this.dir, 'bgpd.conf');
    writeFileSync(zconf, `hostname zebra-${this.spec.routerId}\n`);
    writeFileSync(bconf, this.render());
    const common = ['--vty_socket', this.dir, '-z', join(this.dir, 'zserv.api'), '-u', 'frr', '-g', 'frr'];
    // Port 0 for the vty TCP listener: vtysh uses the unix sockets, and namespaces share nothing anyway.
    this.spawn('/usr/lib/frr/zebra', [
      '-f',
      zconf,
      '-i',
      join(this.dir, 'zebra.pid'),
      '-P',
      '0',
      ...common,
      '--log',
      'stdout',
    ]);
    await this.waitUp('zebra listens', () => existsSync(join(this.dir, 'zserv.api')));
    this.spawn('/usr/lib/frr/bgpd', [
      '-f',
      bconf,
      '-i',
      join(this.dir, 'bgpd.pid'),
      '-P',
      '0',
      ...common,
      '--log',
      'stdout',
    ]);
    await this.waitUp(
      'bgpd answers vtysh',
      () =>
        spawnSync('ip', [
          'netns',
          'exec',
          this.spec.ns,
          'vtysh',
          '--vty_socket',
          this.dir,
          '-d',
          'bgpd',
          '-c',
          'show bgp summary',
        ]).status === 0,
    );
  }

  private editNetworks(prefixes: readonly string[], remove: boolean): void {
    const byFamily = (f: Family) => prefixes.filter((p) => familyOf(p) === f);
    const cmds = ['configure terminal', `router bgp ${this.spec.asNumber}`];
    for (const f of ['ipv4', 'ipv6'] as const) {
      const list = byFamily(f);
      if (list.length === 0) continue;
      cmds.push(
        `address-family ${f} unicast`,
        ...list.map((p) => `${remove ? 'no ' : ''}network ${p}`),
        'exit-address-family',
      );
    }
    this.vtysh(cmds);
  }

  async announce(prefixes: readonly string[]): Promise<void> {
    for (const p of prefixes) this.announced.add(p);
    if (this.procs.length > 0) this.editNetworks(prefixes, false);
  }

  async withdraw(prefixes: readonly string[]): Promise<void> {
    for (const p of prefixes) this.announced.delete(p);
    if (this.procs.length > 0) this.editNetworks(prefixes, true);
  }

  async learned(family: Family): Promise<LearnedRoute[]> {
    // FRR 8.4 has no `detail json` for a whole table: list the prefixes, then ask for each one's
    // paths in detail (originator and cluster list are only there), all in one vtysh call.
    const table = JSON.parse(this.vtysh([`show bgp ${family} unicast json`])) as FrrRibDetail;
    const prefixes = Object.keys(table.routes ?? {});
    if (prefixes.length === 0) return [];
    const out = this.vtysh(prefixes.map((p) => `show bgp ${family} unicast ${p} json`));
    const routes: Record<string, { paths?: FrrPath[] }> = {};
    for (const doc of splitJsonDocuments(out)) {
      const d = JSON.parse(doc) as { prefix?: string; paths?: FrrPath[] };
      if (d.prefix !== undefined) routes[d.prefix] = d;
    }
    return parseFrrRoutes({ routes }, family);
  }

  async sessions(): Promise<Record<string, SessionState>> {
    const json = JSON.parse(this.vtysh(['show bgp neighbors json'])) as Record<string, { bgpState?: string }>;
    const result: Record<string, SessionState> = {};
    for (const n of this.spec.neighbors) {
      result[n.address] = json[n.address]?.bgpState === 'Established' ? 'Established' : 'other';
    }
    return result;
  }
}

interface FrrPath {
  local?: boolean;
  bestpath?: { overall?: boolean } | boolean;
  peer?: { peerId?: string };
  peerId?: string;
  nexthops?: { ip?: string; scope?: string }[];
  aspath?: { string?: string };
  path?: string;
  originatorId?: string;
  cluster?: { list?: string[] };
  clusterList?: { list?: string[] };
}
interface FrrRibDetail {
  routes?: Record<string, FrrPath[] | { paths?: FrrPath[] }>;
}

/** Top-level JSON objects printed one after another (vtysh with several `-c`). */
export function splitJsonDocuments(text: string): string[] {
  const docs: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}') {
      depth--;
      if (depth === 0) docs.push(text.slice(start, i + 1));
    }
  }
  return docs;
}

/** FRR's prefix JSON: prefix → paths (older FRR: a list; newer: {paths}). */
export function parseFrrRoutes(json: FrrRibDetail, family: Family): LearnedRoute[] {
  const out: LearnedRoute[] = [];
  for (const [prefix, entry] of Object.entries(json.routes ?? {})) {
    const paths = Array.isArray(entry) ? entry : (entry.paths ?? []);
    for (const p of paths) {
      const from = p.peer?.peerId ?? p.peerId ?? '';
      if (p.local === true || ['', '(unspec)', '0.0.0.0', '::'].includes(from)) continue;
      const asText = p.aspath?.string ?? p.path ?? '';
      const best = typeof p.bestpath === 'object' ? p.bestpath.overall === true : p.bestpath === true;
      const clusters = p.cluster?.list ?? p.clusterList?.list;
      out.push({
        prefix,
        family,
        from,
        nextHop: p.nexthops?.find((h) => h.scope !== 'link-local')?.ip ?? p.nexthops?.[0]?.ip ?? '',
        asPath: asText
          .split(/\s+/)
          .filter((x) => /^\d+$/.test(x))
          .map(Number),
        best,
        ...(p.originatorId !== undefined ? { originatorId: p.originatorId } : {}),
        ...(clusters !== undefined ? { clusterList: clusters } : {}),
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------- GoBGP

/**
 * GoBGP: gobgpd with a TOML config and its gRPC API on the namespace's loopback (each namespace has
 * its own, so the port never collides); routes go in and out through the `gobgp` CLI. It has no
 * static routes in its config, so it starts with every neighbour administratively down, injects
 * the announced set, and only then enables the neighbours: otherwise a session that came up before
 * the injection would announce an empty table and End-of-RIB, and a graceful-restart receiver
 * rightly drops the stale routes (a race the interop tests lost under load).
 */
class GobgpRouter extends RouterBase {
  private readonly apiPort = 50051;

  private gobgp(args: readonly string[]): string {
    return this.cli('gobgp', ['-u', '127.0.0.1', '-p', String(this.apiPort), ...args]);
  }

  private render(): string {
    const s = this.spec;
    const lines = [
      '[global.config]',
      `  as = ${s.asNumber}`,
      `  router-id = "${s.routerId}"`,
      '  port = 179',
    ];
    for (const n of s.neighbors) {
      const family = familyOf(n.address);
      const hold = n.holdTimeSec ?? 9;
      lines.push(
        '[[neighbors]]',
        '  [neighbors.config]',
        `    neighbor-address = "${n.address}"`,
        `    peer-as = ${n.asNumber}`,
        '    admin-down = true',
        '  [neighbors.timers.config]',
        '    connect-retry = 1',
        `    hold-time = ${hold}`,
        `    keepalive-interval = ${Math.max(1, Math.floor(hold / 3))}`,
        '  [neighbors.transport.config]',
        `    local-address = "${this.nextHopFor(family)}"`,
        '  [[neighbors.afi-safis]]',
        '    [neighbors.afi-safis.config]',
        `      afi-safi-name = "${family}-unicast"`,
      );
      if (n.gracefulRestartSec !== undefined) {
        lines.push(
          '    [neighbors.afi-safis.mp-graceful-restart.config]',
          '      enabled = true',
          '  [neighbors.graceful-restart.config]',
          '    enabled = true',
          `    restart-time = ${n.gracefulRestartSec}`,
        );
      }
      if (n.routeReflectorClient) {
        lines.push(
          '  [neighbors.route-reflector.config]',
          '    route-reflector-client = true',
          `    route-reflector-cluster-id = "${s.clusterId ?? s.routerId}"`,
        );
      }
    }
    return lines.join('\n') + '\n';
  }

  protected async launch(graceful: boolean): Promise<void> {
    const conf = join(this.dir, 'gobgpd.toml');
    writeFileSync(conf, this.render());
    this.spawn('gobgpd', [
      '-f',
      conf,
      '-t',
      'toml',
      '--api-hosts',
      `127.0.0.1:${this.apiPort}`,
      '--log-level',
      'info',
      ...(graceful ? ['-r'] : []),
    ]);
    await this.waitUp(
      'answers on its API',
      () =>
        spawnSync('ip', [
          'netns',
          'exec',
          this.spec.ns,
          'gobgp',
          '-u',
          '127.0.0.1',
          '-p',
          String(this.apiPort),
          'global',
        ]).status === 0,
    );
    await this.inject([...this.announced], 'add');
    for (const n of this.spec.neighbors) this.gobgp(['neighbor', n.address, 'enable']);
  }

  private async inject(prefixes: readonly string[], op: 'add' | 'del'): Promise<void> {
    for (const p of prefixes) {
      const family = familyOf(p);
      this.gobgp([
        'global',
        'rib',
        '-a',
        family,
        op,
        p,
        ...(op === 'add' ? ['nexthop', this.nextHopFor(family), 'origin', 'igp'] : []),
      ]);
    }
  }

  async announce(prefixes: readonly string[]): Promise<void> {
    for (const p of prefixes) this.announced.add(p);
    if (this.procs.length > 0) await this.inject(prefixes, 'add');
  }

  async withdraw(prefixes: readonly string[]): Promise<void> {
    for (const p of prefixes) this.announced.delete(p);
    if (this.procs.length > 0) await this.inject(prefixes, 'del');
  }

  async learned(family: Family): Promise<LearnedRoute[]> {
    const json = JSON.parse(this.gobgp(['global', 'rib', '-a', family, '-j'])) as GobgpRib;
    return parseGobgpRoutes(json, family);
  }

  async sessions(): Promise<Record<string, SessionState>> {
    const list = JSON.parse(this.gobgp(['neighbor', '-j'])) as {
      state?: { neighbor_address?: string; session_state?: number | string };
      conf?: { neighbor_address?: string };
    }[];
    const result: Record<string, SessionState> = {};
    for (const n of this.spec.neighbors) {
      const e = list.find((x) => (x.state?.neighbor_address ?? x.conf?.neighbor_address) === n.address);
      const st = e?.state?.session_state;
      result[n.address] = st === 6 || st === 'established' || st === 'ESTABLISHED' ? 'Established' : 'other';
    }
    return result;
  }
}

interface GobgpAttr {
  type: number;
  nexthop?: string;
  value?: unknown;
  as_paths?: { asns?: number[] }[];
}
interface GobgpPath {
  best?: boolean;
  'neighbor-ip'?: string;
  'source-id'?: string;
  attrs?: GobgpAttr[];
}
type GobgpRib = Record<string, GobgpPath[]>;

/** `gobgp global rib -j`: prefix → paths with typed attributes (2 AS_PATH, 3 NEXT_HOP, 9, 10, 14). */
export function parseGobgpRoutes(json: GobgpRib, family: Family): LearnedRoute[] {
  const out: LearnedRoute[] = [];
  for (const [prefix, paths] of Object.entries(json)) {
    for (const p of paths) {
      const from = p['neighbor-ip'] ?? '';
      if (from === '' || from === '<nil>' || from === '0.0.0.0' || from === '::') continue;
      const attrs = p.attrs ?? [];
      const nh = attrs.find((a) => a.type === 3)?.nexthop ?? attrs.find((a) => a.type === 14)?.nexthop ?? '';
      const asPath = attrs.find((a) => a.type === 2)?.as_paths?.flatMap((s) => s.asns ?? []) ?? [];
      const originator = attrs.find((a) => a.type === 9)?.value;
      const clusters = attrs.find((a) => a.type === 10)?.value;
      out.push({
        prefix,
        family,
        from,
        nextHop: nh,
        asPath,
        best: p.best === true,
        ...(typeof originator === 'string' ? { originatorId: originator } : {}),
        ...(Array.isArray(clusters) ? { clusterList: clusters.map(String) } : {}),
      });
    }
  }
  return out;
}
