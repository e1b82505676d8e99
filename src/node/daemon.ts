/**
 * calico-node: the per-host daemon and composition root. It starts the components this host runs
 * (Felix, the BGP speaker), the health/metrics endpoint and the status socket `calicoctl node
 * status` reads, and stops them cleanly on SIGTERM.
 * Everything it needs is passed in, so tests start it in-process or as a process in a namespace.
 *
 * Felix, the BGP speaker and the CNI server are loaded when they are started, not when this module
 * is: a host that runs without one of them does not keep its code resident (Felix's calculation
 * graph, rules, dataplane, selector and policy modules are ~2 MB of calico-node's RSS, the speaker
 * ~2.5 MB; bench/node-memory). A module that is missing or broken still fails `start()`.
 */
import type { Server } from 'node:http';
import type { Datastore } from '../datastore/types.js';
import type { CommandRunner } from '../kernel/runner.js';
import type { Logger } from '../log.js';
import type { FelixAgent } from '../felix/agent.js';
import type { BgpAgent } from '../bgp/speaker/index.js';
// The status socket answers with or without BGP, so it comes from its own module: the speaker's
// index.js also loads the speaker (~2.5 MB resident), which a host without BGP does not run.
import { StatusSocketServer, statusSocketPath } from '../bgp/speaker/status-socket.js';
import type { CniServer } from '../cni/server.js';
import type { DatastoreConfig } from '../datastore/config.js';
import { startHealthServer, type HealthSource } from './health.js';
import { processMemorySamples } from './process-metrics.js';

export interface CalicoNodeOptions {
  readonly nodeName: string;
  readonly datastore: Datastore;
  readonly runner: CommandRunner;
  readonly logger: Logger;
  readonly felix: boolean;
  /** Port of the loopback health/metrics endpoint; 0 picks a free one, undefined disables it. */
  readonly healthPort?: number;
  readonly refreshIntervalMs?: number;
  readonly ipv6?: boolean;
  /** Run the BGP speaker (off with --no-bgp or CALICO_NETWORKING_BACKEND=none). */
  readonly bgp?: boolean;
  /** CALICO_ROUTER_ID for the speaker: an IPv4 address or `hash`. */
  readonly routerId?: string;
  /** Directory of the status socket (`calico-node.<node>.ctl`); undefined: no socket. */
  readonly runDir?: string;
  /**
   * Serve CNI calls from the calico-cni-shim on `<runDir>/cni.<netns inode>.sock` (src/cni/server.ts;
   * off with --no-cni-server). Needs `runDir`.
   */
  readonly cniServer?: boolean;
  /** The configuration `datastore` was opened from: CNI calls naming the same store share the handle. */
  readonly datastoreConfig?: DatastoreConfig;
}

export class CalicoNode implements HealthSource {
  private felix: FelixAgent | undefined;
  private bgp: BgpAgent | undefined;
  private bgpMetricSamples: (typeof import('../bgp/speaker/index.js'))['bgpMetricSamples'] | undefined;
  private statusSocket: StatusSocketServer | undefined;
  private cniServer: CniServer | undefined;
  private server: Server | undefined;

  constructor(private readonly opts: CalicoNodeOptions) {}

