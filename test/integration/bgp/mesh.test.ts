/**
 * Three hosts (network namespaces on one bridged L2 link, 10.0.0.1-3), each running calico-node
 * (Felix and our BGP speaker) against one SQLite datastore, each with an IPAM block and a
 * workload. No static routes anywhere: the hosts learn each other's blocks over BGP and program
 * them into their kernels, and workloads on different hosts ping each other. Then the mesh is
 * turned off in favour of a global BGPPeer, a BIRD 2 route reflector in its own namespace
 * (10.0.0.254), and the cluster reconverges through it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '../../../src/api/types.js';
import type { ResourceClient } from '../../../src/datastore/resources.js';
import { probeIcmp } from '../../../src/lab/probe.js';
import { NetnsLab, requireRootAndTools } from '../../support/netns.js';
import { attachWorkload } from '../../support/workloads.js';
import { runCalicoctl } from '../../support/calicoctl.js';
import { bgpKernelRoutes, NodeProcess } from '../../support/calico-node.js';
import { waitFor as eventually } from '../../support/bgp-peers.js';
import { L2Segment } from '../../support/l2-segment.js';
import { BGP_TEST_POOLS, createIpPools, NodeDatastore } from '../../support/node-datastore.js';

const HOSTS = [
  { name: 'h1', address: '10.0.0.1', address6: 'fd00::1', iface: 'calimesh00001' },
  { name: 'h2', address: '10.0.0.2', address6: 'fd00::2', iface: 'calimesh00002' },
  { name: 'h3', address: '10.0.0.3', address6: 'fd00::3', iface: 'calimesh00003' },
] as const;
const RR_ADDRESS = '10.0.0.254';

describe('a three-host calico-node mesh routes workload traffic with BGP alone', () => {
  let lab: NetnsLab;
  let dir: string;
  let datastore: NodeDatastore | undefined;
  let client: ResourceClient;
  let bird: ChildProcess | undefined;
  let birdOutput = '';
  const ns: Record<string, string> = {};
  const nodes: NodeProcess[] = [];
  const block: Record<string, string> = {};
  const block6: Record<string, string> = {};
  const workloadIp: Record<string, string> = {};
  let env: NodeJS.ProcessEnv;

  /** Our BGP routes in a host's kernel: prefix → next hops. */
  const bgpRoutes = (host: string, family: 4 | 6 = 4) => bgpKernelRoutes(lab, ns[host] as string, family);

  /** What each host should have: every other host's block, next hop that host. */
  const expectedRoutes = (host: string) =>
    Object.fromEntries(HOSTS.filter((h) => h.name !== host).map((h) => [block[h.name], [h.address]]));
  const expectedRoutes6 = (host: string) =>
    Object.fromEntries(HOSTS.filter((h) => h.name !== host).map((h) => [block6[h.name], [h.address6]]));

  const nodeStatus = (host: string) => runCalicoctl(env, ['node', 'status', '--node', host]);

  async function pingMatrix(): Promise<string[]> {
    const failures: string[] = [];
    for (const a of HOSTS)
      for (const b of HOSTS)
        if (a !== b && !(await probeIcmp(ns[`w-${a.name}`] as string, workloadIp[b.name] as string, 2)))
          failures.push(`w-${a.name} → w-${b.name} (${workloadIp[b.name]})`);
    return failures;
  }

  async function put(resource: Resource): Promise<void> {
    const existing = await client.get(resource.kind, resource.metadata.name);
    if (!existing) await client.create(resource);
    else
      await client.update({
        ...resource,
        metadata: { ...resource.metadata, resourceVersion: existing.metadata.resourceVersion },
      } as Resource);
  }

  before(async () => {
    requireRootAndTools(['ip', 'iptables-restore', 'ipset', 'ping', 'bird']);
    lab = new NetnsLab();
    dir = mkdtempSync(join(tmpdir(), 'calico-ts-bgp-mesh-'));
    const segment = new L2Segment(lab);
    for (const h of HOSTS) ns[h.name] = segment.join(h.name, h.address, h.address6);
    ns.rr = segment.join('rr', RR_ADDRESS);

    datastore = await NodeDatastore.open(dir);
    client = datastore.client;
    await createIpPools(client, BGP_TEST_POOLS);
    await client.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Profile',
      metadata: { name: 'allow-all' },
      spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
    });
    const { ipam } = datastore;
    for (const h of HOSTS) {
      await client.create({
        apiVersion: 'projectcalico.org/v3',
        kind: 'Node',
        metadata: { name: h.name },
        spec: { bgp: { ipv4Address: `${h.address}/24`, ipv6Address: `${h.address6}/64` } },
      });
      const ip = (
        (await ipam.autoAssign({ handle: `wl-${h.name}`, host: h.name, num4: 1, num6: 1 })).ipv4[0] as string
      ).split('/')[0] as string;
      workloadIp[h.name] = ip;
      const wl = lab.addNamespace(`w-${h.name}`);
      ns[`w-${h.name}`] = wl;
      attachWorkload(lab, ns[h.name] as string, wl, h.iface, ip);
      await client.create({
        apiVersion: 'projectcalico.org/v3',
        kind: 'WorkloadEndpoint',
        metadata: { name: `${h.name}-k8s-w-eth0`, namespace: 'default' },
        spec: {
          orchestrator: 'k8s',
          node: h.name,
          workload: `w-${h.name}`,
          pod: `w-${h.name}`,
          endpoint: 'eth0',
          interfaceName: h.iface,
          ipNetworks: [`${ip}/32`],
          profiles: ['allow-all'],
        },
      });
    }
    for (const [host, { ipv4, ipv6 }] of Object.entries(await datastore.affineBlocks())) {
      if (ipv4 !== undefined) block[host] = ipv4;
      if (ipv6 !== undefined) block6[host] = ipv6;
    }
    env = { PATH: process.env.PATH, ...datastore.env };
    for (const h of HOSTS)
      nodes.push(new NodeProcess(ns[h.name] as string, h.name, env, ['--refresh-interval', '1000']));
    await Promise.all(nodes.map((n) => n.waitReady(30_000)));
  });

  after(async () => {
    if (bird && bird.exitCode === null) {
      const exited = new Promise((r) => bird?.once('exit', r));
      bird.kill('SIGTERM');
      await exited;
    }
    const codes = await Promise.all(nodes.map((n) => n.stop()));
    await datastore?.close();
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(codes, [0, 0, 0], 'calico-node exits cleanly on SIGTERM');
  });

  test('each host learns the other hosts’ IPv4 and IPv6 blocks (proto 81, next hop the owner) and workloads ping across hosts', async () => {
    assert.equal(Object.keys(block).length, 3, 'each host has claimed a block');
    for (const h of HOSTS) {
      await eventually(
        `${h.name} has BGP routes to the other blocks`,
        () => bgpRoutes(h.name),
        (r) =>
          JSON.stringify(Object.entries(r).sort()) ===
          JSON.stringify(Object.entries(expectedRoutes(h.name)).sort()),
      ).catch((e: Error) => assert.fail(`${e.message}\n${nodes.map((n) => n.output).join('\n')}`));
    }
    assert.deepEqual(await eventually('all pings pass', pingMatrix, (f) => f.length === 0, 15_000), []);
    for (const h of HOSTS) {
      await eventually(
        `${h.name} has IPv6 BGP routes to the other IPv6 blocks`,
        () => bgpRoutes(h.name, 6),
        (r) => isDeepStrictEqual(r, expectedRoutes6(h.name)),
      );
    }
  });

  test('calicoctl node status shows the IPv4 and IPv6 mesh peers up', async () => {
    const r = await nodeStatus('h1');
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.equal(lines[0], 'Calico process is running.');
    assert.match(r.out, /\| 10\.0\.0\.2 +\| node-to-node mesh \| up +\| \d\d:\d\d:\d\d \| Established \|/);
    assert.match(r.out, /\| 10\.0\.0\.3 +\| node-to-node mesh \| up +\| \d\d:\d\d:\d\d \| Established \|/);
    assert.match(r.out, /\| fd00::2 +\| node-to-node mesh \| up +\| \d\d:\d\d:\d\d \| Established \|/);
    assert.match(r.out, /\| fd00::3 +\| node-to-node mesh \| up +\| \d\d:\d\d:\d\d \| Established \|/);
  });

  test('a BGP route deleted by hand comes back on the next refresh', async () => {
    const h2Block = block.h2 as string;
    lab.exec(ns.h1 as string, 'ip', ['route', 'del', h2Block, 'proto', '81']);
    await eventually(
      'h1 has the route again',
      () => bgpRoutes('h1')[h2Block],
      (r) => r?.[0] === '10.0.0.2',
      10_000,
    );
  });

  test('graceful restart: while h2’s calico-node restarts, the others keep its routes and so does h2', async () => {
    const h2Block = block.h2 as string;
    const old = nodes[1] as NodeProcess;
    assert.equal(await old.stop(), 0, 'h2 stops cleanly');
    assert.deepEqual(bgpRoutes('h2'), expectedRoutes('h2'), 'h2 kept its learned routes in the kernel');
    const h1 = await nodeStatus('h1');
    assert.doesNotMatch(h1.out, /10\.0\.0\.2 +\| node-to-node mesh \| up/, 'h1 saw the session go');
    assert.equal(bgpRoutes('h1')[h2Block]?.[0], '10.0.0.2', "h1 still routes h2's block (stale)");
    assert.equal(bgpRoutes('h3')[h2Block]?.[0], '10.0.0.2', "h3 still routes h2's block (stale)");
    const restarted = new NodeProcess(ns.h2 as string, 'h2', env, ['--refresh-interval', '1000']);
    nodes[1] = restarted;
    await restarted.waitReady(30_000);
    assert.match(restarted.output, /restarting gracefully/, 'h2 found its routes and restarted gracefully');
    await eventually(
      'h1 and h3 see h2 up again',
      async () => [(await nodeStatus('h1')).out, (await nodeStatus('h3')).out],
      (outs) => outs.every((o) => /\| 10\.0\.0\.2 +\| node-to-node mesh \| up /.test(o)),
    );
    await eventually(
      'h2 finished its restart',
      () => restarted.output,
      (o) => o.includes('graceful restart complete'),
    );
    for (const h of HOSTS) assert.deepEqual(bgpRoutes(h.name), expectedRoutes(h.name), `${h.name} routes`);
    assert.deepEqual(await eventually('all pings pass', pingMatrix, (f) => f.length === 0, 15_000), []);
  });

  test('with the mesh off and a global BIRD route reflector as peer, the cluster reconverges', async () => {
    const conf = join(dir, 'bird.conf');
    writeFileSync(
      conf,
      [
        `router id ${RR_ADDRESS};`,
        'protocol device { scan time 1; }',
        'template bgp calico_nodes {',
        `  local ${RR_ADDRESS} as 64512;`,
        '  rr client;',
        `  rr cluster id ${RR_ADDRESS};`,
        '  direct;',
        '  connect retry time 1;',
        '  ipv4 { import all; export all; };',
        '}',
        ...HOSTS.map((h) => `protocol bgp ${h.name} from calico_nodes { neighbor ${h.address} as 64512; }`),
        '',
      ].join('\n'),
    );
    const sock = join(dir, 'bird.ctl');
    bird = spawn(
      'ip',
      ['netns', 'exec', ns.rr as string, 'bird', '-c', conf, '-s', sock, '-P', join(dir, 'bird.pid'), '-f'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    bird.stdout?.on('data', (d: Buffer) => (birdOutput += d.toString()));
    bird.stderr?.on('data', (d: Buffer) => (birdOutput += d.toString()));
    await eventually(
      'BIRD answers on its control socket',
      () => lab.try(ns.rr as string, 'birdc', ['-s', sock, 'show', 'status']).status,
      (status) => status === 0 || bird?.exitCode !== null,
      10_000,
    );
    assert.equal(bird.exitCode, null, `BIRD is running: ${birdOutput}`);

    await put({
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPPeer',
      metadata: { name: 'route-reflector' },
      spec: { peerIP: RR_ADDRESS, asNumber: 64512 },
    });
    await put({
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
      spec: { nodeToNodeMeshEnabled: false },
    });

    for (const h of HOSTS) {
      const status = await eventually(
        `${h.name} peers with the reflector only`,
        () => nodeStatus(h.name),
        (r) => /\| 10\.0\.0\.254 +\| global +\| up /.test(r.out) && !r.out.includes('node-to-node mesh'),
      ).catch((e: Error) => assert.fail(`${e.message}\nbird: ${birdOutput}`));
      assert.equal(status.code, 0);
    }
    for (const h of HOSTS) {
      await eventually(
        `${h.name} learns the other blocks through the reflector, next hop still the owner`,
        () => bgpRoutes(h.name),
        (r) =>
          JSON.stringify(Object.entries(r).sort()) ===
          JSON.stringify(Object.entries(expectedRoutes(h.name)).sort()),
      );
    }
    // The routes came from the reflector: h1 received the other two blocks from it.
    const routes = await runCalicoctl(env, ['node', 'status', '--node', 'h1', '--routes', RR_ADDRESS]);
    const out = routes.out + routes.err;
    for (const h of HOSTS.filter((x) => x.name !== 'h1')) {
      assert.match(
        out,
        new RegExp(
          `\\| ${block[h.name]?.replace(/\./g, '\\.')} +\\| ${h.address.replace(/\./g, '\\.')} +\\|.*accepted`,
        ),
      );
    }
    // The reflector speaks IPv4 only: with the mesh gone, the IPv6 routes are withdrawn.
    for (const h of HOSTS) {
      await eventually(
        `${h.name} has no IPv6 BGP routes left`,
        () => bgpRoutes(h.name, 6),
        (r) => Object.keys(r).length === 0,
      );
    }
    const birdRoutes = lab.exec(ns.rr as string, 'birdc', ['-s', sock, 'show', 'route']);
    for (const h of HOSTS)
      assert.match(birdRoutes, new RegExp(`${block[h.name]?.replace(/\./g, '\\.')}\\s+unicast`));
    assert.deepEqual(await eventually('all pings pass again', pingMatrix, (f) => f.length === 0, 15_000), []);
  });
});
