/**
 * `calicoctl node run | diags | checksystem`: the host-side node commands, without docker. `run` does
 * the seed's start-up steps and starts calico-node as a background process (or prints a systemd unit);
 * `diags` packs the node's state into a tarball; `checksystem` says whether this host can run
 * calico-node. They join the `node` command that node.ts defines (with `status`), or create it.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { DatastoreConfig } from '../../datastore/config.js';
import { ProcessRunner } from '../../kernel/runner.js';
import {
  AutodetectionMethodError,
  calicoctlCommand,
  calicoNodeCommand,
  checksystemExitCode,
  collectDiags,
  DEFAULT_LOG_DIR,
  DEFAULT_RUN_DIR,
  DefaultPoolError,
  formatCheckReport,
  launchDetached,
  logFileIn,
  NodeAddressError,
  nodeNameOf,
  pidFileIn,
  READY_LINE,
  readKernelModuleSources,
  renderSystemdUnit,
  runChecksystem,
  runStartupSteps,
  StartupError,
  stopRecordedNode,
  waitForReady,
} from '../../node/startup/index.js';
import { CliContext, CliError } from '../context.js';

interface RunOptions {
  name?: string;
  ip?: string;
  ip6?: string;
  ipAutodetectionMethod?: string;
  ip6AutodetectionMethod?: string;
  as?: string;
  defaultIppools: boolean;
  logDir: string;
  runDir: string;
  healthPort?: string;
  initSystem?: boolean;
  startupOnly?: boolean;
  waitTimeout: string;
  backend?: string;
}

/** The datastore as environment for calico-node, so it opens exactly the store calicoctl used. */
function datastoreEnvironment(cfg: DatastoreConfig): Record<string, string> {
  const env: Record<string, string> = { DATASTORE_TYPE: cfg.datastoreType };
  if (cfg.sqlitePath) env.SQLITE_PATH = resolve(cfg.sqlitePath);
  if (cfg.etcdEndpoints?.length) env.ETCD_ENDPOINTS = cfg.etcdEndpoints.join(',');
  if (cfg.etcdUsername) env.ETCD_USERNAME = cfg.etcdUsername;
  if (cfg.etcdPassword) env.ETCD_PASSWORD = cfg.etcdPassword;
  if (cfg.etcdKeyFile) env.ETCD_KEY_FILE = resolve(cfg.etcdKeyFile);
  if (cfg.etcdCertFile) env.ETCD_CERT_FILE = resolve(cfg.etcdCertFile);
  if (cfg.etcdCACertFile) env.ETCD_CA_CERT_FILE = resolve(cfg.etcdCACertFile);
  return env;
}

function describeDatastore(cfg: DatastoreConfig): string {
  return cfg.datastoreType === 'sqlite'
    ? `sqlite ${cfg.sqlitePath ?? ''}`.trim()
    : cfg.datastoreType === 'etcdv3'
      ? `etcdv3 ${cfg.etcdEndpoints?.join(',') ?? ''}`
      : cfg.datastoreType;
}

/** Start-up settings that also go into a systemd unit, so the unit does what this command would. */
const PASSED_SETTINGS = [
  'IP',
  'IP6',
  'IP_AUTODETECTION_METHOD',
  'IP6_AUTODETECTION_METHOD',
  'AS',
  'NO_DEFAULT_POOLS',
  'CALICO_IPV4POOL_CIDR',
  'CALICO_IPV6POOL_CIDR',
  'CALICO_IPV4POOL_IPIP',
  'CALICO_IPV4POOL_VXLAN',
  'CALICO_IPV4POOL_NAT_OUTGOING',
  'FELIX_ENABLED',
  'CALICO_NETWORKING_BACKEND',
];

function startupArgs(nodeName: string, o: RunOptions): string[] {
  const args = ['node', 'run', '--startup-only', '--name', nodeName];
  if (o.ip) args.push('--ip', o.ip);
  if (o.ip6) args.push('--ip6', o.ip6);
  if (o.ipAutodetectionMethod) args.push('--ip-autodetection-method', o.ipAutodetectionMethod);
  if (o.ip6AutodetectionMethod) args.push('--ip6-autodetection-method', o.ip6AutodetectionMethod);
  if (o.as) args.push('--as', o.as);
  if (!o.defaultIppools) args.push('--no-default-ippools');
  return args;
}

