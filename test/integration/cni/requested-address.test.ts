/**
 * `IP=` in CNI_ARGS, driven as a runtime drives the plugin (the installed wrappers, CNI_* in the
 * environment, the configuration on stdin, inside a host namespace, containers in namespaces the
 * test makes): the container gets exactly the address asked for, in the kernel, in its endpoint and
 * in IPAM under its handle; every refusal is a CNI error naming the address that leaves no address
 * held, no interface and no endpoint.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteDatastore } from '../../../src/datastore/sqlite.js';
import { ResourceClient } from '../../../src/datastore/resources.js';
import { IpamClient } from '../../../src/ipam/index.js';
import { NetnsLab, requireRootAndTools } from '../../support/netns.js';
import { caliLinksIn, cniEnv, runPlugin, type ContainerRef, type PluginRun } from './cni-runtime.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('CNI_ARGS IP=: a container gets the address the runtime asks for', () => {
  let lab: NetnsLab;
  let dir: string;
  let bin: string;
  let hostNs: string;
  let store: SqliteDatastore;
  let resources: ResourceClient;
  let ipam: IpamClient;
  let network: Record<string, unknown>;
  let counter = 0;

  function newContainer(args: string): ContainerRef {
    counter += 1;
    const ns = lab.addNamespace(`c${counter}`);
    return { id: `fix${counter}${lab.prefix}`, netns: `/run/netns/${ns}`, args };
  }
  const nsOf = (c: ContainerRef) => c.netns.slice('/run/netns/'.length);
  const call = (command: string, c: ContainerRef, plugin = 'calico'): Promise<PluginRun> =>
    runPlugin(hostNs, join(bin, plugin), cniEnv(command, c, [bin]), JSON.stringify(network));
  const caliLinks = () => caliLinksIn(lab, hostNs);
  const handleOf = (c: ContainerRef) => `${String(network.name)}.${c.id}`;
  const addressesOf = (r: PluginRun) => (r.json?.ips as { address: string }[]).map((i) => i.address);
  const holderOf = async (ip: string) => {
    const l = await ipam.lookupIP(ip);
    return l.state === 'assigned' ? l.handle : l.state;
  };

  before(async () => {
    requireRootAndTools(['ip', 'nsenter']);
    lab = new NetnsLab();
    dir = mkdtempSync(join(tmpdir(), 'calico-ts-cni-ip-'));
    bin = join(dir, 'bin');
    execFileSync(join(ROOT, 'scripts/install-cni.sh'), ['--dest', bin, '--source']);
    hostNs = lab.addNamespace('host');
    lab.exec(hostNs, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    lab.exec(hostNs, 'sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
    store = await SqliteDatastore.open(join(dir, 'store.sqlite'));
    resources = new ResourceClient(store);
    ipam = new IpamClient(store);
    for (const [name, cidr, blockSize] of [
      ['pool4', '10.78.0.0/24', 28],
      ['pool6', 'fd00:78::/120', 124],
    ] as const)
      await resources.create({
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name },
        spec: { cidr, blockSize },
      });
    network = {
      cniVersion: '1.0.0',
      name: 'fixnet',
      type: 'calico',
      nodename: 'node-a',
      datastore_type: 'sqlite',
      sqlite_path: join(dir, 'store.sqlite'),
      ipam: { type: 'calico-ipam' },
    };
  });

  after(async () => {
    await store?.close();
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(lab.leftovers(), []);
  });

  test('ADD with IP=10.78.0.42 puts exactly that address on eth0, in the endpoint and under the handle; DEL frees it', async () => {
    const c = newContainer('IP=10.78.0.42');
    const r = await call('ADD', c);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(addressesOf(r), ['10.78.0.42/32']);
    assert.match(lab.exec(nsOf(c), 'ip', ['-o', 'addr', 'show', 'eth0']), /inet 10\.78\.0\.42\/32/);
    const [hostSide] = r.json?.interfaces as { name: string }[];
    assert.match(
      lab.exec(hostNs, 'ip', ['route', 'show', '10.78.0.42']),
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
    assert.deepEqual(caliLinks(), []);
  });

  test('dual stack IP=10.78.0.43,fd00:78::43 gives both, though the network assigns only IPv4', async () => {
    const c = newContainer('IgnoreUnknown=1;K8S_POD_INFRA_CONTAINER_ID=x;IP=10.78.0.43,fd00:78::43');
    const r = await call('ADD', c);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(addressesOf(r), ['10.78.0.43/32', 'fd00:78::43/128']);
    assert.match(lab.exec(nsOf(c), 'ip', ['-6', '-o', 'addr', 'show', 'eth0']), /inet6 fd00:78::43\/128/);
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
      const linksBefore = caliLinks();
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
      assert.deepEqual(caliLinks(), linksBefore, 'no host interface');
      assert.equal(lab.try(nsOf(c), 'ip', ['link', 'show', 'eth0']).status, 1, 'no container interface');
      if (f.free) assert.equal(await holderOf(f.free), 'free', `${f.free} given back`);
      if (f.taken) {
        assert.equal(await holderOf(f.taken), 'fixnet.someone-else', 'the holder keeps its address');
        await ipam.releaseByHandle('fixnet.someone-else');
      }
      assert.equal((await call('DEL', c)).code, 0, 'the runtime’s DEL after a failed ADD succeeds');
    });
});
