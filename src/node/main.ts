/**
 * `calico-node` command line: which node (`--node` or NODENAME), which components (`--no-felix`,
 * `--no-bgp` / CALICO_NETWORKING_BACKEND=none, `--no-cni-server`), the health port, the directory
 * of the status and CNI sockets ($CALICO_RUN_DIR), and the datastore (resolved as calicoctl
 * resolves it). Runs until SIGTERM/SIGINT.
 */
import { hostname } from 'node:os';
import { resolveDatastoreConfig } from '../datastore/config.js';
import { openDatastore } from '../datastore/open.js';
import { ProcessRunner } from '../kernel/runner.js';
import { createLogger } from '../log.js';
import { DEFAULT_RUN_DIR } from '../bgp/speaker/status-socket.js';
import { parseCalicoNodeCommandLine } from './command-line.js';
import { CalicoNode } from './daemon.js';

export async function runCalicoNode(argv: string[]): Promise<number> {
  const o = await parseCalicoNodeCommandLine(argv);
  if (!o) return 2;
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
