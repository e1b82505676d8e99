/**
 * calico-node's CNI server: the long-lived half of the `calico` / `calico-ipam` executables. The
 * executables a runtime starts are the native shim (native/calico-cni-shim.c), which sends the call
 * (plugin, environment, stdin) here over a Unix socket and prints the answer; this server runs the
 * same plugin code as the Node executables (run-plugin.ts), in-process, with the request's
 * environment and stdin in place of its own. Why: a call then costs a small C process and the work
 * itself, not a Node start-up, module loading and a datastore open (as Cilium's and Multus' "thick"
 * plugins do with their agents).
 *
 * - Where: `<run dir>/cni.<inode of this process's network namespace>.sock`. The shim computes the
 *   same name from its own namespace, so it reaches the calico-node of the host it runs on, and that
 *   calico-node creates veths in the right namespace because it runs in it.
 * - The datastore: a call whose network configuration resolves to the store calico-node has open
 *   uses that handle (no open, no close, no write-ahead-log checkpoint per call); any other store is
 *   opened and closed per call, as the executable would.
 * - Kernel commands go through one long-lived shell (shell-session-runner.ts): a process started
 *   from Node costs more than the `ip -batch` it runs.
 * - Concurrency: calls run concurrently (the datastore writes are compare-and-swap, interface names
 *   are per container); calls for the same container and interface are queued, in arrival order,
 *   because the spec lets a runtime assume a plugin serialises them.
 * - Life cycle: a socket file left by a dead process is replaced at start, a live one is an error
 *   (two servers for one namespace); the file is removed on close, if it is still ours. The socket
 *   is 0600: whoever can call the server can make this root daemon create and delete interfaces.
 */
import { chmodSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import type { DatastoreConfig } from '../datastore/config.js';
import type { Datastore } from '../datastore/types.js';
import type { CommandRunner } from '../kernel/runner.js';
import type { Logger } from '../log.js';
import { openCniDatastore, sameDatastore } from './datastore-access.js';
import { DeferredLog } from './plugin-log.js';
import type { CniDatastoreSource, PluginEnvironment, PluginOutcome } from './run-plugin.js';
import { ShellSessionRunner } from './shell-session-runner.js';
import {
  decodeRequest,
  encodeReply,
  MAX_FIELD_BYTES,
  type ShimPlugin,
  type ShimRequest,
} from './shim-protocol.js';
import { CNI_SPEC_VERSION } from './spec.js';

/** The socket the shim looks for in this network namespace (see native/calico-cni-shim.c). */
export function cniSocketPath(runDir: string, netnsInode: number = currentNetnsInode()): string {
  return join(runDir, `cni.${netnsInode}.sock`);
}

export function currentNetnsInode(): number {
  return statSync('/proc/self/ns/net').ino;
}

/**
 * CNI_NETNS is a path in the caller's mount namespace, which need not be calico-node's (podman keeps
 * its namespace files in a private mount namespace; `ip netns exec` gives calico-node its own). So
 * the shim opens it and names the descriptor: `CALICO_CNI_NETNS_FD=<shim pid>:<fd>:<inode>`, and
 * the server reaches the namespace as `/proc/<pid>/fd/<fd>` while the shim waits for the answer.
 * The inode check catches a shim in another PID namespace (another process behind that pid).
 */
export const NETNS_FD_VARIABLE = 'CALICO_CNI_NETNS_FD';

export function containerNetnsPath(
  value: string | undefined,
  inodeOf: (path: string) => number | undefined = (path) => {
    try {
      return statSync(path).ino;
    } catch {
      return undefined;
    }
  },
): string | undefined {
  const m = /^(\d+):(\d+):(\d+)$/.exec(value ?? '');
  if (!m) return undefined;
  const path = `/proc/${m[1]}/fd/${m[2]}`;
  return inodeOf(path) === Number(m[3]) ? path : undefined;
}

export type CniCallRunner = (plugin: ShimPlugin, pe: PluginEnvironment) => Promise<PluginOutcome>;

/**
 * The plugins' code (IPAM, the veth wiring, the endpoint record, v1 names...) is loaded by the first
 * call, not with the server, so a calico-node whose host never runs a container does not keep it
 * resident (~1 MB; bench/node-memory). The first call pays the loading (tens of ms) once.
 */
export const runPluginInProcess: CniCallRunner = async (plugin, pe) => {
  let code: typeof import('./run-plugin.js');
  try {
    code = await import('./run-plugin.js');
  } catch (e) {
    return serverFailure(
      'could not load the plugin code',
      e,
      "calico-node's installation is incomplete: rebuild or reinstall it (npm run build), then restart calico-node",
    );
  }
  return plugin === 'calico' ? code.runCalicoPlugin(pe) : code.runCalicoIpamPlugin(pe);
};

export interface CniServerOptions {
  readonly socketPath: string;
  readonly logger: Logger;
  /** calico-node's open datastore and the configuration it came from. */
  readonly sharedDatastore?: { readonly datastore: Datastore; readonly config: DatastoreConfig };
  /** How a call runs; tests replace it. */
  readonly runCall?: CniCallRunner;
  /** Runs the kernel commands of every call; default one long-lived shell (shell-session-runner.ts). */
  readonly runner?: CommandRunner;
  /** Milliseconds a client may take to send its request; default 10 s. */
  readonly requestTimeoutMs?: number;
}

/** A failure of the server itself is answered like a plugin error (code 999), so the runtime sees why. */
function serverFailure(what: string, e: unknown, fix: string): PluginOutcome {
  const msg = e instanceof Error ? e.message : String(e);
  return {
    stdout:
      JSON.stringify({
        cniVersion: CNI_SPEC_VERSION,
        code: 999,
        msg: `calico-node's CNI server ${what}: ${msg}`,
        details: fix,
      }) + '\n',
    exitCode: 1,
  };
}

/**
 * The reply, cut to what the wire format carries: a runaway log is truncated (it is only a log), a
 * result that does not fit becomes an error, since a truncated result would be a wrong answer.
 */
export function encodeFittingReply(outcome: PluginOutcome, stderr: string): Buffer {
  const log =
    Buffer.byteLength(stderr) > MAX_FIELD_BYTES
      ? Buffer.from(stderr)
          .subarray(0, MAX_FIELD_BYTES - 64)
          .toString('utf8') + '\n[log truncated]\n'
      : stderr;
  if (Buffer.byteLength(outcome.stdout) <= MAX_FIELD_BYTES)
    return encodeReply({ exitCode: outcome.exitCode, stdout: outcome.stdout, stderr: log });
  const failure = serverFailure(
    'produced a result too large to send',
    `${Buffer.byteLength(outcome.stdout)} bytes, the limit is ${MAX_FIELD_BYTES}`,
    'a bug: please report it with the network configuration',
  );
  return encodeReply({ exitCode: failure.exitCode, stdout: failure.stdout, stderr: log });
}

async function claimSocketPath(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  if (!existsSync(path)) return;
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live)
    throw new Error(
      `another CNI server already listens at ${path} (a second calico-node in this network namespace?); stop it or use another CALICO_RUN_DIR`,
    );
  rmSync(path, { force: true });
}

export class CniServer {
  private readonly queues = new Map<string, Promise<unknown>>();
  private inode = 0;
  private readonly ownRunner: ShellSessionRunner | undefined;
  private readonly runner: CommandRunner;

  private constructor(
    private readonly server: net.Server,
    private readonly opts: CniServerOptions,
  ) {
    this.ownRunner = opts.runner ? undefined : new ShellSessionRunner();
    this.runner = opts.runner ?? (this.ownRunner as CommandRunner);
  }

  get path(): string {
    return this.opts.socketPath;
  }

