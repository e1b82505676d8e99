/**
 * Starts a real etcd for a test: the one way every test that needs etcd gets one.
 *
 * Each server lives in its own temporary directory (data, logs, TLS material), listens on loopback
 * ports chosen free at start, and is removed when the test closes it, or when the process exits if
 * the test forgot. TLS material (a CA, a server certificate for 127.0.0.1, a client certificate, and
 * an unrelated CA for "wrong CA" tests) is made with openssl on the fly. Auth, when asked for, is
 * switched on with etcdctl after start: a root user plus the users the test names, each with a
 * role granting read or read-write on key prefixes. A server may be a cluster of several members
 * (`members: 3`), each its own process. stop/kill/restart exist for fault tests, for the whole
 * server or one member: data directories and ports survive, so a restarted member has the same
 * revisions and address. A watchdog shell per member kills etcd and removes the directory if the
 * test process dies without cleaning up.
 *
 * It fails loudly when etcd is not installed: etcd tests must not pass by doing nothing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DatastoreConfig } from '../../src/datastore/config.js';

export type EtcdAccess = 'read' | 'readwrite';

export interface EtcdUserSpec {
  readonly name: string;
  readonly password: string;
  /** Key prefixes and what the user may do under them; none means the user can do nothing. */
  readonly grants: ReadonlyArray<{ readonly prefix: string; readonly access: EtcdAccess }>;
}

export interface StartEtcdOptions {
  /** Serve clients over TLS and require a client certificate signed by the test CA. */
  readonly tls?: boolean;
  /** Enable auth with these users (plus `root`, password ROOT_PASSWORD). */
  readonly users?: readonly EtcdUserSpec[];
  /** Members of the cluster, each its own process on its own ports. Default 1. */
  readonly members?: number;
}

export interface EtcdTlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** A CA that signed nothing this server presents, for "wrong CA" tests. */
  readonly otherCaFile: string;
}

export const ROOT_PASSWORD = 'root-secret';

/** The users most tests want: `calico` may do anything under "/", `reader` may only read. */
export const STANDARD_USERS: readonly EtcdUserSpec[] = [
  { name: 'calico', password: 'calico-secret', grants: [{ prefix: '/', access: 'readwrite' }] },
  { name: 'reader', password: 'reader-secret', grants: [{ prefix: '/', access: 'read' }] },
];

const READY_TIMEOUT_MS = 20_000;

const BINARY_PACKAGES: Record<string, string> = {
  etcd: 'etcd-server',
  etcdctl: 'etcd-client',
  openssl: 'openssl',
};

function missingBinaries(): string[] {
  return Object.keys(BINARY_PACKAGES).filter(
    (binary) => spawnSync('sh', ['-c', `command -v ${binary}`]).status !== 0,
  );
}

/**
 * Makes sure etcd, etcdctl and openssl are installed: as root, installs the Debian packages that are
 * missing (the system etcd they start is stopped; tests run their own); otherwise, or if that fails,
 * throws with the command to run. Never lets an etcd test pass without etcd.
 */
