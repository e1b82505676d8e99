import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, type Resource } from '../../../src/api/index.js';
import { MemoryDatastore } from '../../../src/datastore/memory.js';
import { ResourceClient } from '../../../src/datastore/resources.js';
import { FelixAgent } from '../../../src/felix/agent.js';
import { Dataplane } from '../../../src/felix/dataplane/index.js';
import type { CommandResult, CommandRunner, RunOptions } from '../../../src/kernel/runner.js';
import { createLogger } from '../../../src/log.js';
import type { DesiredDataplane, IpsetSpec, RouteSpec, WorkloadInterface } from '../../../src/felix/model.js';

interface KernelRoute {
  dst: string;
  dev?: string;
  type?: string;
}

/** A kernel that holds some of our routes and sets, and records what it is told. */
class FakeKernel implements CommandRunner {
  readonly calls: { cmd: string; args: readonly string[]; input: string }[] = [];
  constructor(
    private readonly held: {
      /** Our IPv6 routes (proto 80); `no-ipv6`: a kernel without IPv6, whose listing fails. */
      v6Routes?: KernelRoute[] | 'no-ipv6';
      ipsetSave?: string;
    } = {},
  ) {}
  run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.calls.push({ cmd, args, input: options.input ?? '' });
    const ok = (stdout: string) => Promise.resolve({ code: 0, stdout, stderr: '' });
    if (cmd === 'ip' && args.includes('show')) {
      if (!args.includes('-6')) return ok('[]');
      const v6 = this.held.v6Routes ?? [];
      if (v6 === 'no-ipv6')
        return Promise.resolve({ code: 2, stdout: '', stderr: 'Address family not supported by protocol' });
      return ok(JSON.stringify(v6));
    }
    if (cmd === 'ipset' && args[0] === 'save') return ok(this.held.ipsetSave ?? '');
    return ok('');
  }
  inputOf(cmd: string, ...args: string[]): string | undefined {
    return this.calls.find((c) => c.cmd === cmd && args.every((a) => c.args.includes(a)))?.input;
  }
  argsOf(cmd: string): string[] {
    return this.calls.filter((c) => c.cmd === cmd).flatMap((c) => c.args);
  }
}

const EMPTY = { chains: { raw: [], mangle: [], nat: [], filter: [] }, hooks: [] };
const set4: IpsetSpec = { name: 'cali40s:a', type: 'hash:net', family: 4, members: ['10.65.0.2/32'] };
const set6: IpsetSpec = { name: 'cali60s:a', type: 'hash:net', family: 6, members: ['fd00:65::2/128'] };
const route4: RouteSpec = { type: 'workload', dst: '10.65.0.2/32', dev: 'caliw' };
const route6: RouteSpec = { type: 'workload', dst: 'fd00:65::2/128', dev: 'caliw' };

function desired(
  routes: RouteSpec[],
  ipsets: IpsetSpec[],
  interfaces: WorkloadInterface[] = [{ name: 'caliw', family: [4] }],
): DesiredDataplane {
  return { iptables: { 4: EMPTY, 6: EMPTY }, ipsets, routes, interfaces };
}

const cases: {
  name: string;
  ipv6: boolean;
  kernel: ConstructorParameters<typeof FakeKernel>[0];
  desired: DesiredDataplane;
  /** The `ip -6 -batch` input, if any is sent. */
  v6Batch: string | undefined;
  ipsetRestore: string | undefined;
  warnings: string[];
}[] = [
  {
    name: 'IPv6 off: our IPv6 routes left from a run with IPv6 on (a workload route, a blackhole) are deleted',
    ipv6: false,
    kernel: {
      v6Routes: [
        { dst: 'fd00:65::9', dev: 'caliw', type: 'unicast' },
        { dst: 'fd00:66::/122', type: 'blackhole' },
      ],
    },
    desired: desired([route4], [set4]),
    v6Batch: 'route del fd00:65::9/128 dev caliw proto 80\nroute del blackhole fd00:66::/122 proto 80\n',
    ipsetRestore: 'create cali40s:a hash:net family inet maxelem 1048576\nadd cali40s:a 10.65.0.2\n',
    warnings: ['IPv6 is off: deleted 2 IPv6 route(s) of ours (proto 80) left from a run with IPv6 on'],
  },
  {
    name: 'IPv6 off on a kernel without IPv6 (the IPv6 route listing fails): nothing to delete, no error',
    ipv6: false,
    kernel: { v6Routes: 'no-ipv6' },
    desired: desired([route4], []),
    v6Batch: undefined,
    ipsetRestore: undefined,
    warnings: [],
  },
  {
    name: 'IPv6 off: IPv6 routes, sets and interface families handed to it anyway are not written',
    ipv6: false,
    kernel: {},
    desired: desired([route4, route6], [set4, set6], [{ name: 'caliw', family: [4, 6] }]),
    v6Batch: undefined,
    ipsetRestore: 'create cali40s:a hash:net family inet maxelem 1048576\nadd cali40s:a 10.65.0.2\n',
    warnings: [],
  },
  {
    name: 'IPv6 off: our IPv6 sets from a run with IPv6 on stay (our ip6tables chains may use them); an unused IPv4 set goes',
    ipv6: false,
    kernel: {
      ipsetSave:
        'create cali60s:old hash:net family inet6 hashsize 1024 maxelem 1048576\nadd cali60s:old fd00::1\n' +
        'create cali40s:old hash:net family inet hashsize 1024 maxelem 1048576\n',
    },
    desired: desired([route4], []),
    v6Batch: undefined,
    ipsetRestore: 'destroy cali40s:old\n',
    warnings: [],
  },
  {
    name: 'IPv6 on: the same IPv6 route, set and sysctls are written',
    ipv6: true,
    kernel: { v6Routes: [{ dst: 'fd00:65::9', dev: 'caliw', type: 'unicast' }] },
    desired: desired([route4, route6], [set6], [{ name: 'caliw', family: [4, 6] }]),
    v6Batch:
      'route del fd00:65::9/128 dev caliw proto 80\nroute replace fd00:65::2/128 dev caliw scope link proto 80\n',
    ipsetRestore: 'create cali60s:a hash:net family inet6 maxelem 1048576\nadd cali60s:a fd00:65::2\n',
    warnings: [],
  },
];

