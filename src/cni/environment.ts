/**
 * What the runtime tells a plugin through the environment (CNI SPEC "Parameters"): the command, the
 * container, its network namespace, the interface name, the plugin search path and `CNI_ARGS`.
 * Parsed once, up front, so every later step works with checked values and a bad invocation is a
 * CNI error code 4 that names the variable, never a crash half way through.
 */
import { parseIp, formatIp } from '../net/ip.js';
import { CniError, CniErrorCode } from './spec.js';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

/** The arguments of one ADD, DEL or CHECK. */
export interface CniInvocation {
  readonly command: Exclude<CniCommand, 'VERSION'>;
  readonly containerId: string;
  /** Path of the container's network namespace; may be empty on DEL (the container may be gone). */
  readonly netns: string;
  readonly ifname: string;
  /** Directories to look for other plugins in (delegated IPAM). */
  readonly cniPath: readonly string[];
  readonly args: CniArgs;
}

/** The `CNI_ARGS` keys we understand; a runtime adds `IgnoreUnknown=1` when it passes others. */
export interface CniArgs {
  readonly podName?: string;
  readonly podNamespace?: string;
  readonly infraContainerId?: string;
  readonly podUid?: string;
  /**
   * `IP=10.0.0.5` or `IP=10.0.0.5,fd00::5`: the addresses the container must get instead of
   * auto-assigned ones (Calico's `IP` argument; at most one per family), canonical and bare.
   */
  readonly ips?: readonly string[];
}

type TextArg = Exclude<keyof CniArgs, 'ips'>;

const KNOWN_ARGS: Record<string, TextArg | 'ips' | null> = {
  K8S_POD_NAME: 'podName',
  K8S_POD_NAMESPACE: 'podNamespace',
  K8S_POD_INFRA_CONTAINER_ID: 'infraContainerId',
  K8S_POD_UID: 'podUid',
  IP: 'ips',
  IgnoreUnknown: null,
};

const invalidEnv = (msg: string, details = '') => new CniError(CniErrorCode.InvalidEnvironment, msg, details);

const IP_FORM =
  'give bare addresses, at most one per family, comma-separated: IP=10.0.0.5 or IP=10.0.0.5,fd00::5';

/** The value of `IP=`: each address checked and made canonical, at most one IPv4 and one IPv6. */
export function parseRequestedIps(value: string): string[] {
  const out: string[] = [];
  const seen = new Map<4 | 6, string>();
  for (const raw of value.split(',').map((x) => x.trim())) {
    const ip = raw ? parseIp(raw) : undefined;
    if (!ip)
      throw invalidEnv(
        raw
          ? `CNI_ARGS: IP "${raw}" is not an IP address${raw.includes('/') ? ' (a prefix length is not allowed)' : ''}`
          : `CNI_ARGS: IP="${value}" has an empty address`,
        IP_FORM,
      );
    const text = formatIp(ip);
    const earlier = seen.get(ip.family);
    if (earlier)
      throw invalidEnv(
        `CNI_ARGS: IP asks for two IPv${ip.family} addresses (${earlier} and ${text}); a container gets one per family`,
        IP_FORM,
      );
    seen.set(ip.family, text);
    out.push(text);
  }
  return out;
}

/**
 * What to do with `IP=`: `parse` checks it (ADD, CHECK); `ignore` skips it (DEL releases by handle
 * and never reads it, and must not fail over an argument ADD already refused, or the runtime would
 * retry the DEL for ever).
 */
export type RequestedIpHandling = 'parse' | 'ignore';

export function parseCniArgs(text: string, requestedIps: RequestedIpHandling = 'parse'): CniArgs {
  const args: { -readonly [K in keyof CniArgs]: CniArgs[K] } = {};
  const pairs = text
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean);
  const ignoreUnknown = pairs.some((p) => /^IgnoreUnknown=(1|true)$/i.test(p));
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalidEnv(`CNI_ARGS: "${pair}" is not KEY=VALUE`, 'separate pairs with ";"');
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const field = KNOWN_ARGS[key];
    if (field === undefined) {
      if (ignoreUnknown) continue;
      throw invalidEnv(
        `CNI_ARGS: unknown key "${key}"`,
        `known keys: ${Object.keys(KNOWN_ARGS).join(', ')}; add IgnoreUnknown=1 to pass others`,
      );
    }
    if (field === 'ips') {
      if (requestedIps === 'ignore') continue;
      // Two IP= pairs could only be a mistake: which one would the container get?
      if (args.ips) throw invalidEnv('CNI_ARGS: IP is given twice', IP_FORM);
      args.ips = parseRequestedIps(value);
    } else if (field) args[field] = value;
  }
  return args;
}

// CNI SPEC: the container ID must be non-empty, start with an alphanumeric character and contain only
// alphanumerics, underscore, dot and hyphen.
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
// Linux interface names: at most 15 bytes, no '/', no whitespace, not '.' or '..'.
const IFNAME = /^[^/\s:]{1,15}$/;

export function parseCommand(env: NodeJS.ProcessEnv): CniCommand {
  const command = env.CNI_COMMAND;
  if (!command) throw invalidEnv('CNI_COMMAND is not set', 'set it to ADD, DEL, CHECK or VERSION');
  if (command === 'ADD' || command === 'DEL' || command === 'CHECK' || command === 'VERSION') return command;
  throw invalidEnv(`CNI_COMMAND "${command}" is not a CNI command`, 'use ADD, DEL, CHECK or VERSION');
}

export function parseInvocation(env: NodeJS.ProcessEnv): CniInvocation {
  const command = parseCommand(env);
  if (command === 'VERSION') throw invalidEnv('VERSION takes no container arguments');
  const containerId = env.CNI_CONTAINERID ?? '';
  if (!CONTAINER_ID.test(containerId))
    throw invalidEnv(
      containerId
        ? `CNI_CONTAINERID "${containerId}" is not a valid container ID`
        : 'CNI_CONTAINERID is not set',
      'it must start with a letter or digit and contain only letters, digits, "_", "." and "-"',
    );
  const netns = env.CNI_NETNS ?? '';
  if (!netns && command !== 'DEL')
    throw invalidEnv(`CNI_NETNS is not set (${command} needs the container's network namespace path)`);
  const ifname = env.CNI_IFNAME ?? '';
  if (!IFNAME.test(ifname) || ifname === '.' || ifname === '..')
    throw invalidEnv(
      ifname ? `CNI_IFNAME "${ifname}" is not a valid interface name` : 'CNI_IFNAME is not set',
      'at most 15 characters, no "/", ":" or spaces',
    );
  const cniPath = (env.CNI_PATH ?? '').split(':').filter(Boolean);
  return {
    command,
    containerId,
    netns,
    ifname,
    cniPath,
    args: parseCniArgs(env.CNI_ARGS ?? '', command === 'DEL' ? 'ignore' : 'parse'),
  };
}