export function requireEtcdBinaries(): void {
  let missing = missingBinaries();
  if (missing.length > 0 && process.getuid?.() === 0) {
    const packages = missing.map((binary) => BINARY_PACKAGES[binary]).join(' ');
    spawnSync(
      'sh',
      [
        '-c',
        `export DEBIAN_FRONTEND=noninteractive; (apt-get install -y -qq --no-install-recommends ${packages} || (apt-get update -qq && apt-get install -y -qq --no-install-recommends ${packages})) && (systemctl disable --now etcd || true)`,
      ],
      { stdio: 'ignore', timeout: 300_000 },
    );
    missing = missingBinaries();
  }
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not installed; the etcd tests need them: apt-get install -y ${missing.map((b) => BINARY_PACKAGES[b]).join(' ')} (scripts/setup.sh does this)`,
    );
  }
}

/** A loopback TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const live = new Set<EtcdServer>();
process.once('exit', () => {
  for (const server of live) server.closeNow();
});

/**
 * One etcd process of a server: its name, ports and data directory survive stop/kill, so
 * `restart()` brings back the same member with the same data.
 */
export class EtcdMember {
  private process: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private watchdog: ChildProcess | undefined;
  readonly endpoint: string;
  readonly dataDir: string;
  readonly logFile: string;

  constructor(
    private readonly server: EtcdServer,
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {
    this.endpoint = `${server.tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
    this.dataDir = join(server.dir, name, 'data');
    this.logFile = join(server.dir, name, 'etcd.log');
  }

  get peerUrl(): string {
    return `http://127.0.0.1:${this.peerPort}`;
  }

  get running(): boolean {
    return this.process !== undefined;
  }

  /** Asks this member to stop (SIGTERM) and waits until it has. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** Kills this member at once (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Starts this member again on the same ports and data directory, and waits until it is healthy. */
  async restart(): Promise<void> {
    if (this.process) throw new Error(`etcd member ${this.name} is still running; stop() or kill() it first`);
    this.spawn();
    await this.waitHealthy();
  }

  /** Starts the process; with several members, all must be spawned before any can become healthy. */
  spawn(): void {
    mkdirSync(this.dataDir, { recursive: true });
    const tls = this.server.tls;
    const args = [
      `--name=${this.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${this.endpoint}`,
      `--advertise-client-urls=${this.endpoint}`,
      `--listen-peer-urls=${this.peerUrl}`,
      `--initial-advertise-peer-urls=${this.peerUrl}`,
      `--initial-cluster=${this.server.members.map((m) => `${m.name}=${m.peerUrl}`).join(',')}`,
      `--initial-cluster-token=${basename(this.server.dir)}`,
      '--logger=zap',
      '--log-level=warn',
    ];
    if (tls) {
      args.push(
        `--cert-file=${join(this.server.dir, 'tls', 'server.crt')}`,
        `--key-file=${join(this.server.dir, 'tls', 'server.key')}`,
        `--trusted-ca-file=${tls.caFile}`,
        '--client-cert-auth',
      );
    }
    const log = openSync(this.logFile, 'a');
    const child = spawn('etcd', args, { stdio: ['ignore', log, log] });
    closeSync(log);
    this.process = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (this.process === child) this.process = undefined;
        this.watchdog?.kill('SIGKILL');
        resolve();
      });
    });
    // If this test process dies without cleaning up (killed by the runner), the watchdog kills etcd
    // and removes the directory, so no etcd outlives its test.
    this.watchdog = spawn(
      'sh',
      [
        '-c',
        `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 ${child.pid} 2>/dev/null; rm -rf '${this.server.dir}'`,
      ],
      { stdio: 'ignore', detached: true },
    );
    this.watchdog.unref();
  }

  async waitHealthy(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const child = this.process;
    for (;;) {
      if (!child || this.process !== child)
        throw new Error(`etcd member ${this.name} exited during start-up:\n${this.logTail()}`);
      try {
        this.server.etcdctlAt([this.endpoint], 'endpoint', 'health');
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          await this.kill();
          throw new Error(
            `etcd member ${this.name} at ${this.endpoint} not healthy within ${READY_TIMEOUT_MS} ms: ${(error as Error).message}\n${this.logTail()}`,
          );
        }
        await sleep(100);
      }
    }
  }

  killNow(): void {
    this.process?.kill('SIGKILL');
    this.process = undefined;
    this.watchdog?.kill('SIGKILL');
  }

  logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '(no etcd log)';
    }
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    if (!child) return;
    child.kill(signal);
    await this.exited;
  }
}

export class EtcdServer {
  readonly members: EtcdMember[] = [];

  private constructor(
    readonly dir: string,
    readonly tls: EtcdTlsFiles | undefined,
    readonly users: readonly EtcdUserSpec[] | undefined,
  ) {}

  static async start(options: StartEtcdOptions = {}): Promise<EtcdServer> {
    requireEtcdBinaries();
    const dir = mkdtempSync(join(tmpdir(), 'calico-etcd-'));
    const server = new EtcdServer(
      dir,
      options.tls ? makeTlsMaterial(join(dir, 'tls')) : undefined,
      options.users,
    );
    live.add(server);
    try {
      const count = options.members ?? 1;
      for (let i = 0; i < count; i++)
        server.members.push(new EtcdMember(server, `member${i}`, await freePort(), await freePort()));
      for (const member of server.members) member.spawn();
      for (const member of server.members) await member.waitHealthy();
      if (options.users) server.enableAuth(options.users);
      return server;
    } catch (error) {
      server.closeNow();
      throw error;
    }
  }

  private get first(): EtcdMember {
    const member = this.members[0];
    if (!member) throw new Error('etcd server has no members');
    return member;
  }

