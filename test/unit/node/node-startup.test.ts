import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryDatastore } from '../../../src/datastore/memory.js';
import { ResourceClient } from '../../../src/datastore/resources.js';
import { runStartupSteps, StartupError, type KernelModuleSources } from '../../../src/node/startup/index.js';
import { FakeKernel, type Answer } from './fake-kernel.js';

const IP_ADDR = JSON.stringify([
  {
    ifindex: 1,
    ifname: 'lo',
    flags: ['UP'],
    addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }],
  },
  { ifindex: 2, ifname: 'eth0', flags: ['UP'], addr_info: [] },
  {
    ifindex: 3,
    ifname: 'eth1',
    flags: ['UP'],
    addr_info: [{ family: 'inet', local: '192.168.40.2', prefixlen: 24, scope: 'global' }],
  },
]);

/** A monolithic kernel with everything but IPIP built in. */
const NO_IPIP: KernelModuleSources = {
  config: new Map(
    [
      'CONFIG_IP_NF_IPTABLES',
      'CONFIG_IP6_NF_IPTABLES',
      'CONFIG_IP_SET',
      'CONFIG_IP_SET_HASH_IP',
      'CONFIG_IP_SET_HASH_NET',
      'CONFIG_NETFILTER_XT_SET',
      'CONFIG_NETFILTER_XT_MATCH_CONNTRACK',
      'CONFIG_NETFILTER_XT_MATCH_MULTIPORT',
      'CONFIG_NETFILTER_XT_MATCH_COMMENT',
      'CONFIG_NETFILTER_XT_MARK',
      'CONFIG_NF_CONNTRACK',
      'CONFIG_NF_NAT',
      'CONFIG_NETFILTER_XT_TARGET_MASQUERADE',
      'CONFIG_VETH',
      'CONFIG_VXLAN',
    ].map((c) => [c, 'y']),
  ),
};

function seedHost(overrides: Record<string, Answer> = {}): FakeKernel {
  let conntrackMax = '262144';
  return new FakeKernel({
    'sysctl -q -w net.ipv4.ip_forward=1': {},
    'sysctl -n net.ipv6.conf.all.forwarding': { stdout: '0\n' },
    'sysctl -q -w net.ipv6.conf.all.forwarding=1': {},
    'sysctl -n net.netfilter.nf_conntrack_max': () => ({ stdout: `${conntrackMax}\n` }),
    'sysctl -q -w net.netfilter.nf_conntrack_max=1000000': () => {
      conntrackMax = '1000000';
      return {};
    },
    'ip -j addr show': { stdout: IP_ADDR },
    ...overrides,
  });
}

/** The bytes behind the seed's fd80:24e2:f998:72d6::/64, then zeros. */
const seedRandom = (n: number) => {
  const b = new Uint8Array(n);
  b.set([0x80, 0x24, 0xe2, 0xf9, 0x98, 0x72, 0xd6].slice(0, n));
  return b;
};

async function startup(kernel: FakeKernel, client: ResourceClient, env: NodeJS.ProcessEnv = {}) {
  const lines: string[] = [];
  const outcome = await runStartupSteps(
    {
      runner: kernel,
      client,
      modules: NO_IPIP,
      print: (l) => lines.push(l),
      randomBytes: seedRandom,
      hostname: 'compile',
      datastoreDescription: 'memory',
    },
    { env },
  );
  return { lines, outcome };
}