  static async listen(opts: CniServerOptions): Promise<CniServer> {
    await claimSocketPath(opts.socketPath);
    const server = net.createServer({ allowHalfOpen: true });
    const self = new CniServer(server, opts);
    server.on('connection', (socket: net.Socket) => self.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(opts.socketPath, 0o600);
    self.inode = statSync(opts.socketPath).ino;
    return self;
  }

  private readonly datastores: CniDatastoreSource = {
    open: async (config) => {
      const shared = this.opts.sharedDatastore;
      if (shared && sameDatastore(config, shared.config))
        return { datastore: shared.datastore, shared: true };
      return { datastore: await openCniDatastore(config), shared: false };
    },
  };

  private serve(socket: net.Socket): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let answered = false;
    socket.setTimeout(this.opts.requestTimeoutMs ?? 10_000, () => {
      if (!answered) socket.destroy();
    });
    const reply = (outcome: PluginOutcome, stderr: string) => {
      socket.end(encodeFittingReply(outcome, stderr));
    };
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      if (answered) return;
      chunks.push(chunk);
      size += chunk.length;
      let request: ShimRequest | undefined;
      try {
        request = decodeRequest(chunks.length === 1 ? chunk : Buffer.concat(chunks, size));
      } catch (e) {
        answered = true;
        this.opts.logger.warn({ err: (e as Error).message }, 'CNI server: unreadable request');
        reply(
          serverFailure(
            'could not read the call',
            e,
            'is the calico-cni-shim from another version than calico-node? re-run scripts/install-cni.sh',
          ),
          '',
        );
        return;
      }
      if (!request) return;
      answered = true;
      socket.setTimeout(0);
      void this.handle(request).then(({ outcome, stderr }) => {
        if (!socket.destroyed) reply(outcome, stderr);
      });
    });
    socket.on('end', () => {
      if (!answered) socket.destroy();
    });
  }

  /** Runs one call, queued behind earlier calls for the same container and interface. */
  private async handle(request: ShimRequest): Promise<{ outcome: PluginOutcome; stderr: string }> {
    const key = `${request.plugin} ${request.env.CNI_CONTAINERID ?? ''} ${request.env.CNI_IFNAME ?? ''}`;
    const before = this.queues.get(key) ?? Promise.resolve();
    const run = before.then(() => this.runOne(request));
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  private async runOne(request: ShimRequest): Promise<{ outcome: PluginOutcome; stderr: string }> {
    let stderr = '';
    const started = process.hrtime.bigint();
    const log = new DeferredLog(request.plugin === 'calico' ? 'calico-cni' : 'calico-ipam', 'warning', {
      write: (line) => (stderr += line),
    });
    let outcome: PluginOutcome;
    const { [NETNS_FD_VARIABLE]: netnsFd, ...env } = request.env;
    const netnsPath = containerNetnsPath(netnsFd);
    try {
      outcome = await (this.opts.runCall ?? runPluginInProcess)(request.plugin, {
        env,
        stdin: request.stdin,
        ...(netnsPath ? { containerNetnsPath: netnsPath } : {}),
        log,
        runner: this.runner,
        datastores: this.datastores,
      });
    } catch (e) {
      // run-plugin turns every failure into an error object; reaching here is a bug in the server.
      outcome = serverFailure('failed', e, "a bug: please report it with calico-node's log");
    }
    this.opts.logger.debug(
      {
        plugin: request.plugin,
        command: request.env.CNI_COMMAND,
        container: request.env.CNI_CONTAINERID,
        exitCode: outcome.exitCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      },
      'CNI call',
    );
    return { outcome, stderr };
  }

  /** Stops accepting calls, lets running ones finish, and removes the socket file if it is still ours. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.ownRunner?.close();
    try {
      if (statSync(this.opts.socketPath).ino === this.inode) rmSync(this.opts.socketPath, { force: true });
    } catch {
      // Already gone.
    }
  }
}
