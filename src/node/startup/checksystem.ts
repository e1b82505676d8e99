/**
 * The probes behind `calicoctl node checksystem`. Each asks the kernel or a tool directly instead of
 * trusting version numbers: forwarding from sysctl, iptables/ip6tables by a dry-run restore (either
 * backend, legacy or nf_tables, is fine), ipset and conntrack by running them, and kernel features by
 * trying them in a throwaway network namespace (a VXLAN link, an IPIP link, hash:ip and hash:net sets)
 * that is removed afterwards, so the host itself is never changed.
 */
import { randomBytes } from 'node:crypto';
import type { CommandRunner } from '../../kernel/runner.js';
import type { CheckResult } from './checksystem-report.js';
import { IPIP_UNAVAILABLE } from './default-pools.js';
import { describeModuleState, moduleReports, type KernelModuleSources } from './kernel-modules.js';

export interface ChecksystemDeps {
  readonly runner: CommandRunner;
  readonly modules: KernelModuleSources;
  /** Name of the throwaway namespace (tests pass a recognisable one). */
  readonly probeNamespace?: string;
}

interface Ran {
  ok: boolean;
  out: string;
  err: string;
}

async function tryRun(
  runner: CommandRunner,
  cmd: string,
  args: readonly string[],
  input?: string,
): Promise<Ran> {
  try {
    const r = await runner.run(cmd, args, { timeoutMs: 10_000, ...(input !== undefined ? { input } : {}) });
    return {
      ok: r.code === 0,
      out: r.stdout.trim(),
      err: (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? '',
    };
  } catch (e) {
    return { ok: false, out: '', err: (e as Error).message };
  }
}

async function forwarding(runner: CommandRunner, name: string, key: string): Promise<CheckResult> {
  const r = await tryRun(runner, 'sysctl', ['-n', key]);
  if (!r.ok) return { name, status: 'WARN', required: true, detail: `cannot read ${key}: ${r.err}` };
  return r.out === '1'
    ? { name, status: 'OK', required: true, detail: `${key} = 1` }
    : { name, status: 'WARN', required: true, detail: `${key} = ${r.out}; calicoctl node run turns it on` };
}

async function iptablesCheck(runner: CommandRunner, tool: 'iptables' | 'ip6tables'): Promise<CheckResult> {
  const version = await tryRun(runner, tool, ['-V']);
  if (!version.ok) return { name: tool, status: 'FAIL', required: true, detail: version.err };
  const restore = await tryRun(runner, `${tool}-restore`, ['--test', '--noflush'], '*filter\nCOMMIT\n');
  if (!restore.ok)
    return {
      name: tool,
      status: 'FAIL',
      required: true,
      detail: `${tool}-restore does not work: ${restore.err}`,
    };
  const save = await tryRun(runner, `${tool}-save`, ['-t', 'filter']);
  if (!save.ok)
    return { name: tool, status: 'FAIL', required: true, detail: `${tool}-save does not work: ${save.err}` };
  return { name: tool, status: 'OK', required: true, detail: `${version.out}; save and restore work` };
}

async function simpleTool(
  runner: CommandRunner,
  name: string,
  cmd: string,
  args: readonly string[],
  describe: (out: string) => string,
): Promise<CheckResult> {
  const r = await tryRun(runner, cmd, args);
  return r.ok
    ? { name, status: 'OK', required: true, detail: describe(r.out) }
    : { name, status: 'FAIL', required: true, detail: r.err };
}

async function conntrackLimit(runner: CommandRunner): Promise<CheckResult> {
  const r = await tryRun(runner, 'sysctl', ['-n', 'net.netfilter.nf_conntrack_max']);
  return r.ok
    ? {
        name: 'conntrack limit',
        status: 'OK',
        required: false,
        detail: `net.netfilter.nf_conntrack_max = ${r.out}`,
      }
    : {
        name: 'conntrack limit',
        status: 'WARN',
        required: false,
        detail: `cannot read nf_conntrack_max: ${r.err}`,
      };
}

/** Feature probes that need a namespace of their own. */
async function namespaceProbes(runner: CommandRunner, ns: string): Promise<CheckResult[]> {
  const add = await tryRun(runner, 'ip', ['netns', 'add', ns]);
  if (!add.ok) {
    const detail = `cannot create a throwaway network namespace to probe with: ${add.err} (run as root)`;
    return [
      { name: 'network namespaces', status: 'FAIL', required: true, detail },
      ...['VXLAN', 'IPIP', 'ipset hash:ip', 'ipset hash:net'].map((name) => ({
        name,
        status: 'WARN' as const,
        required: name.startsWith('ipset'),
        detail: 'not probed (no namespace)',
      })),
    ];
  }
  const inNs = (cmd: string, args: string[]) => tryRun(runner, 'ip', ['netns', 'exec', ns, cmd, ...args]);
  try {
    const out: CheckResult[] = [
      {
        name: 'network namespaces',
        status: 'OK',
        required: true,
        detail: 'created and removed a test namespace',
      },
    ];
    const vxlan = await tryRun(runner, 'ip', [
      '-n',
      ns,
      'link',
      'add',
      'calivxchk',
      'type',
      'vxlan',
      'id',
      '4096',
      'dstport',
      '4789',
    ]);
    out.push(
      vxlan.ok
        ? { name: 'VXLAN', status: 'OK', required: false, detail: 'created a vxlan link' }
        : {
            name: 'VXLAN',
            status: 'FAIL',
            required: false,
            detail: `VXLAN is not available on this kernel: ${vxlan.err}`,
          },
    );
    const ipip = await tryRun(runner, 'ip', [
      '-n',
      ns,
      'link',
      'add',
      'calitunchk',
      'type',
      'ipip',
      'local',
      '192.0.2.1',
      'remote',
      '192.0.2.2',
    ]);
    out.push(
      ipip.ok
        ? { name: 'IPIP', status: 'OK', required: false, detail: 'created an ipip link' }
        : {
            name: 'IPIP',
            status: 'FAIL',
            required: false,
            detail: `${IPIP_UNAVAILABLE} (ip link: ${ipip.err})`,
          },
    );
    for (const type of ['hash:ip', 'hash:net']) {
      const set = `cali-chk-${type.replace(':', '-')}`;
      const r = await inNs('ipset', ['create', set, type, 'family', 'inet']);
      out.push(
        r.ok
          ? { name: `ipset ${type}`, status: 'OK', required: true, detail: `created a ${type} set` }
          : {
              name: `ipset ${type}`,
              status: 'FAIL',
              required: true,
              detail: `cannot create a ${type} set: ${r.err}`,
            },
      );
      if (r.ok) await inNs('ipset', ['destroy', set]);
    }
    return out;
  } finally {
    await tryRun(runner, 'ip', ['netns', 'del', ns]);
  }
}

export async function runChecksystem(deps: ChecksystemDeps): Promise<CheckResult[]> {
  const { runner } = deps;
  const ns = deps.probeNamespace ?? `calico-checksystem-${randomBytes(3).toString('hex')}`;
  const results: CheckResult[] = [
    await forwarding(runner, 'IPv4 forwarding', 'net.ipv4.ip_forward'),
    await forwarding(runner, 'IPv6 forwarding', 'net.ipv6.conf.all.forwarding'),
    await iptablesCheck(runner, 'iptables'),
    await iptablesCheck(runner, 'ip6tables'),
    await simpleTool(runner, 'ipset', 'ipset', ['version'], (o) => o.split('\n')[0] ?? o),
    await simpleTool(
      runner,
      'conntrack',
      'conntrack',
      ['-C'],
      (o) => `conntrack works; ${o} tracked connections`,
    ),
    await conntrackLimit(runner),
    ...(await namespaceProbes(runner, ns)),
  ];
  for (const r of moduleReports(deps.modules)) {
    // IPIP and VXLAN were tried for real above; the module row would only repeat it.
    if (r.module.name === 'ipip' || r.module.name === 'vxlan') continue;
    const present = r.state === 'loaded' || r.state === 'builtin';
    results.push({
      name: `kernel module ${r.module.name}`,
      status: present ? 'OK' : r.state === 'missing' ? 'FAIL' : 'WARN',
      required: r.module.required,
      detail: `${describeModuleState(r)} (${r.module.why})`,
    });
  }
  return results;
}