  /** The first member's client URL; `endpoints` lists every member's. */
  get endpoint(): string {
    return this.first.endpoint;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  get clientPort(): number {
    return this.first.clientPort;
  }

  /** The configuration a client of ours uses to reach this server, as `user` (default: no auth). */
  config(user?: { name: string; password: string }): DatastoreConfig {
    const cfg: DatastoreConfig = {
      datastoreType: 'etcdv3',
      etcdEndpoints: this.endpoints,
      source: `test etcd ${this.endpoints.join(',')}`,
    };
    if (this.tls) {
      cfg.etcdCACertFile = this.tls.caFile;
      cfg.etcdCertFile = this.tls.certFile;
      cfg.etcdKeyFile = this.tls.keyFile;
    }
    if (user) {
      cfg.etcdUsername = user.name;
      cfg.etcdPassword = user.password;
    }
    return cfg;
  }

  /** The same as environment variables, for calicoctl. */
  env(user?: { name: string; password: string }): Record<string, string> {
    const cfg = this.config(user);
    const env: Record<string, string> = {
      DATASTORE_TYPE: 'etcdv3',
      ETCD_ENDPOINTS: (cfg.etcdEndpoints ?? []).join(','),
    };
    if (cfg.etcdCACertFile) env.ETCD_CA_CERT_FILE = cfg.etcdCACertFile;
    if (cfg.etcdCertFile) env.ETCD_CERT_FILE = cfg.etcdCertFile;
    if (cfg.etcdKeyFile) env.ETCD_KEY_FILE = cfg.etcdKeyFile;
    if (cfg.etcdUsername) env.ETCD_USERNAME = cfg.etcdUsername;
    if (cfg.etcdPassword) env.ETCD_PASSWORD = cfg.etcdPassword;
    return env;
  }

  /** Runs etcdctl against the running members (as root when auth is on); throws with its output on failure. */
  etcdctl(...args: string[]): string {
    return this.etcdctlAt(
      this.members.filter((m) => m.running).map((m) => m.endpoint),
      ...args,
    );
  }

  etcdctlAt(endpoints: readonly string[], ...args: string[]): string {
    const connection = [`--endpoints=${endpoints.join(',')}`, '--command-timeout=5s'];
    if (this.tls) {
      connection.push(
        `--cacert=${this.tls.caFile}`,
        `--cert=${this.tls.certFile}`,
        `--key=${this.tls.keyFile}`,
      );
    }
    if (this.users && this.authEnabled) connection.push(`--user=root:${ROOT_PASSWORD}`);
    const result = spawnSync('etcdctl', [...connection, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ETCDCTL_API: '3' },
      timeout: 15_000,
    });
    if (result.status !== 0) {
      throw new Error(
        `etcdctl ${args.join(' ')} failed (${result.status}): ${result.stderr}${result.stdout}`,
      );
    }
    return result.stdout;
  }

  private authEnabled = false;

  /** Stops every member (SIGTERM) and waits until they have. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }

  /** Kills every member at once (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill()));
  }

  /** Starts every stopped member again on the same ports and data directories. */
  async restart(): Promise<void> {
    const stopped = this.members.filter((m) => !m.running);
    if (stopped.length === 0) throw new Error('etcd is still running; stop() or kill() it first');
    for (const member of stopped) member.spawn();
    for (const member of stopped) await member.waitHealthy();
  }

  /** True while every member runs. */
  get running(): boolean {
    return this.members.every((m) => m.running);
  }

  /** Stops etcd and removes its directory. */
  async close(): Promise<void> {
    await this.kill();
    this.closeNow();
  }

  /** Synchronous last-resort cleanup, for process exit. */
  closeNow(): void {
    for (const member of this.members) member.killNow();
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  logTail(): string {
    return this.members.map((m) => `--- ${m.name}\n${m.logTail()}`).join('\n');
  }

  private enableAuth(users: readonly EtcdUserSpec[]): void {
    this.etcdctl('user', 'add', `root:${ROOT_PASSWORD}`);
    this.etcdctl('role', 'add', 'root');
    this.etcdctl('user', 'grant-role', 'root', 'root');
    for (const user of users) {
      this.etcdctl('user', 'add', `${user.name}:${user.password}`);
      this.etcdctl('role', 'add', `role-${user.name}`);
      for (const grant of user.grants) {
        this.etcdctl(
          'role',
          'grant-permission',
          `role-${user.name}`,
          grant.access,
          '--prefix=true',
          grant.prefix,
        );
      }
      this.etcdctl('user', 'grant-role', user.name, `role-${user.name}`);
    }
    this.etcdctl('auth', 'enable');
    // From now on etcdctl must authenticate (as root).
    this.authEnabled = true;
  }
}

/** A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and an unrelated CA. */
function makeTlsMaterial(dir: string): EtcdTlsFiles {
  mkdirSync(dir, { recursive: true });
  const openssl = (...args: string[]): void => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
  };
  const makeCa = (name: string): void => {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
    );
  };
  const issue = (name: string, subject: string, extensions: string): void => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
  };
  makeCa('ca');
  makeCa('other-ca');
  issue(
    'server',
    '/CN=etcd-test-server',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  issue('client', '/CN=calico-test-client', 'extendedKeyUsage=clientAuth\n');
  return {
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'client.crt'),
    keyFile: join(dir, 'client.key'),
    otherCaFile: join(dir, 'other-ca.crt'),
  };
}