async function runNode(ctx: CliContext, o: RunOptions): Promise<void> {
  const env = ctx.io.env;
  const cfg = ctx.config();
  const nodeName = nodeNameOf({ ...(o.name !== undefined ? { name: o.name } : {}), env }, hostname());
  const logFile = logFileIn(resolve(o.logDir));
  const pidFile = pidFileIn(resolve(o.runDir), nodeName);
  const node = calicoNodeCommand();
  const nodeArgv = [
    ...node.argv,
    '--node',
    nodeName,
    ...(o.healthPort ? ['--health-port', o.healthPort] : []),
  ];
  const childEnv: Record<string, string> = { ...datastoreEnvironment(cfg), NODENAME: nodeName };
  for (const k of PASSED_SETTINGS) {
    const v = env[k];
    if (v !== undefined && v !== '') childEnv[k] = v;
  }
  if (o.backend !== undefined) {
    if (o.backend !== 'bird' && o.backend !== 'none')
      throw new CliError(`--backend "${o.backend}" is not a networking backend (use bird for BGP, or none)`);
    childEnv.CALICO_NETWORKING_BACKEND = o.backend;
  }
  const waitSeconds = Number(o.waitTimeout);
  if (!Number.isFinite(waitSeconds) || waitSeconds <= 0)
    throw new CliError(`--wait-timeout "${o.waitTimeout}" is not a number of seconds greater than 0`);
  if (cfg.datastoreType === 'memory' && !o.initSystem && !o.startupOnly)
    throw new CliError(
      'calico-node cannot share an in-memory datastore with calicoctl; use DATASTORE_TYPE=sqlite (with SQLITE_PATH) or etcdv3',
    );

  if (o.initSystem) {
    ctx.io.stdout(
      renderSystemdUnit({
        nodeName,
        nodeCommand: nodeArgv,
        startupCommand: [...calicoctlCommand(), ...startupArgs(nodeName, o)],
        environment: childEnv,
        logFile,
        workingDirectory: node.cwd,
      }),
    );
    return;
  }

  const runner = new ProcessRunner();
  try {
    await runStartupSteps(
      {
        runner,
        client: await ctx.client(),
        modules: readKernelModuleSources(),
        print: (l) => ctx.out(l),
        randomBytes: (n) => randomBytes(n),
        hostname: hostname(),
        datastoreDescription: describeDatastore(cfg),
      },
      {
        env,
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.ip !== undefined ? { ip: o.ip } : {}),
        ...(o.ip6 !== undefined ? { ip6: o.ip6 } : {}),
        ...(o.ipAutodetectionMethod !== undefined ? { ipAutodetectionMethod: o.ipAutodetectionMethod } : {}),
        ...(o.ip6AutodetectionMethod !== undefined
          ? { ip6AutodetectionMethod: o.ip6AutodetectionMethod }
          : {}),
        ...(o.as !== undefined ? { as: o.as } : {}),
        noDefaultPools: !o.defaultIppools,
      },
    );
  } catch (e) {
    if (
      e instanceof StartupError ||
      e instanceof NodeAddressError ||
      e instanceof AutodetectionMethodError ||
      e instanceof DefaultPoolError
    )
      throw new CliError(`calico node failed to start: ${e.message}`);
    throw e;
  }
  if (o.startupOnly) return;

  // Free the store before the daemon opens it (SQLite is one writer at a time).
  await ctx.close();
  ctx.out('Stopping old calico-node process (if running).');
  const old = await stopRecordedNode(pidFile);
  if (old !== undefined) ctx.out(`Stopped calico-node (pid ${old}).`);
  ctx.out('Running the following command to start calico-node:');
  ctx.out('');
  ctx.out(
    [
      ...Object.entries(childEnv)
        .filter(([k]) => k !== 'ETCD_PASSWORD')
        .map(([k, v]) => `${k}=${v}`),
      ...nodeArgv,
    ].join(' '),
  );
  ctx.out('');
  const launched = launchDetached({
    argv: nodeArgv,
    cwd: node.cwd,
    env: { ...process.env, ...env, ...childEnv },
    logFile,
    pidFile,
  });
  ctx.out(
    `Process started (pid ${launched.pid}, log ${logFile}, pid file ${pidFile}), checking progress logs.`,
  );
  const readyLine = childEnv.FELIX_ENABLED === 'false' ? 'calico-node starting' : READY_LINE;
  const outcome = await waitForReady(logFile, launched, waitSeconds * 1000, readyLine);
  if (!outcome.ready)
    throw new CliError(
      `calico node failed to start: ${outcome.reason}\n--- last lines of ${logFile} ---\n${outcome.logTail}`,
    );
  ctx.out('calico node started successfully');
}

function nodeCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'node') ??
    program.command('node').description('Run, inspect and check the calico node on this host')
  );
}

export function registerNodeOpsCommands(program: Command, ctx: CliContext): void {
  const node = nodeCommand(program);
  node
    .command('run')
    .description(
      'Prepare this host (forwarding, Node resource, default pools) and start calico-node in the background',
    )
    .option('--name <name>', 'node name (default: $NODENAME, then the host name)')
    .option(
      '--ip <ip>',
      'IPv4 address (ADDR[/LEN]), "autodetect" or "none" (default: $IP, else keep or autodetect)',
    )
    .option('--ip6 <ip6>', 'IPv6 address (ADDR[/LEN]), "autodetect" or "none" (default: $IP6)')
    .option(
      '--ip-autodetection-method <method>',
      'first-found, interface=REGEX, skip-interface=REGEX, can-reach=IP, cidr=CIDR (default: $IP_AUTODETECTION_METHOD)',
    )
    .option('--ip6-autodetection-method <method>', 'as --ip-autodetection-method, for IPv6')
    .option('--as <asn>', "this node's AS number (default: the global one)")
    .option(
      '--backend <backend>',
      'bird (BGP, the default) or none (policy only), as CALICO_NETWORKING_BACKEND',
    )
    .option('--no-default-ippools', 'do not create the default IPv4 and IPv6 pools')
    .option('--log-dir <dir>', "calico-node's log directory", DEFAULT_LOG_DIR)
    .option('--run-dir <dir>', 'where the pid file goes', DEFAULT_RUN_DIR)
    .option('--health-port <port>', "calico-node's health port (its default: 9099)")
    .option('--init-system', 'print a systemd unit that runs calico-node, instead of starting it')
    .option(
      '--startup-only',
      'do the start-up steps and exit without starting calico-node (used by the systemd unit)',
    )
    .option('--wait-timeout <seconds>', 'how long to wait for calico-node to report ready', '60')
    .action(async (o: RunOptions) => runNode(ctx, o));
  node
    .command('diags')
    .description('Gather a diagnostics bundle (logs, iptables, ipsets, routes, resources) into a tarball')
    .option('--name <name>', 'node name (default: $NODENAME, then the host name)')
    .option('--log-dir <dir>', "calico-node's log directory", DEFAULT_LOG_DIR)
    .option('--dest-dir <dir>', 'where to write the tarball (default: the temporary directory)')
    .action(async (o: { name?: string; logDir: string; destDir?: string }) => {
      const client = await ctx.client();
      await collectDiags({
        runner: new ProcessRunner(),
        nodeName: nodeNameOf(
          { ...(o.name !== undefined ? { name: o.name } : {}), env: ctx.io.env },
          hostname(),
        ),
        logDir: resolve(o.logDir),
        ...(o.destDir ? { destDir: resolve(o.destDir) } : {}),
        listResources: (kind) => client.list(kind),
        now: () => new Date(),
        print: (l) => ctx.out(l),
      });
    });
  node
    .command('checksystem')
    .description(
      'Verify that this host can run calico-node (forwarding, iptables, ipset, conntrack, kernel features)',
    )
    .action(async () => {
      const results = await runChecksystem({
        runner: new ProcessRunner(),
        modules: readKernelModuleSources(),
      });
      ctx.io.stdout(formatCheckReport(results));
      if (checksystemExitCode(results) !== 0)
        throw new CliError('checksystem: a required check failed (see above)');
    });
}
