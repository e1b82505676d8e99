/**
 * `IP=` in CNI_ARGS, driven as a runtime drives the plugin (the installed wrappers, CNI_* in the
 * environment, the configuration on stdin, inside a host namespace, containers in namespaces the
 * test makes): the container gets exactly the address asked for, in the kernel, in its endpoint and
 * in IPAM under its handle; every refusal is a CNI error naming the address that leaves no address
 * held, no interface and no endpoint.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ResourceClient } from '../../../src/datastore/resources.js';
import type { IpamClient } from '../../../src/ipam/index.js';
import { requireRootAndTools } from '../../support/netns.js';
import { cniEnv, runPlugin, type ContainerRef, type PluginRun } from './cni-runtime.js';
import { openCniTestHost, type CniTestHost, type TestContainer } from './cni-test-host.js';

describe('CNI_ARGS IP=: a container gets the address the runtime asks for', () => {
  let host: CniTestHost;
  let resources: ResourceClient;
  let ipam: IpamClient;
  let network: Record<string, unknown>;

  const newContainer = (args: string): TestContainer => host.newContainer('fix', { args });
  const call = (command: string, c: ContainerRef, plugin = 'calico'): Promise<PluginRun> =>
    runPlugin(host.hostNs, join(host.bin, plugin), cniEnv(command, c, [host.bin]), JSON.stringify(network));
  const handleOf = (c: ContainerRef) => `${String(network.name)}.${c.id}`;
  const addressesOf = (r: PluginRun) => (r.json?.ips as { address: string }[]).map((i) => i.address);
  const holderOf = async (ip: string) => {
    const l = await ipam.lookupIP(ip);
    return l.state === 'assigned' ? l.handle : l.state;
  };

  before(async () => {
    requireRootAndTools(['ip', 'nsenter']);
    host = await openCniTestHost({
      tmpPrefix: 'calico-ts-cni-ip-',
      pools: [
        { name: 'pool4', cidr: '10.78.0.0/24', blockSize: 28 },
        { name: 'pool6', cidr: 'fd00:78::/120', blockSize: 124 },
      ],
      forwarding: ['ipv4', 'ipv6'],
    });
    ({ resources, ipam } = host);
    network = host.network('fixnet', 'node-a');
  });

  after(async () => {
    await host?.close();
    assert.deepEqual(host.lab.leftovers(), []);
  });

  test('ADD with IP=10.78.0.42 puts exactly that address on eth0, in the endpoint and under the handle; DEL frees it', async () => {
    const c = newContainer('IP=10.78.0.42');
    const r = await call('ADD', c);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(addressesOf(r), ['10.78.0.42/32']);
    assert.match(host.lab.exec(c.ns, 'ip', ['-o', 'addr', 'show', 'eth0']), /inet 10\.78\.0\.42\/32/);
    const [hostSide] = r.json?.interfaces as { name: string }[];
    assert.match(
      host.lab.exec(host.hostNs, 'ip', ['route', 'show', '10.78.0.42']),
      new RegExp(`dev ${hostSide?.name}`),
    );
    const wep = (await resources.list('WorkloadEndpoint')).find((w) => w.spec.containerID === c.id);
    assert.deepEqual(wep?.spec.ipNetworks, ['10.78.0.42/32']);
    assert.deepEqual(await ipam.ipsByHandle(handleOf(c)), ['10.78.0.42']);
    const lookup = await ipam.lookupIP('10.78.0.42');
    assert.ok(lookup.state === 'assigned');
    assert.deepEqual([lookup.attrs.node, lookup.attrs.containerID], ['node-a', c.id]);

    const again = await call('ADD', c);
    assert.equal(again.code, 0, again.stdout);
    assert.deepEqual(again.json, r.json, 'a repeated ADD answers the same');
    assert.deepEqual(await ipam.ipsByHandle(handleOf(c)), ['10.78.0.42'], 'and holds the address once');

    assert.equal((await call('DEL', c)).code, 0);
    assert.equal(await holderOf('10.78.0.42'), 'free');
    assert.deepEqual(host.caliLinks(), []);
  });

  test('dual stack IP=10.78.0.43,fd00:78::43 gives both, though the network assigns only IPv4', async () => {
    const c = newContainer('IgnoreUnknown=1;K8S_POD_INFRA_CONTAINER_ID=x;IP=10.78.0.43,fd00:78::43');
    const r = await call('ADD', c);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(addressesOf(r), ['10.78.0.43/32', 'fd00:78::43/128']);
    assert.match(host.lab.exec(c.ns, 'ip', ['-6', '-o', 'addr', 'show', 'eth0']), /inet6 fd00:78::43\/128/);
    assert.deepEqual((await ipam.ipsByHandle(handleOf(c))).sort(), ['10.78.0.43', 'fd00:78::43']);
    assert.equal((await call('DEL', c)).code, 0);
    assert.deepEqual(await ipam.ipsByHandle(handleOf(c)), []);
  });

  test("calico-ipam, exec'd by a main plugin: IP= gives that address, DEL gives it back", async () => {
    const c = newContainer('IP=fd00:78::44');
    const r = await call('ADD', c, 'calico-ipam');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(addressesOf(r), ['fd00:78::44/128']);
    assert.equal(await holderOf('fd00:78::44'), handleOf(c));
    assert.equal((await call('DEL', c, 'calico-ipam')).code, 0);
    assert.equal(await holderOf('fd00:78::44'), 'free');
  });

  const refused: {
    name: string;
    args: string;
    code: number;
    msg: RegExp;
    /** Held by another container before the ADD, and still held by it after. */
    taken?: string;
    /** The other family's address, which must be free again. */
    free?: string;
  }[] = [
    {
      name: 'an address another container holds',
      args: 'IP=10.78.0.50',
      code: 100,
      msg: /10\.78\.0\.50 is already assigned to handle "fixnet\.someone-else"/,
      taken: '10.78.0.50',
    },
    {
      name: 'an address outside every pool',
      args: 'IP=192.0.2.7',
      code: 100,
      msg: /requested address 192\.0\.2\.7 .*not in any IP pool/,
    },
    {
      name: 'a malformed address',
      args: 'IP=10.78.0.999',
      code: 4,
      msg: /IP "10\.78\.0\.999" is not an IP address/,
    },
    {
      name: 'dual stack whose IPv6 address is taken',
      args: 'IP=10.78.0.51,fd00:78::51',
      code: 100,
      msg: /fd00:78::51 is already assigned/,
      taken: 'fd00:78::51',
      free: '10.78.0.51',
    },
  ];
  for (const f of refused)
    test(`ADD asking for ${f.name} is CNI error ${f.code} naming it, and leaves nothing behind`, async () => {
      if (f.taken) await ipam.assignIP({ ip: f.taken, handle: 'fixnet.someone-else' });
      const linksBefore = host.caliLinks();
      const c = newContainer(f.args);
      const r = await call('ADD', c);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.json?.code, f.code, r.stdout);
      assert.match(String(r.json?.msg), f.msg);
      assert.equal(r.stdout.trim().split('\n').length, 1, 'stdout holds only the error object');
      assert.deepEqual(await ipam.ipsByHandle(handleOf(c)), [], 'no address held');
      assert.deepEqual(
        (await resources.list('WorkloadEndpoint')).filter((w) => w.spec.containerID === c.id),
        [],
        'no endpoint',
      );
      assert.deepEqual(host.caliLinks(), linksBefore, 'no host interface');
      assert.equal(host.lab.try(c.ns, 'ip', ['link', 'show', 'eth0']).status, 1, 'no container interface');
      if (f.free) assert.equal(await holderOf(f.free), 'free', `${f.free} given back`);
      if (f.taken) {
        assert.equal(await holderOf(f.taken), 'fixnet.someone-else', 'the holder keeps its address');
        await ipam.releaseByHandle('fixnet.someone-else');
      }
      assert.equal((await call('DEL', c)).code, 0, 'the runtime’s DEL after a failed ADD succeeds');
    });
});
