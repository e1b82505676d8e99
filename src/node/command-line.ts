/**
 * calico-node's command line, declared once (`CALICO_NODE_OPTIONS`) and read two ways.
 *
 * A plain, valid command line (what a unit file, the lab or `calicoctl node run` starts) is read by
 * Node's own `util.parseArgs`; anything else (`--help`, an unknown option, a missing value, a
 * positional argument) goes to commander, built from the same table, which prints the help or the
 * error exactly as before. Why two readers: commander stays resident once loaded (~0.7 MB of a
 * daemon that runs for months; bench/node-memory) for a command line read once. The fast reader
 * only ever accepts what commander accepts and means the same by it (a unit test compares the two
 * over generated command lines); when in doubt it declines and commander decides.
 */
import { parseArgs } from 'node:util';

export interface CalicoNodeFlags {
  readonly node?: string;
  readonly felix: boolean;
  readonly bgp: boolean;
  readonly cniServer: boolean;
  readonly config?: string;
  readonly healthPort: string;
  readonly refreshInterval?: string;
  readonly ipv6: boolean;
  readonly logLevel: string;
}

type Environment = Readonly<Record<string, string | undefined>>;

interface OptionSpec {
  /** commander's flags syntax: `--name <value>`, `-c, --name <value>` or `--no-name`. */
  readonly flags: string;
  readonly description: string;
  readonly defaultFrom?: (env: Environment) => string;
}

export const CALICO_NODE_OPTIONS: readonly OptionSpec[] = [
  { flags: '--node <name>', description: "this host's node name (default: $NODENAME, then the host name)" },
  { flags: '--no-felix', description: 'do not run Felix' },
  {
    flags: '--no-bgp',
    description: 'do not run the BGP speaker (also CALICO_NETWORKING_BACKEND=none)',
  },
  {
    flags: '--no-cni-server',
    description: 'do not serve CNI calls from the calico-cni-shim on $CALICO_RUN_DIR/cni.<netns>.sock',
  },
  { flags: '-c, --config <file>', description: 'calicoctl-style datastore configuration file' },
  {
    flags: '--health-port <port>',
    description: 'loopback port for /readiness, /liveness and /metrics (0 = any free port)',
    defaultFrom: (env) => env.FELIX_HEALTHPORT ?? '9099',
  },
  {
    flags: '--refresh-interval <ms>',
    description: 'dataplane refresh period in ms (overrides iptablesRefreshInterval)',
  },
  {
    flags: '--no-ipv6',
    description: 'program nothing IPv6 (no ip6tables rules, IPv6 routes, sets or sysctls)',
  },
  {
    flags: '--log-level <level>',
    description: 'initial log level (the datastore setting wins once read)',
    defaultFrom: (env) => env.LOGLEVEL ?? 'info',
  },
];

interface ParsedFlags {
  /** `--no-felix` → `no-felix`. */
  readonly long: string;
  readonly short?: string;
  readonly takesValue: boolean;
}

function parseFlags(flags: string): ParsedFlags {
  const m = /^(?:-(\w), )?--([\w-]+)( <\w+>)?$/.exec(flags);
  if (!m) throw new Error(`calico-node: option flags "${flags}" are not in a form this reader knows`);
  return { long: m[2] as string, ...(m[1] ? { short: m[1] } : {}), takesValue: m[3] !== undefined };
}

/** `health-port` → `healthPort`, `no-cni-server` → `cniServer`: commander's keys. */
function keyOf(long: string): { key: string; negated: boolean } {
  const negated = long.startsWith('no-');
  const name = negated ? long.slice(3) : long;
  return { key: name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()), negated };
}

function defaults(env: Environment): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const o of CALICO_NODE_OPTIONS) {
    const { key, negated } = keyOf(parseFlags(o.flags).long);
    if (negated) out[key] = true;
    else if (o.defaultFrom) out[key] = o.defaultFrom(env);
  }
  return out;
}

/**
 * The flags of a plain command line, or undefined when it is anything else (help, an error, an
 * option value that starts with `-`, a positional argument): then commander must read it.
 */
export function parsePlainCommandLine(
  argv: readonly string[],
  env: Environment = process.env,
): CalicoNodeFlags | undefined {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const o of CALICO_NODE_OPTIONS) {
    const f = parseFlags(o.flags);
    options[f.long] = { type: f.takesValue ? 'string' : 'boolean', ...(f.short ? { short: f.short } : {}) };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch {
    return undefined;
  }
  const out = defaults(env);
  for (const [long, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const { key, negated } = keyOf(long);
    out[key] = negated ? false : value;
  }
  return out as unknown as CalicoNodeFlags;
}

/** Where commander prints help (`writeOut`) and errors (`writeErr`); default stdout and stderr. */
export interface CommanderOutput {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

/**
 * commander's reading, for what `parsePlainCommandLine` declines: it prints the help or the error
 * itself, and then this returns undefined (calico-node exits 2, as it always has).
 */
export async function parseWithCommander(
  argv: readonly string[],
  env: Environment = process.env,
  output?: CommanderOutput,
): Promise<CalicoNodeFlags | undefined> {
  const { Command } = await import('commander');
  const program = new Command('calico-node').description(
    'The per-host Calico daemon: Felix (policy and routes) and BGP',
  );
  if (output) program.configureOutput(output);
  for (const o of CALICO_NODE_OPTIONS) {
    if (o.defaultFrom) program.option(o.flags, o.description, o.defaultFrom(env));
    else program.option(o.flags, o.description);
  }
  program.exitOverride();
  try {
    program.parse([...argv], { from: 'user' });
  } catch {
    return undefined;
  }
  return program.opts<CalicoNodeFlags>();
}

/** The flags, or undefined after commander printed help or an error. */
export async function parseCalicoNodeCommandLine(
  argv: readonly string[],
  env: Environment = process.env,
  output?: CommanderOutput,
): Promise<CalicoNodeFlags | undefined> {
  return parsePlainCommandLine(argv, env) ?? parseWithCommander(argv, env, output);
}
