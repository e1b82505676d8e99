/**
 * Drives the `calico` and `calico-ipam` executables exactly as a container runtime does: the wrappers
 * that scripts/install-cni.sh writes, run by path with CNI_* in the environment and the configuration
 * on stdin, inside a host namespace, for containers in namespaces the test makes; the answer read
 * from stdout. Then looks at the kernel and the datastore to see what a user would see.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ResourceClient } from '../../../src/datastore/resources.js';
import type { IpamClient } from '../../../src/ipam/index.js';
import { requireRootAndTools, type NetnsLab } from '../../support/netns.js';
import { cniEnv, runPlugin, type ContainerRef, type PluginRun } from './cni-runtime.js';
import { openCniTestHost, type CniTestHost, type TestContainer } from './cni-test-host.js';
const REFERENCE_PLUGINS = '/usr/lib/cni';

describe('the calico CNI plugins, driven as a runtime drives them', () => {
  let host: CniTestHost;
  let lab: NetnsLab;
  let hostNs: string;
  let resources: ResourceClient;
  let ipam: IpamClient;
  let network: Record<string, unknown>;
  let cniPath: string[];

  const newContainer = (extra: Partial<ContainerRef> = {}): TestContainer => host.newContainer('ctr', extra);

  function call(
    command: string,
    c: ContainerRef,
    config: object = network,
    plugin = 'calico',
    env: Record<string, string | undefined> = {},
  ): Promise<PluginRun> {
    return runPlugin(
      hostNs,
      join(host.bin, plugin),
      { ...cniEnv(command, c, cniPath), ...env },
      JSON.stringify(config),
    );
  }
  const caliLinks = () => host.caliLinks();
  const handleOf = (c: ContainerRef) => `${String(network.name)}.${c.id}`;

  /** Nothing of a container remains: no address, no endpoint, no host interface. */
  async function assertNothingLeft(c: ContainerRef, linksBefore: unknown[]) {
    assert.deepEqual(await ipam.ipsByHandle(handleOf(c)), [], 'no address held');
    assert.deepEqual(
      (await resources.list('WorkloadEndpoint')).filter((w) => w.spec.containerID === c.id),
      [],
      'no endpoint',
    );
    assert.deepEqual(caliLinks(), linksBefore, 'no new host interface');
  }

  before(async () => {
    requireRootAndTools(['ip', 'nsenter', 'ping']);
    host = await openCniTestHost({
      tmpPrefix: 'calico-ts-cni-',
      pools: [{ name: 'pool1', cidr: '10.77.0.0/24', blockSize: 28 }],
      forwarding: ['ipv4'],
    });
    ({ lab, hostNs, resources, ipam } = host);
    cniPath = [host.bin, REFERENCE_PLUGINS];
    network = host.network('net1', 'node-a', { mtu: 1400 });
  });

  after(async () => {
    await host?.close();
    assert.deepEqual(lab.leftovers(), []);
  });

  test('ADD wires the container as Felix expects, writes its endpoint, and two containers reach each other', async () => {
    const a = newContainer();
    const b = newContainer();
    const ra = await call('ADD', a);
    const rb = await call('ADD', b);
    assert.equal(ra.code, 0, ra.stdout + ra.stderr);
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    const ipA = String((ra.json?.ips as { address: string }[])[0]?.address);
    const ipB = String((rb.json?.ips as { address: string }[])[0]?.address);
    assert.match(ipA, /^10\.77\.0\.\d+\/32$/);
    assert.notEqual(ipA, ipB);
    const [hostSide, inside] = ra.json?.interfaces as { name: string; mac: string; sandbox?: string }[];
    assert.ok(hostSide && inside);
    assert.deepEqual(
      [hostSide.mac, hostSide.sandbox, inside.name, inside.sandbox],
      ['ee:ee:ee:ee:ee:ee', undefined, 'eth0', a.netns],
    );

    const hostLink = lab.exec(hostNs, 'ip', ['-o', 'link', 'show', hostSide.name]);
    assert.match(hostLink, /state UP/);
    assert.match(hostLink, /mtu 1400/);
    assert.equal(lab.exec(hostNs, 'cat', [`/proc/sys/net/ipv4/conf/${hostSide.name}/proxy_arp`]).trim(), '1');
    assert.match(
      lab.exec(hostNs, 'ip', ['route', 'show', ipA.replace('/32', '')]),
      new RegExp(`dev ${hostSide.name} scope link`),
    );
    assert.match(
      lab.exec(a.ns, 'ip', ['-o', 'addr', 'show', 'eth0']),
      new RegExp(`inet ${ipA.replace('.', '\\.')}`),
    );
    assert.match(lab.exec(a.ns, 'ip', ['route']), /default via 169\.254\.1\.1 dev eth0/);
    assert.match(
      lab.exec(a.ns, 'ip', ['neigh', 'show', '169.254.1.1']),
      /lladdr ee:ee:ee:ee:ee:ee PERMANENT/,
    );
    assert.match(
      lab.exec(a.ns, 'ip', ['-o', 'link', 'show', 'eth0']),
      new RegExp(`link/ether ${inside.mac}`),
    );

    const wep = (await resources.list('WorkloadEndpoint')).find((w) => w.spec.containerID === a.id);
    assert.deepEqual(
      [
        wep?.spec.node,
        wep?.spec.orchestrator,
        wep?.spec.interfaceName,
        wep?.spec.mac,
        wep?.spec.ipNetworks,
        wep?.spec.profiles,
      ],
      ['node-a', 'cni', hostSide.name, inside.mac, [ipA], ['net1']],
    );
    assert.equal(
      lab.try(a.ns, 'ping', ['-c1', '-W2', ipB.replace('/32', '')]).status,
      0,
      'a pings b through the host',
    );

    const check = await call('CHECK', a, { ...network, prevResult: ra.json });
    assert.deepEqual([check.code, check.stdout], [0, ''], check.stdout);
    for (const [c, r] of [
      [a, ra],
      [b, rb],
    ] as const)
      assert.equal((await call('DEL', c, { ...network, prevResult: r.json })).code, 0);
    assert.deepEqual(caliLinks(), []);
  });

  test('ADD again for the same container returns the same result and holds one address', async () => {
    const c = newContainer();
    const first = await call('ADD', c);
    const second = await call('ADD', c);
    assert.equal(second.code, 0, second.stdout);
    assert.deepEqual(second.json, first.json);
    assert.equal((await ipam.ipsByHandle(handleOf(c))).length, 1);
    assert.equal((await call('DEL', c)).code, 0);
  });

  test('DEL twice succeeds with empty output, and frees the address, the endpoint and the interface', async () => {
    const before = caliLinks();
    const c = newContainer();
    assert.equal((await call('ADD', c)).code, 0);
    for (const n of [1, 2]) {
      const r = await call('DEL', c);
      assert.deepEqual([r.code, r.stdout], [0, ''], `DEL #${n}: ${r.stdout}`);
    }
    await assertNothingLeft(c, before);
  });

  test('CHECK names what changed after ADD', async () => {
    const c = newContainer();
    const r = await call('ADD', c);
    const ip = String((r.json?.ips as { address: string }[])[0]?.address);
    lab.exec(c.ns, 'ip', ['addr', 'del', ip, 'dev', 'eth0']);
    const check = await call('CHECK', c, { ...network, prevResult: r.json });
    assert.equal(check.code, 1);
    assert.equal(check.json?.code, 101);
    assert.match(String(check.json?.details), new RegExp(`eth0 does not have address ${ip}`));
    assert.match(String(check.json?.details), /no default route via 169\.254\.1\.1/);
    assert.equal((await call('DEL', c)).code, 0);
  });

  const failures: {
    name: string;
    code: number;
    prepare?: (c: TestContainer) => void;
    env?: (c: TestContainer) => Record<string, string | undefined>;
    config?: () => unknown;
  }[] = [
    {
      name: 'a network namespace that does not exist',
      code: 3,
      env: () => ({ CNI_NETNS: '/run/netns/no-such-namespace' }),
    },
    {
      name: 'an interface already named eth0 in the container',
      code: 102,
      prepare: (c) => lab.exec(c.ns, 'ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'x0']),
    },
    {
      name: 'a pool that does not exist',
      code: 100,
      config: () => ({ ...network, ipam: { type: 'calico-ipam', ipv4_pools: ['no-such-pool'] } }),
    },
    { name: 'an unknown configuration field', code: 2, config: () => ({ ...network, colour: 'blue' }) },
    { name: 'an unsupported cniVersion', code: 1, config: () => ({ ...network, cniVersion: '0.1.0' }) },
    { name: 'configuration that is not JSON', code: 6, config: () => '{"cniVersion":' },
    { name: 'no container ID', code: 4, env: () => ({ CNI_CONTAINERID: undefined }) },
    {
      name: 'a datastore that cannot be opened',
      code: 11,
      // A path under a regular file: its directory cannot be created.
      config: () => ({ ...network, sqlite_path: join(host.bin, 'calico', 'store.sqlite') }),
    },
  ];
  for (const f of failures)
    test(`a failed ADD (${f.name}) is CNI error ${f.code} on stdout and leaves nothing behind`, async () => {
      const before = caliLinks();
      const c = newContainer();
      f.prepare?.(c);
      const config = f.config?.() ?? network;
      const r = await runPlugin(
        hostNs,
        join(host.bin, 'calico'),
        { ...cniEnv('ADD', c, cniPath), ...(f.env?.(c) ?? {}) },
        typeof config === 'string' ? config : JSON.stringify(config),
      );
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.json?.code, f.code, r.stdout);
      assert.equal(typeof r.json?.msg, 'string');
      assert.equal(r.stdout.trim().split('\n').length, 1, 'stdout holds only the error object');
      await assertNothingLeft(c, before);
    });

  test("calico-ipam, exec'd by a main plugin as the spec says: ADD, CHECK and DEL, DEL twice", async () => {
    const c = newContainer();
    // What a main plugin (here a bridge) hands its IPAM plugin: the whole configuration, same environment.
    const bridgeNetwork = {
      cniVersion: '0.4.0',
      name: 'brnet',
      type: 'bridge',
      bridge: 'cni0',
      nodename: 'node-a',
      datastore_type: 'sqlite',
      sqlite_path: host.sqlitePath,
      ipam: { type: 'calico-ipam' },
    };
    const add = await call('ADD', c, bridgeNetwork, 'calico-ipam');
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const ips = add.json?.ips as { version: string; address: string }[];
    assert.equal(add.json?.cniVersion, '0.4.0');
    assert.equal(ips[0]?.version, '4');
    assert.deepEqual(await ipam.ipsByHandle(`brnet.${c.id}`), [ips[0]?.address.replace('/32', '')]);
    assert.equal((await call('CHECK', c, { ...bridgeNetwork, prevResult: add.json }, 'calico-ipam')).code, 0);
    for (const n of [1, 2])
      assert.equal((await call('DEL', c, bridgeNetwork, 'calico-ipam')).code, 0, `DEL #${n}`);
    assert.deepEqual(await ipam.ipsByHandle(`brnet.${c.id}`), []);
    const check = await call('CHECK', c, { ...bridgeNetwork, prevResult: add.json }, 'calico-ipam');
    assert.equal(check.json?.code, 101);
  });

  test('calico with the reference host-local IPAM: the address comes from host-local, DEL gives it back', async () => {
    const c = newContainer();
    const hostLocal = {
      ...network,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: '10.99.0.0/24' }]],
        dataDir: join(host.dir, 'host-local'),
      },
    };
    const r = await call('ADD', c, hostLocal);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(String((r.json?.ips as { address: string }[])[0]?.address), /^10\.99\.0\.\d+\/32$/);
    assert.equal((await call('DEL', c, hostLocal)).code, 0);
    assert.deepEqual(await resources.list('WorkloadEndpoint'), []);
  });

  test('ipam check finds the address of a container whose endpoint is gone, and not that of a live one', async () => {
    const live = newContainer();
    const lost = newContainer();
    assert.equal((await call('ADD', live)).code, 0);
    const r = await call('ADD', lost);
    const lostIp = String((r.json?.ips as { address: string }[])[0]?.address).replace('/32', '');
    // The runtime lost track of the container: its endpoint went away, its DEL never came.
    const wep = (await resources.list('WorkloadEndpoint')).find((w) => w.spec.containerID === lost.id);
    assert.ok(wep);
    await resources.delete('WorkloadEndpoint', wep.metadata.name, wep.metadata.namespace);
    const leaked = (await ipam.check()).problems.filter((p) => p.kind === 'leaked-address');
    assert.deepEqual(
      leaked.map((p) => [p.ip, p.handle]),
      [[lostIp, handleOf(lost)]],
    );
    for (const c of [live, lost]) assert.equal((await call('DEL', c)).code, 0);
    assert.deepEqual(
      (await ipam.check()).problems.filter((p) => p.kind === 'leaked-address'),
      [],
    );
  });

  test('dual stack: a /32 and a /128, IPv6 default via the host side link-local, and the containers ping over IPv6', async () => {
    await resources.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'pool6' },
      spec: { cidr: 'fd00:77::/120', blockSize: 124 },
    });
    lab.exec(hostNs, 'sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
    const dual = { ...network, ipam: { type: 'calico-ipam', assign_ipv6: 'true' } };
    const [a, b] = [newContainer(), newContainer()];
    const results = [await call('ADD', a, dual), await call('ADD', b, dual)];
    for (const r of results) assert.equal(r.code, 0, r.stdout + r.stderr);
    const v6Of = (r: PluginRun) =>
      (r.json?.ips as { address: string }[]).map((i) => i.address).find((x) => x.includes(':'));
    const [ipA6, ipB6] = results.map(v6Of);
    assert.match(String(ipA6), /^fd00:77::[0-9a-f]*\/128$/);
    assert.match(lab.exec(a.ns, 'ip', ['-6', 'route']), /default via fe80::ecee:eeff:feee:eeee dev eth0/);
    let pinged = false;
    for (let i = 0; i < 20 && !pinged; i++) {
      pinged = lab.try(a.ns, 'ping', ['-6', '-c1', '-W1', String(ipB6).replace('/128', '')]).status === 0;
      if (!pinged) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(pinged, `a pings b at ${ipB6}`);
    for (const c of [a, b]) assert.equal((await call('DEL', c, dual)).code, 0);
    await resources.delete('IPPool', 'pool6');
  });

  test('eight ADDs at once get eight different addresses', async () => {
    const containers = Array.from({ length: 8 }, () => newContainer());
    const results = await Promise.all(containers.map((c) => call('ADD', c)));
    assert.deepEqual(
      results.map((r) => r.code),
      results.map(() => 0),
      results.map((r) => r.stdout).join('\n'),
    );
    const addresses = new Set(results.map((r) => (r.json?.ips as { address: string }[])[0]?.address));
    assert.equal(addresses.size, 8);
    await Promise.all(containers.map((c) => call('DEL', c)));
    assert.deepEqual(caliLinks(), []);
    assert.deepEqual(
      (await ipam.check()).problems.filter((p) => p.kind === 'leaked-address'),
      [],
    );
  });
});
