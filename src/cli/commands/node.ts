/**
 * `calicoctl node`: commands about the calico-node running on this host. The family is a parent
 * command so run / diags / checksystem can join it; for now:
 *
 *   node status [--node NAME] [--routes PEER]
 *
 * `status` asks the running calico-node over its status socket (see
 * src/bgp/speaker/status-socket.ts: `$CALICO_RUN_DIR/calico-node.<node>.ctl`, default run dir
 * /var/run/calico) and prints what Calico's calicoctl prints from BIRD: whether the process runs,
 * then the IPv4 and IPv6 BGP peer tables. `--routes PEER` adds the routes received from and
 * advertised to one peer. The node is `--node`, else $NODENAME, else the only calico-node socket in
 * the run directory, else the host name.
 */
import type { Command } from 'commander';
import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import {
  DEFAULT_RUN_DIR,
  NodeNotRunningError,
  formatBgpStatus,
  formatPeerRoutes,
  requestStatus,
  statusSocketPath,
  type NodeStatusReply,
  type PeerRoutesReply,
} from '../../bgp/speaker/index.js';
import { CliError, type CliContext } from '../context.js';

const SOCKET_NAME = /^calico-node\.(.+)\.ctl$/;

/** Which node's socket to ask, following the order in the module comment. */
export function resolveStatusNode(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  runDir: string,
): string {
  if (explicit) return explicit;
  if (env.NODENAME) return env.NODENAME;
  let names: string[] = [];
  try {
    names = readdirSync(runDir)
      .map((f) => SOCKET_NAME.exec(f)?.[1])
      .filter((n): n is string => n !== undefined);
  } catch {
    // No run directory: nothing runs here; the host name gives the clearest error below.
  }
  return names.length === 1 ? (names[0] as string) : hostname();
}

function isError(reply: unknown): reply is { error: string } {
  return (
    typeof reply === 'object' && reply !== null && typeof (reply as { error?: unknown }).error === 'string'
  );
}

async function runStatus(ctx: CliContext, o: { node?: string; routes?: string }): Promise<void> {
  const runDir = ctx.io.env.CALICO_RUN_DIR ?? DEFAULT_RUN_DIR;
  const node = resolveStatusNode(o.node, ctx.io.env, runDir);
  const path = statusSocketPath(node, runDir);
  let reply: NodeStatusReply;
  try {
    reply = (await requestStatus(path, { request: 'status' })) as NodeStatusReply;
  } catch (e) {
    if (e instanceof NodeNotRunningError) {
      ctx.out('Calico process is not running.');
      throw new CliError(
        `(node "${node}": ${e.message}; start calico-node, or name the node with --node or NODENAME, and the directory with CALICO_RUN_DIR)`,
      );
    }
    throw new CliError(`calico-node status: ${(e as Error).message}`);
  }
  ctx.out('Calico process is running.');
  ctx.out('');
  if (reply.bgp === undefined) {
    ctx.out(`BGP is not running: ${reply.bgpDisabled ?? 'no reason given'}.`);
    return;
  }
  ctx.io.stdout(formatBgpStatus(reply.bgp, Date.now()));
  if (o.routes !== undefined) {
    const routes = await requestStatus(path, { request: 'routes', peer: o.routes });
    if (isError(routes)) throw new CliError(routes.error);
    ctx.io.stdout(formatPeerRoutes(routes as PeerRoutesReply));
  }
}

export function registerNodeCommands(program: Command, ctx: CliContext): void {
  const node = program.command('node').description('Commands about the calico-node running on this host');
  node
    .command('status')
    .description('Whether calico-node runs here, and the state of its BGP sessions')
    .option(
      '--node <name>',
      'the node to ask (default: $NODENAME, the only local calico-node, the host name)',
    )
    .option('--routes <peer>', 'also print the routes received from and advertised to this peer')
    .action((o: { node?: string; routes?: string }) => runStatus(ctx, o));
}
