import { beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryDatastore } from '../../../src/datastore/memory.js';
import { ResourceClient } from '../../../src/datastore/resources.js';
import type { Datastore } from '../../../src/datastore/types.js';
import { IpamClient } from '../../../src/ipam/index.js';
import { runCalicoPlugin, runCalicoIpamPlugin, type PluginOutcome } from '../../../src/cni/run-plugin.js';
import { CniError } from '../../../src/cni/spec.js';
import { FakeDataplane } from './fake-dataplane.js';
import { ENV, NETWORK } from './container-c1.js';

const HANDLE = 'net1.c1';
// sha1("c1") starts 2f22765d049: the host side of container c1, as Calico names it.
const HOST_IFACE = 'cali2f22765d049';

/** The store outlives each plugin call (a real call closes its own connection). */
const keepOpen = (ds: Datastore): Datastore =>
  new Proxy(ds, {
    get: (target, prop) => {
      if (prop === 'close') return async () => undefined;
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });

describe('the calico plugin over a memory datastore and a fake kernel', () => {
  let ds: MemoryDatastore;
  let dataplane: FakeDataplane;
  let resources: ResourceClient;
  let ipam: IpamClient;

  const call = (command: string, conf: object = NETWORK, env: object = {}): Promise<PluginOutcome> =>
    runCalicoPlugin({
      env: { ...ENV, ...env, CNI_COMMAND: command },
      stdin: JSON.stringify(conf),
      dataplane,
      openDatastore: async () => keepOpen(ds),
    });
  const parsed = (o: PluginOutcome) => JSON.parse(o.stdout) as Record<string, unknown>;

  beforeEach(async () => {
    ds = new MemoryDatastore();
    resources = new ResourceClient(ds);
    ipam = new IpamClient(ds);
    dataplane = new FakeDataplane();
    await resources.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'p' },
      spec: { cidr: '10.77.0.0/24' },
    });
  });

  test('ADD assigns an address, wires the veth, writes the endpoint and the network profile, and prints the result', async () => {
    const out = await call('ADD');
    assert.equal(out.exitCode, 0, out.stdout);
    const result = parsed(out);
    assert.deepEqual(result.ips, [{ address: '10.77.0.0/32', interface: 1 }]);
    assert.deepEqual(result.interfaces, [
      { name: HOST_IFACE, mac: 'ee:ee:ee:ee:ee:ee' },
      { name: 'eth0', mac: dataplane.wired.get(HOST_IFACE)?.containerMac, sandbox: '/run/netns/c1' },
    ]);
    assert.deepEqual(await ipam.ipsByHandle(HANDLE), ['10.77.0.0']);
    const [wep] = await resources.list('WorkloadEndpoint');
    assert.deepEqual(
      [
        wep?.metadata.name,
        wep?.spec.node,
        wep?.spec.containerID,
        wep?.spec.ipNetworks,
        wep?.spec.profiles,
        wep?.spec.interfaceName,
      ],
      ['node--a-cni-c1-eth0', 'node-a', 'c1', ['10.77.0.0/32'], ['net1'], HOST_IFACE],
    );
    const profile = await resources.get('Profile', 'net1');
    assert.deepEqual(profile?.spec.labelsToApply, { net1: '' });
  });

  test('a repeated ADD for the same container returns the same addresses and takes no new ones', async () => {
    const first = parsed(await call('ADD'));
    const second = await call('ADD');
    assert.equal(second.exitCode, 0);
    assert.deepEqual(parsed(second).ips, first.ips);
    assert.deepEqual(await ipam.ipsByHandle(HANDLE), ['10.77.0.0']);
    assert.equal((await resources.list('WorkloadEndpoint')).length, 1);
  });

  test('a repeated ADD rewires an endpoint whose veth went missing', async () => {
    await call('ADD');
    dataplane.wired.clear();
    assert.equal((await call('ADD')).exitCode, 0);
    assert.equal(dataplane.wired.size, 1);
  });

  test('a failed veth leaves nothing behind: address released, no endpoint, error 102 on stdout', async () => {
    dataplane.failAttach = new CniError(102, 'cannot create veth', 'boom');
    const out = await call('ADD');
    assert.equal(out.exitCode, 1);
    assert.deepEqual(parsed(out), {
      cniVersion: '1.0.0',
      code: 102,
      msg: 'cannot create veth',
      details: 'boom',
    });
    assert.deepEqual(await ipam.ipsByHandle(HANDLE), []);
    assert.deepEqual(await resources.list('WorkloadEndpoint'), []);
    assert.deepEqual(dataplane.calls, [`attach ${HOST_IFACE}`, `detach ${HOST_IFACE}`]);
    assert.equal((await ipam.check()).problems.filter((p) => p.kind === 'leaked-address').length, 0);
  });

  test('a failed endpoint write undoes the veth and the address', async () => {
    // A node name that is not a valid resource name makes the endpoint invalid only at the last step.
    const out = await call('ADD', { ...NETWORK, nodename: 'Node_A' });
    assert.equal(out.exitCode, 1);
    assert.equal(parsed(out).code, 103);
    assert.match(String(parsed(out).msg), /writing WorkloadEndpoint/);
    assert.equal(dataplane.wired.size, 0);
    assert.deepEqual(await ipam.ipsByHandle('net1.c1'), []);
  });

  test('a full pool is error 100 and nothing is wired', async () => {
    await resources.delete('IPPool', 'p');
    await resources.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'tiny' },
      spec: { cidr: '10.88.0.0/31', blockSize: 31 },
    });
    assert.equal((await call('ADD', NETWORK, { CNI_CONTAINERID: 'a' })).exitCode, 0);
    assert.equal((await call('ADD', NETWORK, { CNI_CONTAINERID: 'b' })).exitCode, 0);
    const out = await call('ADD', NETWORK, { CNI_CONTAINERID: 'c' });
    assert.equal(parsed(out).code, 100, out.stdout);
    assert.equal(dataplane.wired.size, 2);
    assert.deepEqual(await ipam.ipsByHandle('net1.c'), []);
  });

  test('DEL releases, unwires and removes the endpoint; a second DEL succeeds too', async () => {
    await call('ADD');
    for (const attempt of [1, 2]) {
      const out = await call('DEL');
      assert.deepEqual([out.exitCode, out.stdout], [0, ''], `DEL #${attempt}`);
    }
    assert.deepEqual(
      [dataplane.wired.size, await ipam.ipsByHandle(HANDLE), await resources.list('WorkloadEndpoint')],
      [0, [], []],
    );
  });

  test('DEL without a network namespace still frees everything', async () => {
    await call('ADD');
    assert.equal((await call('DEL', NETWORK, { CNI_NETNS: '' })).exitCode, 0);
    assert.deepEqual(await ipam.ipsByHandle(HANDLE), []);
  });

  test('DEL leaves an endpoint that a newer container of the same pod owns', async () => {
    const pod = { CNI_ARGS: 'K8S_POD_NAME=web;K8S_POD_NAMESPACE=shop' };
    await call('ADD', NETWORK, { ...pod, CNI_CONTAINERID: 'old' });
    await call('ADD', NETWORK, { ...pod, CNI_CONTAINERID: 'new' });
    assert.equal((await call('DEL', NETWORK, { ...pod, CNI_CONTAINERID: 'old' })).exitCode, 0);
    const weps = await resources.list('WorkloadEndpoint');
    assert.deepEqual(
      weps.map((w) => [w.metadata.namespace, w.spec.pod, w.spec.containerID]),
      [['shop', 'web', 'new']],
    );
  });

  test('CHECK passes after ADD and names each problem once things drift', async () => {
    const prevResult = parsed(await call('ADD'));
    const check = () => call('CHECK', { ...NETWORK, prevResult });
    assert.deepEqual(await check(), { stdout: '', exitCode: 0 });
    dataplane.wired.clear();
    await resources.delete('WorkloadEndpoint', 'node--a-cni-c1-eth0', 'default');
    const out = parsed(await check());
    assert.equal(out.code, 101);
    assert.match(String(out.details), /WorkloadEndpoint default\/node--a-cni-c1-eth0 does not exist/);
    assert.match(String(out.details), /host interface cali\w+ does not exist/);
  });

  test('CHECK without prevResult is error 7, and CHECK of a 0.3.1 configuration is error 1', async () => {
    assert.equal(parsed(await call('CHECK')).code, 7);
    const old = parsed(await call('CHECK', { ...NETWORK, cniVersion: '0.3.1', prevResult: {} }));
    assert.deepEqual([old.code, old.cniVersion], [1, '0.3.1']);
  });

  test('a 0.4.0 configuration gets a 0.4.0 result', async () => {
    const r = parsed(await call('ADD', { ...NETWORK, cniVersion: '0.4.0' }));
    assert.deepEqual(
      [r.cniVersion, r.ips],
      ['0.4.0', [{ version: '4', address: '10.77.0.0/32', interface: 1 }]],
    );
  });

  test('VERSION lists the supported versions without reading a configuration', async () => {
    const out = await runCalicoPlugin({ env: { CNI_COMMAND: 'VERSION' }, stdin: '' });
    assert.deepEqual(parsed(out), {
      cniVersion: '1.0.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'],
    });
  });

  test('an IPAM plugin that is not in CNI_PATH is error 104 and nothing is held', async () => {
    const out = parsed(await call('ADD', { ...NETWORK, ipam: { type: 'host-local' } }));
    assert.equal(out.code, 104);
    assert.match(String(out.msg), /IPAM plugin "host-local" was not found in CNI_PATH/);
    assert.equal(dataplane.wired.size, 0);
  });

  test('dual stack: one IPv4 and one IPv6 address, each from its pool list', async () => {
    await resources.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'v6' },
      spec: { cidr: 'fd00:77::/112' },
    });
    const r = parsed(
      await call('ADD', {
        ...NETWORK,
        ipam: { type: 'calico-ipam', assign_ipv6: 'true', ipv4_pools: ['p'] },
      }),
    );
    assert.deepEqual(r.ips, [
      { address: '10.77.0.0/32', interface: 1 },
      { address: 'fd00:77::/128', interface: 1 },
    ]);
    assert.deepEqual(r.routes, [
      { dst: '0.0.0.0/0', gw: '169.254.1.1' },
      { dst: '::/0', gw: 'fe80::ecee:eeff:feee:eeee' },
    ]);
  });

  test('calico-ipam: ADD prints only ips, CHECK compares with prevResult, DEL twice succeeds', async () => {
    const ipamCall = (command: string, conf: object = NETWORK) =>
      runCalicoIpamPlugin({
        env: { ...ENV, CNI_COMMAND: command },
        stdin: JSON.stringify(conf),
        openDatastore: async () => keepOpen(ds),
      });
    const add = parsed(await ipamCall('ADD'));
    assert.deepEqual(add, {
      cniVersion: '1.0.0',
      interfaces: [],
      ips: [{ address: '10.77.0.0/32' }],
      routes: [],
      dns: {},
    });
    assert.equal((await ipamCall('CHECK', { ...NETWORK, prevResult: add })).exitCode, 0);
    assert.equal((await ipamCall('DEL')).exitCode, 0);
    assert.equal(parsed(await ipamCall('CHECK', { ...NETWORK, prevResult: add })).code, 101);
    assert.equal((await ipamCall('DEL')).exitCode, 0);
  });
});
