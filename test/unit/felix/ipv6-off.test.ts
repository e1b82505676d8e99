import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, type Resource } from '../../../src/api/index.js';
import { FelixCalculator } from '../../../src/felix/calc/graph.js';
import { renderDataplane } from '../../../src/felix/rules/render.js';
import { InterfaceSysctlDriver } from '../../../src/felix/dataplane/routes.js';
import type { CommandResult, CommandRunner, RunOptions } from '../../../src/kernel/runner.js';
import type { RouteSpec, WorkloadInterface } from '../../../src/felix/model.js';

const HOST = 'h1';
const IFACE = 'caliw';

/** The local workload's and the remote workload's addresses, per address shape. */
const SHAPES = {
  v4: { local: ['10.65.0.2/32'], remote: ['10.65.1.2/32'] },
  v6: { local: ['fd00:65::2/128'], remote: ['fd00:65:1::2/128'] },
  dual: { local: ['10.65.0.2/32', 'fd00:65::2/128'], remote: ['10.65.1.2/32', 'fd00:65:1::2/128'] },
} as const;
type Shape = keyof typeof SHAPES;

const wep = (name: string, node: string, ipNetworks: readonly string[]): Resource => ({
  apiVersion: API_VERSION,
  kind: 'WorkloadEndpoint',
  metadata: { name, namespace: 'default', labels: { app: 'web' } },
  spec: {
    node,
    orchestrator: 'k8s',
    workload: name,
    endpoint: 'eth0',
    interfaceName: `cali${name}`,
    ipNetworks: [...ipNetworks],
  },
});

/** A policy whose rules need a selector set (ingress) and, per IP version, a net set (egress). */
const policy: Resource = {
  apiVersion: API_VERSION,
  kind: 'GlobalNetworkPolicy',
  metadata: { name: 'web' },
  spec: {
    selector: 'app == "web"',
    ingress: [{ action: 'Allow', source: { selector: 'app == "web"' } }],
    egress: [
      {
        action: 'Allow',
        destination: { nets: ['10.99.0.0/16', '10.98.0.0/16', 'fd00:99::/64', 'fd00:98::/64'] },
      },
    ],
  },
};

const pool = (name: string, cidr: string): Resource => ({
  apiVersion: API_VERSION,
  kind: 'IPPool',
  metadata: { name },
  spec: { cidr, natOutgoing: true },
});

const BLOCKS = ['10.65.0.0/26', 'fd00:65::/122'];

function calculator(shape: Shape, ipv6: boolean): FelixCalculator {
  const calc = new FelixCalculator(HOST, { ipv6 });
  for (const resource of [
    wep('w', HOST, SHAPES[shape].local),
    wep('r', 'h2', SHAPES[shape].remote),
    policy,
    pool('v4', '10.65.0.0/16'),
    pool('v6', 'fd00:65::/48'),
  ])
    calc.apply({ type: 'set', resource });
  calc.setAffineBlocks(BLOCKS);
  return calc;
}

/** Records the commands; every command succeeds with no output. */
class RecordingRunner implements CommandRunner {
  readonly calls: { cmd: string; args: readonly string[] }[] = [];
  run(cmd: string, args: readonly string[], _options?: RunOptions): Promise<CommandResult> {
    this.calls.push({ cmd, args });
    return Promise.resolve({ code: 0, stdout: '', stderr: '' });
  }
}

const V4_SYSCTLS = [
  `net.ipv4.conf.${IFACE}.proxy_arp=1`,
  `net.ipv4.conf.${IFACE}.forwarding=1`,
  `net.ipv4.neigh.${IFACE}.proxy_delay=0`,
];
const V6_SYSCTLS = [`net.ipv6.conf.${IFACE}.proxy_ndp=1`, `net.ipv6.conf.${IFACE}.forwarding=1`];

const route = (dst: string): RouteSpec => ({ type: 'workload', dst, dev: IFACE });
const blackhole = (dst: string): RouteSpec => ({ type: 'blackhole', dst });

const V4_POOL_SETS = {
  'cali40all-ipam-pools': ['10.65.0.0/16'],
  'cali40masq-ipam-pools': ['10.65.0.0/16'],
  cali40n: ['10.98.0.0/16', '10.99.0.0/16'],
};
const V6_POOL_SETS = {
  'cali60all-ipam-pools': ['fd00:65::/48'],
  'cali60masq-ipam-pools': ['fd00:65::/48'],
  cali60n: ['fd00:98::/64', 'fd00:99::/64'],
};

