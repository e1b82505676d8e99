/**
 * `calicoctl node run --init-system` prints a systemd unit instead of starting anything, as Calico's
 * does (there it wraps `docker run`; here calico-node is a plain process). The start-up steps
 * (forwarding, Node resource, default pools) run as ExecStartPre through `calicoctl node run
 * --startup-only`, so a unit started at boot does everything `node run` does. Secrets are not
 * written into the unit: they belong in the EnvironmentFile it reads.
 */

export interface SystemdUnitInput {
  readonly nodeName: string;
  /** argv of calico-node, program first. */
  readonly nodeCommand: readonly string[];
  /** argv of the start-up step (calicoctl node run --startup-only ...), program first. */
  readonly startupCommand: readonly string[];
  /** Environment for both commands (datastore, autodetection, pool settings). */
  readonly environment: Readonly<Record<string, string>>;
  readonly logFile: string;
  /** Where the commands run (tsx resolves from here when running from the sources). */
  readonly workingDirectory: string;
}

/** Variables that must not be printed into a world-readable unit file. */
export const SECRET_VARIABLES: readonly string[] = ['ETCD_PASSWORD'];

export const ENVIRONMENT_FILE = '/etc/calico/calico.env';

/** One argument as systemd's command-line syntax reads it: quoted when needed, `%` and `$` escaped. */
export function quoteSystemdArgument(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (escaped !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function commandLine(argv: readonly string[]): string {
  return argv.map(quoteSystemdArgument).join(' ');
}

export function renderSystemdUnit(u: SystemdUnitInput): string {
  const env = Object.entries(u.environment)
    .filter(([k]) => !SECRET_VARIABLES.includes(k))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `Environment=${quoteSystemdArgument(`${k}=${v}`)}`);
  const secrets = Object.keys(u.environment).filter((k) => SECRET_VARIABLES.includes(k));
  return [
    '[Unit]',
    `Description=calico-node for ${u.nodeName}: Felix policy and routes, BGP`,
    'After=network-online.target',
    'Wants=network-online.target',
    'StartLimitIntervalSec=60',
    'StartLimitBurst=3',
    '',
    '[Service]',
    'Type=simple',
    ...(secrets.length ? [`# ${secrets.join(', ')}: set in ${ENVIRONMENT_FILE}, not here`] : []),
    `WorkingDirectory=${u.workingDirectory}`,
    `EnvironmentFile=-${ENVIRONMENT_FILE}`,
    ...env,
    `ExecStartPre=${commandLine(u.startupCommand)}`,
    `ExecStart=${commandLine(u.nodeCommand)}`,
    `StandardOutput=append:${u.logFile}`,
    `StandardError=append:${u.logFile}`,
    'KillSignal=SIGTERM',
    'TimeoutStopSec=20',
    'Restart=on-failure',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