describe('the dataplane with IPv6 off writes nothing IPv6 and removes our leftover IPv6 routes', () => {
  for (const c of cases)
    test(c.name, async () => {
      const kernel = new FakeKernel(c.kernel);
      const report = await new Dataplane(kernel, { ipv6: c.ipv6 }).apply(c.desired, true);
      assert.equal(kernel.inputOf('ip', '-6', '-batch'), c.v6Batch);
      assert.equal(kernel.inputOf('ipset', 'restore'), c.ipsetRestore);
      assert.deepEqual(report.warnings, c.warnings);
      assert.equal(
        kernel.calls.some((x) => x.cmd.startsWith('ip6tables')),
        c.ipv6,
        'ip6tables runs exactly when IPv6 is on',
      );
      assert.equal(
        kernel.argsOf('sysctl').some((a) => a.startsWith('net.ipv6.')),
        c.ipv6 && c.desired.interfaces.some((i) => i.family.includes(6)),
        'IPv6 sysctls only with IPv6 on',
      );
      assert.ok(kernel.inputOf('ip', '-4', '-batch')?.includes('route replace 10.65.0.2/32 dev caliw'));
    });
});

const wep = (name: string, ipNetworks: string[]): Resource => ({
  apiVersion: API_VERSION,
  kind: 'WorkloadEndpoint',
  metadata: { name, namespace: 'default' },
  spec: {
    node: 'h1',
    orchestrator: 'k8s',
    workload: name,
    endpoint: 'eth0',
    interfaceName: `cali${name}`,
    ipNetworks,
  },
});

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the agent tells the user once why IPv6 addresses are not programmed', () => {
  const cases: { ipv6: boolean; warnings: number[]; counts: [first: number, later: number] }[] = [
    { ipv6: false, warnings: [2], counts: [2, 3] },
    { ipv6: true, warnings: [], counts: [0, 0] },
  ];
  for (const c of cases)
    test(`IPv6 ${c.ipv6 ? 'on' : 'off'}: ${c.warnings.length} warning(s), the count kept in the metrics`, async () => {
      const store = new MemoryDatastore();
      const client = new ResourceClient(store);
      await client.create(wep('a', ['10.65.0.2/32', 'fd00:65::2/128']));
      await client.create(wep('b', ['fd00:65::3/128']));
      await client.create(wep('c', ['10.65.0.4/32']));
      const lines: string[] = [];
      const kernel = new FakeKernel();
      const agent = new FelixAgent({
        nodeName: 'h1',
        datastore: store,
        runner: kernel,
        logger: createLogger('felix', 'info', { write: (l: string) => void lines.push(l) }),
        refreshIntervalMs: 60_000,
        debounceMs: 1,
        ipv6: c.ipv6,
      });
      agent.start();
      try {
        await agent.waitReady();
        assert.equal(agent.metrics.ipv6EndpointsNotProgrammed, c.counts[0]);
        await client.create(wep('d', ['10.65.0.5/32', 'fd00:65::5/128']));
        await until('the new endpoint has its route', () =>
          kernel.calls.some((x) => x.input.includes('10.65.0.5/32 dev calid')),
        );
        assert.equal(agent.metrics.ipv6EndpointsNotProgrammed, c.counts[1]);
      } finally {
        await agent.stop();
      }
      const warned = lines
        .map((l) => JSON.parse(l) as { level: number; msg: string; endpoints?: number })
        .filter((l) => l.level === 40 && l.msg.startsWith('IPv6 is off'));
      assert.deepEqual(
        warned.map((w) => w.endpoints),
        c.warnings,
      );
    });
});
