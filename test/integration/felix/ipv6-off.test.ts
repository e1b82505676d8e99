import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, type Resource } from '../../../src/api/index.js';
import { MemoryDatastore } from '../../../src/datastore/memory.js';
import { ResourceClient } from '../../../src/datastore/resources.js';
import { FelixAgent } from '../../../src/felix/agent.js';
import { ProcessRunner } from '../../../src/kernel/runner.js';
import { createLogger } from '../../../src/log.js';
import { NetnsLab, requireRootAndTools } from '../../support/netns.js';

/**
 * Felix with IPv6 off (calico-node --no-ipv6) on a host namespace with one dual-stack workload:
 * the whole agent (calculation, renderer, dataplane) against the real kernel, read back with `ip`,
 * `sysctl`, `ip6tables-save` and `ipset` inside the namespace.
 */
const IFACE = 'calidual0';
const V4 = '10.65.0.2';
const V6 = 'fd00:65::2';

const resources: Resource[] = [
  {
    apiVersion: API_VERSION,
    kind: 'WorkloadEndpoint',
    metadata: { name: 'dual', namespace: 'default', labels: { app: 'web' } },
    spec: {
      node: 'h1',
      orchestrator: 'k8s',
      workload: 'dual',
      endpoint: 'eth0',
      interfaceName: IFACE,
      ipNetworks: [`${V4}/32`, `${V6}/128`],
    },
  },
  {
    apiVersion: API_VERSION,
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'web' },
    spec: { selector: 'app == "web"', ingress: [{ action: 'Allow', source: { selector: 'app == "web"' } }] },
  },
  {
    apiVersion: API_VERSION,
    kind: 'IPPool',
    metadata: { name: 'v4' },
    spec: { cidr: '10.65.0.0/16', natOutgoing: true },
  },
  {
    apiVersion: API_VERSION,
    kind: 'IPPool',
    metadata: { name: 'v6' },
    spec: { cidr: 'fd00:65::/48', natOutgoing: true },
  },
];

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Felix with IPv6 off programs nothing IPv6 for a dual-stack workload', () => {
  let lab: NetnsLab | undefined;
  let host: string;
  let agent: FelixAgent | undefined;
  const logLines: string[] = [];
  const ours6 = () => lab?.exec(host, 'ip', ['-6', 'route', 'show', 'proto', '80']).trim();

  before(async () => {
    requireRootAndTools(['ip', 'iptables-save', 'iptables-restore', 'ip6tables-save', 'ipset', 'sysctl']);
    lab = new NetnsLab();
    host = lab.addNamespace('host');
    const wl = lab.addNamespace('wl');
    lab.veth({ ns: host, name: IFACE }, { ns: wl, name: 'eth0' });
    lab.exec(wl, 'ip', ['addr', 'add', `${V4}/32`, 'dev', 'eth0']);
    lab.exec(wl, 'ip', ['-6', 'addr', 'add', `${V6}/128`, 'dev', 'eth0', 'nodad']);
    // Left from a run with IPv6 on: our workload route and block blackhole, and someone else's route.
    lab.exec(host, 'ip', ['-6', 'route', 'add', `${V6}/128`, 'dev', IFACE, 'proto', '80']);
    lab.exec(host, 'ip', ['-6', 'route', 'add', 'blackhole', 'fd00:65::/122', 'proto', '80']);
    lab.exec(host, 'ip', ['-6', 'route', 'add', 'fd00:67::/64', 'dev', IFACE, 'proto', 'static']);
    assert.match(ours6() ?? '', /fd00:65::2 dev calidual0/, 'the leftover is in place before Felix starts');

    const store = new MemoryDatastore();
    const client = new ResourceClient(store);
    for (const r of resources) await client.create(r);
    agent = new FelixAgent({
      nodeName: 'h1',
      datastore: store,
      runner: new ProcessRunner(host),
      logger: createLogger('felix', 'info', { write: (line: string) => void logLines.push(line) }),
      refreshIntervalMs: 300,
      ipv6: false,
    });
    agent.start();
    await agent.waitReady();
  });

  after(async () => {
    await agent?.stop();
    lab?.cleanup();
  });

  test('the workload has its IPv4 route of proto 80 and no IPv6 one; our leftover IPv6 routes are gone', () => {
    assert.match(
      lab?.exec(host, 'ip', ['-4', 'route', 'show', 'proto', '80']) ?? '',
      /^10\.65\.0\.2 dev calidual0 /m,
    );
    assert.equal(ours6(), '');
  });

  test("someone else's IPv6 route stays", () => {
    assert.match(lab?.exec(host, 'ip', ['-6', 'route', 'show', 'fd00:67::/64']) ?? '', /proto static/);
  });

  test('no IPv6 sysctl, ip6tables chain or ipset is written; the IPv4 ones are', () => {
    const sysctl = (key: string) => lab?.exec(host, 'sysctl', ['-n', key]).trim();
    assert.equal(sysctl(`net.ipv4.conf.${IFACE}.proxy_arp`), '1');
    assert.equal(sysctl(`net.ipv6.conf.${IFACE}.proxy_ndp`), '0');
    assert.doesNotMatch(lab?.exec(host, 'ip6tables-save', []) ?? '', /cali/);
    assert.match(lab?.exec(host, 'iptables-save', []) ?? '', /cali-FORWARD/);
    const sets = lab?.exec(host, 'ipset', ['list', '-n']) ?? '';
    assert.match(sets, /^cali40s:/m);
    assert.doesNotMatch(sets, /^cali6/m);
  });

  test('an IPv6 route of ours that appears while running is removed by the next refresh', async () => {
    lab?.exec(host, 'ip', ['-6', 'route', 'add', 'fd00:65::99/128', 'dev', IFACE, 'proto', '80']);
    assert.notEqual(ours6(), '');
    await until('no IPv6 route of proto 80 is left', () => ours6() === '');
  });

  test('the user is warned once that one endpoint has IPv6 addresses that are not programmed', () => {
    const warned = logLines
      .map((l) => JSON.parse(l) as { level: number; msg: string; endpoints?: number })
      .filter((l) => l.level === 40 && l.msg.startsWith('IPv6 is off: 1 local endpoint'));
    assert.deepEqual(
      warned.map((w) => w.endpoints),
      [1],
    );
    assert.equal(agent?.metrics.ipv6EndpointsNotProgrammed, 1);
  });
});
