/**
 * The node's status socket: how `calicoctl node status` asks a running calico-node about its BGP
 * sessions, as Calico's calicoctl asks BIRD over /var/run/calico/bird.ctl.
 *
 * A Unix socket in the file system, `<run dir>/calico-node.<node>.ctl` (run dir
 * `$CALICO_RUN_DIR`, default /var/run/calico). File-system sockets are not tied to a network
 * namespace, so calicoctl reaches a calico-node running inside a namespace from that namespace or
 * any other, and several nodes sharing one machine (the lab, the tests) each have their own path.
 * Connecting at all is the "Calico process is running" check: a stale socket file left by a
 * killed process refuses connections.
 *
 * Protocol: one JSON request per connection, one JSON reply, both a single line:
 *   {"request":"status"}                    → NodeStatusReply
 *   {"request":"routes","peer":"10.0.0.2"}  → PeerRoutesReply, or {"error":"..."}
 */
import net from 'node:net';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NodeStatusReply, PeerRoutesReply } from './status.js';

export const DEFAULT_RUN_DIR = '/var/run/calico';

export type StatusRequest =
  { readonly request: 'status' } | { readonly request: 'routes'; readonly peer: string };

export interface StatusSource {
  status(): NodeStatusReply;
  routes(peer: string): PeerRoutesReply | undefined;
}

export function statusSocketPath(nodeName: string, runDir: string = DEFAULT_RUN_DIR): string {
  return join(runDir, `calico-node.${nodeName}.ctl`);
}

/** No calico-node answers on the socket (none started, or it exited). */
export class NodeNotRunningError extends Error {
  constructor(
    readonly path: string,
    cause: string,
  ) {
    super(`no calico-node answers on ${path} (${cause})`);
    this.name = 'NodeNotRunningError';
  }
}

function answer(source: StatusSource, line: string): unknown {
  let req: StatusRequest;
  try {
    req = JSON.parse(line) as StatusRequest;
  } catch {
    return { error: 'request is not JSON; send {"request":"status"}' };
  }
  switch (req.request) {
    case 'status':
      return source.status();
    case 'routes':
      return source.routes(req.peer) ?? { error: `no BGP peer ${req.peer} on this node` };
    default: {
      const unknown: never = req;
      return { error: `unknown request ${JSON.stringify(unknown)}; use "status" or "routes"` };
    }
  }
}

export class StatusSocketServer {
  private constructor(
    private readonly server: net.Server,
    readonly path: string,
  ) {}

  /** Listens on `path`, replacing a socket file a previous run left behind. */
  static async listen(path: string, source: StatusSource): Promise<StatusSocketServer> {
    mkdirSync(dirname(path), { recursive: true });
    rmSync(path, { force: true });
    const server = net.createServer((socket) => {
      let buffered = '';
      socket.setEncoding('utf8');
      socket.on('error', () => socket.destroy());
      socket.on('data', (chunk: string) => {
        buffered += chunk;
        const nl = buffered.indexOf('\n');
        if (nl < 0) return;
        let reply: unknown;
        try {
          reply = answer(source, buffered.slice(0, nl));
        } catch (e) {
          reply = { error: (e as Error).message };
        }
        socket.end(JSON.stringify(reply) + '\n');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new StatusSocketServer(server, path);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}

/** Sends one request; throws NodeNotRunningError when nothing listens on `path`. */
export function requestStatus(path: string, request: StatusRequest, timeoutMs = 5_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let data = '';
    let connected = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`calico-node on ${path} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(JSON.stringify(request) + '\n');
    });
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(connected ? e : new NodeNotRunningError(path, e.code ?? e.message));
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(data) as unknown);
      } catch {
        reject(
          new Error(`calico-node on ${path} answered something that is not JSON: ${data.slice(0, 200)}`),
        );
      }
    });
  });
}
