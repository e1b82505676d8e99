/**
 * The start-up steps of `calicoctl node run`, in the seed's order and with its lines: kernel modules,
 * forwarding, the conntrack limit, the datastore, the node's address, the Node resource, the default
 * pools, the node name. Everything outside (commands, the store, randomness, the module sources) is
 * passed in; the decisions are the pure modules beside this one. Starting the process is launcher.ts.
 */
import { API_VERSION, type IPPool, type Node } from '../../api/types.js';
import { parseAsNumber } from '../../api/values.js';
import type { ResourceClient } from '../../datastore/resources.js';
import type { CommandRunner } from '../../kernel/runner.js';
import { VERSION } from '../../version.js';
import { parseAutodetectionMethod, type AutodetectionMethod } from './autodetect.js';
import {
  createdPoolLine,
  defaultPoolSettingsFromEnv,
  ipipPoolWarnings,
  planDefaultPools,
} from './default-pools.js';
import { lookupRoute, readHostInterfaces, type HostInterface } from './host-interfaces.js';
import { moduleReports, moduleStartupLines, type KernelModuleSources } from './kernel-modules.js';
import { decideNodeAddress, parseAddressSetting, planNodeResource } from './node-resource.js';

/** Calico raises nf_conntrack_max to this when it is lower (never lowers it). */
export const CONNTRACK_MAX = 1_000_000;

export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export interface StartupDeps {
  readonly runner: CommandRunner;
  readonly client: ResourceClient;
  readonly modules: KernelModuleSources;
  readonly print: (line: string) => void;
  readonly randomBytes: (n: number) => Uint8Array;
  readonly hostname: string;
  /** "sqlite /var/lib/calico/datastore.sqlite": shown in the datastore line. */
  readonly datastoreDescription: string;
}

export interface StartupOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly name?: string;
  readonly ip?: string;
  readonly ip6?: string;
  readonly ipAutodetectionMethod?: string;
  readonly ip6AutodetectionMethod?: string;
  readonly as?: string;
  readonly noDefaultPools?: boolean;
}

export interface StartupOutcome {
  readonly nodeName: string;
  readonly node: Node;
  readonly createdPools: readonly IPPool[];
}

/** NODENAME, then --name, then the host name; as Calico, an explicit flag wins over the environment. */
export function nodeNameOf(opts: Pick<StartupOptions, 'name' | 'env'>, hostname: string): string {
  return opts.name?.trim() || opts.env.NODENAME?.trim() || hostname;
}

async function sysctlValue(runner: CommandRunner, key: string): Promise<string | undefined> {
  const r = await runner.run('sysctl', ['-n', key]).catch(() => undefined);
  return r && r.code === 0 ? r.stdout.trim() : undefined;
}

async function setSysctl(runner: CommandRunner, key: string, value: string): Promise<string | undefined> {
  const r = await runner.run('sysctl', ['-q', '-w', `${key}=${value}`]);
  // sysctl reports a refused write on stderr, sometimes with exit status 0.
  if (r.code === 0 && !r.stderr.trim()) return undefined;
  return r.stderr.trim() || `exit ${r.code}`;
}

async function loadModules(deps: StartupDeps): Promise<boolean> {
  let reports = moduleReports(deps.modules);
  const loadable = reports.filter((r) => r.state === 'loadable').map((r) => r.module.name);
  if (loadable.length) {
    deps.print(`Running command to load modules: modprobe -a ${loadable.join(' ')}`);
    const r = await deps.runner.run('modprobe', ['-a', ...loadable]).catch((e: Error) => ({
      code: 127,
      stdout: '',
      stderr: e.message,
    }));
    if (r.code !== 0) deps.print(`Warning: modprobe failed: ${r.stderr.trim()}`);
    else
      reports = reports.map((x) =>
        loadable.includes(x.module.name) ? { ...x, state: 'loaded' as const } : x,
      );
  }
  for (const line of moduleStartupLines(reports)) deps.print(line);
  return reports.find((r) => r.module.name === 'ipip')?.state !== 'missing';
}

/** Prepares forwarding and conntrack; returns whether the kernel has IPv6 at all. */
async function prepareHost(deps: StartupDeps): Promise<boolean> {
  const { runner, print } = deps;
  print('Enabling IPv4 forwarding');
  const v4 = await setSysctl(runner, 'net.ipv4.ip_forward', '1');
  if (v4)
    throw new StartupError(
      `could not enable IPv4 forwarding (sysctl net.ipv4.ip_forward=1): ${v4}; run as root`,
    );
  const ipv6 = (await sysctlValue(runner, 'net.ipv6.conf.all.forwarding')) !== undefined;
  if (ipv6) {
    print('Enabling IPv6 forwarding');
    const v6 = await setSysctl(runner, 'net.ipv6.conf.all.forwarding', '1');
    if (v6) print(`Warning: could not enable IPv6 forwarding: ${v6}`);
  }
  print('Increasing conntrack limit');
  const current = await sysctlValue(runner, 'net.netfilter.nf_conntrack_max');
  if (current === undefined) print('Note: net.netfilter.nf_conntrack_max is not present; limit left alone');
  else if (Number(current) < CONNTRACK_MAX) {
    const e = await setSysctl(runner, 'net.netfilter.nf_conntrack_max', String(CONNTRACK_MAX));
    // Outside the initial namespace the limit is read-only (and sysctl may still exit 0), so the
    // value is read back; the host's limit applies either way.
    const after = await sysctlValue(runner, 'net.netfilter.nf_conntrack_max');
    if (after === String(CONNTRACK_MAX))
      print(`Raised net.netfilter.nf_conntrack_max from ${current} to ${after}`);
    else
      print(
        `Note: net.netfilter.nf_conntrack_max stays ${after ?? current}${e ? `: ${e}` : ' (read-only here)'}`,
      );
  }
  return ipv6;
}