describe("node run's start-up steps, on a fake kernel and a memory store", () => {
  test("a fresh cluster: the seed's transcript, and the Node and pools it printed", async () => {
    const client = new ResourceClient(new MemoryDatastore());
    const kernel = seedHost();
    const { lines } = await startup(kernel, client);
    assert.deepEqual(lines, [
      'Checking kernel modules: 15 of 16 present (15 built in, 0 loaded)',
      'IPIP is not available on this kernel (no ipip module); use VXLAN',
      'Enabling IPv4 forwarding',
      'Enabling IPv6 forwarding',
      'Increasing conntrack limit',
      'Raised net.netfilter.nf_conntrack_max from 262144 to 1000000',
      'Datastore connection OK (memory)',
      'Using autodetected IPv4 address on interface eth1: 192.168.40.2/24',
      'No AS number configured on node resource, using global value',
      'Created default IPv4 pool (192.168.0.0/16) with NAT outgoing enabled. IPIP mode: off',
      'Created default IPv6 pool (fd80:24e2:f998:72d6::/64) with NAT outgoing enabled. IPIP mode: off',
      'Using node name: compile',
    ]);
    assert.equal((await client.get('Node', 'compile'))?.spec.bgp?.ipv4Address, '192.168.40.2/24');
    assert.deepEqual(
      (await client.list('IPPool')).map((p) => p.spec.cidr),
      ['192.168.0.0/16', 'fd80:24e2:f998:72d6::/64'],
    );
    assert.equal((await client.get('ClusterInformation', 'default'))?.spec.datastoreReady, true);
    assert.ok(
      !kernel.calls.some((c) => c.startsWith('modprobe')),
      'nothing to load on a kernel with built-ins',
    );
  });

  test('a second run keeps the node address and creates no pools', async () => {
    const client = new ResourceClient(new MemoryDatastore());
    await startup(seedHost(), client);
    const { lines } = await startup(seedHost(), client);
    assert.ok(
      lines.includes('Using IPv4 address configured on the node resource: 192.168.40.2/24'),
      lines.join('\n'),
    );
    assert.ok(!lines.some((l) => l.startsWith('Created default')));
    assert.equal((await client.list('IPPool')).length, 2);
  });

  test('NODENAME, IP and AS from the environment are used', async () => {
    const client = new ResourceClient(new MemoryDatastore());
    const { lines, outcome } = await startup(seedHost(), client, {
      NODENAME: 'slave1',
      IP: '10.0.0.7/16',
      AS: '64600',
    });
    assert.equal(outcome.nodeName, 'slave1');
    assert.deepEqual((await client.get('Node', 'slave1'))?.spec.bgp, {
      ipv4Address: '10.0.0.7/16',
      asNumber: 64600,
    });
    assert.ok(lines.includes('Using AS number 64600 for this node'));
    assert.equal(lines.at(-1), 'Using node name: slave1');
  });

  test('a kernel without IPv6: no IPv6 forwarding step and no IPv6 pool', async () => {
    const client = new ResourceClient(new MemoryDatastore());
    const kernel = seedHost({
      'sysctl -n net.ipv6.conf.all.forwarding': { code: 255, stderr: 'cannot stat' },
    });
    const { lines } = await startup(kernel, client);
    assert.ok(!lines.includes('Enabling IPv6 forwarding'));
    assert.deepEqual(
      (await client.list('IPPool')).map((p) => p.spec.cidr),
      ['192.168.0.0/16'],
    );
  });

  test('a limit that cannot be raised (non-initial namespace) is noted, not fatal', async () => {
    const client = new ResourceClient(new MemoryDatastore());
    const kernel = seedHost({
      'sysctl -n net.netfilter.nf_conntrack_max': { stdout: '262144\n' },
      'sysctl -q -w net.netfilter.nf_conntrack_max=1000000': { stderr: 'Invalid argument' },
    });
    const { lines } = await startup(kernel, client);
    assert.ok(
      lines.includes('Note: net.netfilter.nf_conntrack_max stays 262144: Invalid argument'),
      lines.join('\n'),
    );
  });

  test('forwarding that cannot be enabled stops the start-up and says to run as root', async () => {
    const client = new ResourceClient(new MemoryDatastore());
    const kernel = seedHost({
      'sysctl -q -w net.ipv4.ip_forward=1': { code: 255, stderr: 'permission denied on key' },
    });
    await assert.rejects(
      startup(kernel, client),
      (e: unknown) =>
        e instanceof StartupError &&
        /could not enable IPv4 forwarding.*permission denied on key; run as root/.test(e.message),
    );
    assert.equal((await client.list('Node')).length, 0, 'nothing written');
  });
});