const cases: {
  shape: Shape;
  ipv6: boolean;
  routes: RouteSpec[];
  interfaces: WorkloadInterface[];
  sysctls: string[];
  /** Ipsets by name up to the `:` of a hashed name, with their members. */
  ipsets: Record<string, string[]>;
  ip6tables: boolean;
  notProgrammed: string[];
}[] = [
  {
    shape: 'v4',
    ipv6: true,
    routes: [route('10.65.0.2/32'), blackhole('10.65.0.0/26'), blackhole('fd00:65::/122')],
    interfaces: [{ name: IFACE, family: [4] }],
    sysctls: V4_SYSCTLS,
    ipsets: { ...V4_POOL_SETS, cali40s: ['10.65.0.2/32', '10.65.1.2/32'], ...V6_POOL_SETS, cali60s: [] },
    ip6tables: true,
    notProgrammed: [],
  },
  {
    shape: 'v4',
    ipv6: false,
    routes: [route('10.65.0.2/32'), blackhole('10.65.0.0/26')],
    interfaces: [{ name: IFACE, family: [4] }],
    sysctls: V4_SYSCTLS,
    ipsets: { ...V4_POOL_SETS, cali40s: ['10.65.0.2/32', '10.65.1.2/32'] },
    ip6tables: false,
    notProgrammed: [],
  },
  {
    shape: 'v6',
    ipv6: true,
    routes: [route('fd00:65::2/128'), blackhole('10.65.0.0/26'), blackhole('fd00:65::/122')],
    interfaces: [{ name: IFACE, family: [6] }],
    sysctls: [...V4_SYSCTLS, ...V6_SYSCTLS],
    ipsets: {
      ...V4_POOL_SETS,
      cali40s: [],
      ...V6_POOL_SETS,
      cali60s: ['fd00:65:1::2/128', 'fd00:65::2/128'],
    },
    ip6tables: true,
    notProgrammed: [],
  },
  {
    shape: 'v6',
    ipv6: false,
    routes: [blackhole('10.65.0.0/26')],
    interfaces: [{ name: IFACE, family: [] }],
    sysctls: V4_SYSCTLS,
    ipsets: { ...V4_POOL_SETS, cali40s: [] },
    ip6tables: false,
    notProgrammed: ['default/w'],
  },
  {
    shape: 'dual',
    ipv6: true,
    routes: [
      route('10.65.0.2/32'),
      route('fd00:65::2/128'),
      blackhole('10.65.0.0/26'),
      blackhole('fd00:65::/122'),
    ],
    interfaces: [{ name: IFACE, family: [4, 6] }],
    sysctls: [...V4_SYSCTLS, ...V6_SYSCTLS],
    ipsets: {
      ...V4_POOL_SETS,
      cali40s: ['10.65.0.2/32', '10.65.1.2/32'],
      ...V6_POOL_SETS,
      cali60s: ['fd00:65:1::2/128', 'fd00:65::2/128'],
    },
    ip6tables: true,
    notProgrammed: [],
  },
  {
    shape: 'dual',
    ipv6: false,
    routes: [route('10.65.0.2/32'), blackhole('10.65.0.0/26')],
    interfaces: [{ name: IFACE, family: [4] }],
    sysctls: V4_SYSCTLS,
    ipsets: { ...V4_POOL_SETS, cali40s: ['10.65.0.2/32', '10.65.1.2/32'] },
    ip6tables: false,
    notProgrammed: ['default/w'],
  },
];

describe('with IPv6 off, the desired state has no IPv6 piece', () => {
  for (const c of cases)
    test(`a ${c.shape} workload, IPv6 ${c.ipv6 ? 'on' : 'off'}: its routes, sysctls and ipsets`, async () => {
      const state = calculator(c.shape, c.ipv6).state();
      const dp = renderDataplane(state);
      assert.deepEqual(dp.routes, c.routes);
      assert.deepEqual(dp.interfaces, c.interfaces);
      assert.deepEqual(Object.fromEntries(dp.ipsets.map((s) => [s.name.split(':')[0], s.members])), c.ipsets);
      assert.equal(dp.iptables[6].chains.filter.length > 0, c.ip6tables);
      assert.equal(dp.iptables[4].chains.filter.length > 0, true);
      assert.deepEqual(state.ipv6NotProgrammed, c.notProgrammed);
      assert.deepEqual(state.ipVersions, c.ipv6 ? [4, 6] : [4]);
      const runner = new RecordingRunner();
      await new InterfaceSysctlDriver(runner, { ipv6: c.ipv6 }).apply(dp.interfaces);
      assert.deepEqual(runner.calls, [{ cmd: 'sysctl', args: ['-q', '-w', ...c.sysctls] }]);
    });

  test('asking the renderer for IPv6 does not bring it back when the state has it off', () => {
    const dp = renderDataplane(calculator('dual', false).state(), { ipVersions: [4, 6] });
    assert.deepEqual(dp.iptables[6], { chains: { raw: [], mangle: [], nat: [], filter: [] }, hooks: [] });
    assert.deepEqual(
      dp.ipsets.filter((s) => s.family === 6),
      [],
    );
  });

  test('a local endpoint counts while it has IPv6 addresses, and stops counting when readdressed or gone', () => {
    const calc = calculator('dual', false);
    calc.apply({ type: 'set', resource: wep('x', HOST, ['10.65.0.3/32', 'fd00:65::3/128']) });
    assert.deepEqual(calc.state().ipv6NotProgrammed, ['default/w', 'default/x']);
    calc.apply({ type: 'set', resource: wep('x', HOST, ['10.65.0.3/32']) });
    assert.deepEqual(calc.state().ipv6NotProgrammed, ['default/w']);
    calc.apply({ type: 'delete', kind: 'WorkloadEndpoint', namespace: 'default', name: 'w' });
    assert.deepEqual(calc.state().ipv6NotProgrammed, []);
  });

  test('a remote endpoint with IPv6 addresses is not counted (only this host programs its own)', () => {
    const calc = calculator('v4', false);
    calc.apply({ type: 'set', resource: wep('r', 'h2', ['10.65.1.2/32', 'fd00:65:1::2/128']) });
    assert.deepEqual(calc.state().ipv6NotProgrammed, []);
  });
});
