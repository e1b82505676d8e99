/**
 * `calico-node` command line: which node (`--node` or NODENAME), which components (`--no-felix`,
 * `--no-bgp` / CALICO_NETWORKING_BACKEND=none, `--no-cni-server`), the health port, the directory
 * of the status and CNI sockets ($CALICO_RUN_DIR), and the datastore (resolved as calicoctl
 * resolves it). Runs until SIGTERM/SIGINT.
 */
import { Command } from 'commander';
import { hostname } from 'node:os';
import { resolveDatastoreConfig } from '../datastore/config.js';
import { openDatastore } from '../datastore/open.js';
import { ProcessRunner } from '../kernel/runner.js';
import { createLogger } from '../log.js';
import { DEFAULT_RUN_DIR } from '../bgp/speaker/index.js';
import { CalicoNode } from './daemon.js';

export async function runCalicoNode(argv: string[]): Promise<number> {
  const program = new Command('calico-node')
    .description('The per-host Calico daemon: Felix (policy and routes) and BGP')
    .option('--node <name>', "this host's node name (default: $NODENAME, then the host name)")
    .option('--no-felix', 'do not run Felix')
    .option('--no-bgp', 'do not run the BGP speaker (also CALICO_NETWORKING_BACKEND=none)')
    .option(
      '--no-cni-server',
      'do not serve CNI calls from the calico-cni-shim on $CALICO_RUN_DIR/cni.<netns>.sock',
    )
    .option('-c, --config <file>', 'calicoctl-style datastore configuration file')
    .option(
      '--health-port <port>',
      'loopback port for /readiness, /liveness and /metrics (0 = any free port)',
      process.env.FELIX_HEALTHPORT ?? '9099',
    )
    .option('--refresh-interval <ms>', 'dataplane refresh period in ms (overrides iptablesRefreshInterval)')
    .option('--no-ipv6', 'do not program ip6tables')
    .option(
      '--log-level <level>',
      'initial log level (the datastore setting wins once read)',
      process.env.LOGLEVEL ?? 'info',
    )
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch {
    return 2;
  }
  const o = program.opts<{
    node?: string;
    felix: boolean;
    bgp: boolean;
    cniServer: boolean;
    config?: string;
    healthPort: string;
    refreshInterval?: string;
    ipv6: boolean;
    logLevel: string;
  }>();
  const nodeName = o.node ?? process.env.NODENAME ?? hostname();
  const logger = createLogger('calico-node', o.logLevel);
  let node: CalicoNode;
  try {
    const datastoreConfig = resolveDatastoreConfig(o.config ? { configFile: o.config } : {});
    const datastore = await openDatastore(datastoreConfig);
    node = new CalicoNode({
      nodeName,
      datastore,
      runner: new ProcessRunner(),
      logger,
      felix: o.felix && process.env.FELIX_ENABLED !== 'false',
      bgp: o.bgp && process.env.CALICO_NETWORKING_BACKEND !== 'none',
      ...(process.env.CALICO_ROUTER_ID ? { routerId: process.env.CALICO_ROUTER_ID } : {}),
      runDir: process.env.CALICO_RUN_DIR ?? DEFAULT_RUN_DIR,
      cniServer: o.cniServer,
      datastoreConfig,
      healthPort: Number(o.healthPort),
      ...(o.refreshInterval ? { refreshIntervalMs: Number(o.refreshInterval) } : {}),
      ipv6: o.ipv6,
    });
    await node.start();
  } catch (e) {
    logger.fatal({ err: (e as Error).message }, 'calico-node failed to start');
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await node.stop();
  logger.info('calico-node stopped');
  return 0;
}