async function ensureClusterInformation(
  client: ResourceClient,
  randomBytes: (n: number) => Uint8Array,
): Promise<void> {
  if (await client.get('ClusterInformation', 'default')) return;
  await client.create({
    apiVersion: API_VERSION,
    kind: 'ClusterInformation',
    metadata: { name: 'default' },
    spec: {
      clusterGUID: Buffer.from(randomBytes(16)).toString('hex'),
      clusterType: 'calicoctl,bgp',
      calicoVersion: `v${VERSION}`,
      datastoreReady: true,
    },
  });
}

export async function runStartupSteps(deps: StartupDeps, opts: StartupOptions): Promise<StartupOutcome> {
  const { client, print, runner, env } = { ...deps, env: opts.env };
  const ipipAvailable = await loadModules(deps);
  const ipv6 = await prepareHost(deps);

  try {
    await client.list('ClusterInformation');
  } catch (e) {
    throw new StartupError(
      `cannot reach the datastore (${deps.datastoreDescription}): ${(e as Error).message}`,
    );
  }
  print(`Datastore connection OK (${deps.datastoreDescription})`);
  await ensureClusterInformation(client, deps.randomBytes);

  const nodeName = nodeNameOf(opts, deps.hostname);
  const existing = await client.get('Node', nodeName);
  let interfaces: HostInterface[] | undefined;
  const family = async (
    fam: 4 | 6,
    setting: string | undefined,
    methodText: string | undefined,
    current?: string,
  ) => {
    const s = parseAddressSetting(setting, fam, fam === 4 ? 'IP' : 'IP6');
    const method: AutodetectionMethod = parseAutodetectionMethod(methodText);
    const needsHost = s.kind !== 'none' && !(s.kind === 'unset' && (current || fam === 6));
    if (needsHost) interfaces ??= await readHostInterfaces(runner);
    const route =
      method.kind === 'can-reach' && needsHost ? await lookupRoute(runner, method.destination) : undefined;
    return decideNodeAddress(s, fam, current, method, interfaces ?? [], route);
  };
  const v4 = await family(
    4,
    opts.ip ?? env.IP,
    opts.ipAutodetectionMethod ?? env.IP_AUTODETECTION_METHOD,
    existing?.spec.bgp?.ipv4Address,
  );
  const v6 = await family(
    6,
    opts.ip6 ?? env.IP6,
    opts.ip6AutodetectionMethod ?? env.IP6_AUTODETECTION_METHOD,
    existing?.spec.bgp?.ipv6Address,
  );
  for (const l of [...v4.lines, ...v6.lines]) print(l);

  const asText = opts.as ?? env.AS;
  const asNumber = asText ? parseAsNumber(asText) : undefined;
  if (asText && asNumber === undefined)
    throw new StartupError(`AS="${asText}" is not an AS number (1 to 4294967295, or dotted like 1.10)`);
  const plan = planNodeResource({
    name: nodeName,
    ...(existing ? { existing } : {}),
    ...(v4.address ? { ipv4: v4.address } : {}),
    ...(v6.address ? { ipv6: v6.address } : {}),
    ...(asNumber !== undefined ? { asNumber } : {}),
    others: await client.list('Node'),
  });
  for (const l of plan.lines) print(l);
  const node = existing ? await client.update(plan.node) : await client.create(plan.node);

  const pools = await client.list('IPPool');
  for (const w of ipipPoolWarnings(pools, { ipip: ipipAvailable })) print(`Warning: ${w}`);
  const settings = defaultPoolSettingsFromEnv(env, {
    ...(opts.noDefaultPools !== undefined ? { noDefaultPools: opts.noDefaultPools } : {}),
    // No default IPv6 pool on a kernel without IPv6, as Calico.
    ipv6,
  });
  const created: IPPool[] = [];
  for (const p of planDefaultPools(pools, settings, { ipip: ipipAvailable }, deps.randomBytes)) {
    created.push(await client.create(p));
    print(createdPoolLine(p));
  }
  print(`Using node name: ${nodeName}`);
  return { nodeName, node, createdPools: created };
}