  async start(): Promise<void> {
    const { logger } = this.opts;
    logger.info(
      {
        node: this.opts.nodeName,
        datastore: this.opts.datastore.type,
        felix: this.opts.felix,
        bgp: this.opts.bgp ?? false,
      },
      'calico-node starting',
    );
    // A host that routes for its workloads must forward; Calico's start-up does the same. With IPv6
    // off nothing IPv6 is ours to turn on (Felix programs no IPv6 route, rule or sysctl either).
    const forwarding = ['net.ipv4.ip_forward=1'];
    if (this.opts.ipv6 ?? true) forwarding.push('net.ipv6.conf.all.forwarding=1');
    for (const s of forwarding) {
      const r = await this.opts.runner.run('sysctl', ['-q', '-w', s]);
      if (r.code !== 0) logger.warn({ sysctl: s, error: r.stderr.trim() }, 'could not enable forwarding');
    }
    // Both loaded before either starts: a speaker loaded after Felix started would start only once
    // Felix's first apply had run meanwhile (its own restart handling and sessions later than before
    // the loading was lazy).
    const [felixModule, bgpModule] = await Promise.all([
      this.opts.felix ? import('../felix/agent.js') : undefined,
      this.opts.bgp ? import('../bgp/speaker/index.js') : undefined,
    ]);
    if (felixModule) {
      const { FelixAgent } = felixModule;
      this.felix = new FelixAgent({
        nodeName: this.opts.nodeName,
        datastore: this.opts.datastore,
        runner: this.opts.runner,
        logger: logger.child({ component: 'felix' }),
        ...(this.opts.refreshIntervalMs !== undefined
          ? { refreshIntervalMs: this.opts.refreshIntervalMs }
          : {}),
        ...(this.opts.ipv6 !== undefined ? { ipv6: this.opts.ipv6 } : {}),
      });
      this.felix.start();
    }
    if (bgpModule) {
      const { BgpAgent, bgpMetricSamples } = bgpModule;
      this.bgpMetricSamples = bgpMetricSamples;
      this.bgp = new BgpAgent({
        nodeName: this.opts.nodeName,
        datastore: this.opts.datastore,
        runner: this.opts.runner,
        logger: logger.child({ component: 'bgp' }),
        ...(this.opts.routerId !== undefined ? { routerId: this.opts.routerId } : {}),
        ...(this.opts.ipv6 !== undefined ? { ipv6: this.opts.ipv6 } : {}),
        ...(this.opts.refreshIntervalMs !== undefined
          ? { fibResyncIntervalMs: this.opts.refreshIntervalMs }
          : {}),
      });
      await this.bgp.start();
    }
    if (this.opts.runDir !== undefined) {
      const path = statusSocketPath(this.opts.nodeName, this.opts.runDir);
      this.statusSocket = await StatusSocketServer.listen(path, {
        status: () => {
          const bgp = this.bgp?.status();
          return bgp
            ? { nodeName: this.opts.nodeName, bgp }
            : {
                nodeName: this.opts.nodeName,
                bgpDisabled: this.bgp
                  ? 'the BGP speaker has no Node resource with a BGP address for this node yet'
                  : 'the BGP speaker is not running (--no-bgp or CALICO_NETWORKING_BACKEND=none)',
              };
        },
        routes: (peer) => this.bgp?.routes(peer),
      });
      logger.info({ path }, 'status socket listening');
    }
    if (this.opts.cniServer && this.opts.runDir !== undefined) {
      // server.js, not the folder's index.js: the index also exports the plugin executables' entry
      // points, which the server loads itself on the first call.
      const { CniServer, cniSocketPath } = await import('../cni/server.js');
      const socketPath = cniSocketPath(this.opts.runDir);
      try {
        this.cniServer = await CniServer.listen({
          socketPath,
          logger: logger.child({ component: 'cni' }),
          ...(this.opts.datastoreConfig
            ? { sharedDatastore: { datastore: this.opts.datastore, config: this.opts.datastoreConfig } }
            : {}),
        });
        logger.info({ path: socketPath }, 'CNI server listening');
      } catch (e) {
        // The shim falls back to the Node plugin, so CNI still works without this server.
        logger.warn({ path: socketPath, err: (e as Error).message }, 'CNI server not started');
      }
    }
    if (this.opts.healthPort !== undefined) {
      this.server = await startHealthServer(this, this.opts.healthPort);
      const addr = this.server.address();
      logger.info(
        { port: typeof addr === 'object' && addr ? addr.port : this.opts.healthPort },
        'health endpoint listening',
      );
    }
  }

  ready(): boolean {
    return this.felix?.metrics.ready ?? true;
  }

  metrics(): ReturnType<HealthSource['metrics']> {
    const bgp =
      this.bgp && this.bgpMetricSamples ? this.bgpMetricSamples(this.bgp.status(), this.bgp.metrics) : [];
    const own = [...processMemorySamples(process.memoryUsage()), ...bgp];
    const m = this.felix?.metrics;
    if (!m) return own;
    return [
      ...own,
      {
        name: 'felix_int_dataplane_apply_total',
        help: 'Dataplane applies completed',
        type: 'counter' as const,
        value: m.applies,
      },
      {
        name: 'felix_int_dataplane_failures_total',
        help: 'Dataplane applies that failed',
        type: 'counter' as const,
        value: m.applyFailures,
      },
      {
        name: 'felix_int_dataplane_apply_time_seconds',
        help: 'Duration of the last dataplane apply',
        type: 'gauge' as const,
        value: m.lastApplyMs / 1000,
      },
      {
        name: 'felix_iptables_rules',
        help: 'iptables rules programmed (IPv4 and IPv6)',
        type: 'gauge' as const,
        value: m.rules,
      },
      {
        name: 'felix_ipset_members',
        help: 'ipset members programmed',
        type: 'gauge' as const,
        value: m.ipsetMembers,
      },
      {
        name: 'felix_resyncs_total',
        help: 'Datastore resyncs after a lost watch',
        type: 'counter' as const,
        value: m.resyncs,
      },
      {
        name: 'felix_ipv6_endpoints_not_programmed',
        help: 'Local workload endpoints with IPv6 addresses not programmed because IPv6 is off',
        type: 'gauge' as const,
        value: m.ipv6EndpointsNotProgrammed,
      },
    ];
  }

  async waitReady(timeoutMs?: number): Promise<void> {
    await this.felix?.waitReady(timeoutMs);
  }

  async stop(): Promise<void> {
    this.opts.logger.info('calico-node stopping');
    await this.cniServer?.close();
    await this.felix?.stop();
    await this.bgp?.stop();
    await this.statusSocket?.close();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    await this.opts.datastore.close();
  }
}
