/**
 * `IP=` in CNI_ARGS through both plugins, over a memory datastore and a fake kernel: the container
 * gets exactly the addresses asked for, attributed to its handle; every refusal is a CNI error that
 * names the address and leaves nothing held, wired or written.
 */
import { beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryDatastore } from '../../../src/datastore/memory.js';
import { ResourceClient } from '../../../src/datastore/resources.js';
import type { Datastore } from '../../../src/datastore/types.js';
import { IpamClient } from '../../../src/ipam/index.js';
import { runCalicoPlugin, runCalicoIpamPlugin, type PluginOutcome } from '../../../src/cni/run-plugin.js';
import { FakeDataplane } from './fake-dataplane.js';
import { ENV, NETWORK } from './container-c1.js';

const keepOpen = (ds: Datastore): Datastore =>
  new Proxy(ds, {
    get: (target, prop) => {
      if (prop === 'close') return async () => undefined;
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });

const parsed = (o: PluginOutcome) => JSON.parse(o.stdout) as Record<string, unknown>;

describe('CNI_ARGS IP= through the calico and calico-ipam plugins', () => {
  let ds: MemoryDatastore;
  let dataplane: FakeDataplane;
  let resources: ResourceClient;
  let ipam: IpamClient;

  const call = (command: string, env: Record<string, string> = {}, conf: object = NETWORK) =>
    runCalicoPlugin({
      env: { ...ENV, ...env, CNI_COMMAND: command },
      stdin: JSON.stringify(conf),
      dataplane,
      openDatastore: async () => keepOpen(ds),
    });
  const ipamCall = (command: string, env: Record<string, string> = {}) =>
    runCalicoIpamPlugin({
      env: { ...ENV, ...env, CNI_COMMAND: command },
      stdin: JSON.stringify(NETWORK),
      openDatastore: async () => keepOpen(ds),
    });
  const holderOf = async (ip: string) => {
    const l = await ipam.lookupIP(ip);
    return l.state === 'assigned' ? l.handle : l.state;
  };

  beforeEach(async () => {
    ds = new MemoryDatastore();
    resources = new ResourceClient(ds);
    ipam = new IpamClient(ds);
    dataplane = new FakeDataplane();
    for (const [name, cidr] of [
      ['p4', '10.77.0.0/24'],
      ['p6', 'fd00:77::/112'],
    ] as const)
      await resources.create({
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name },
        spec: { cidr },
      });
  });

  const granted: { name: string; args: string; ips: string[]; held: string[] }[] = [
    { name: 'one IPv4 address', args: 'IP=10.77.0.9', ips: ['10.77.0.9/32'], held: ['10.77.0.9'] },
    {
      // assign_ipv6 is off in NETWORK: an explicit address is honoured whatever the defaults say.
      name: 'dual stack, IPv6 included though assign_ipv6 is off',
      args: 'IP=10.77.0.9,fd00:77::9',
      ips: ['10.77.0.9/32', 'fd00:77::9/128'],
      held: ['10.77.0.9', 'fd00:77::9'],
    },
    {
      name: 'IPv6 only, beside IgnoreUnknown and a key we do not know',
      args: 'IgnoreUnknown=1;MAC=aa:bb;IP=fd00:77::9',
      ips: ['fd00:77::9/128'],
      held: ['fd00:77::9'],
    },
  ];
  for (const g of granted)
    test(`ADD with ${g.name} gets exactly ${g.ips.join(' and ')}, held by the container's handle`, async () => {
      const out = await call('ADD', { CNI_ARGS: g.args });
      assert.equal(out.exitCode, 0, out.stdout);
      assert.deepEqual(
        (parsed(out).ips as { address: string }[]).map((ip) => ip.address),
        g.ips,
      );
      assert.deepEqual((await ipam.ipsByHandle('net1.c1')).sort(), [...g.held].sort());
      const lookup = await ipam.lookupIP(g.held[0] as string);
      assert.equal(lookup.state, 'assigned');
      if (lookup.state === 'assigned')
        assert.deepEqual(
          [lookup.handle, lookup.attrs.node, lookup.attrs.containerID],
          ['net1.c1', 'node-a', 'c1'],
        );
      const [wep] = await resources.list('WorkloadEndpoint');
      assert.deepEqual(wep?.spec.ipNetworks, g.ips);
    });

  const refused: {
    name: string;
    args: string;
    code: number;
    msg: RegExp;
    before?: () => Promise<unknown>;
    /** Addresses that must be free afterwards (the other family of an all-or-nothing request). */
    free?: string[];
  }[] = [
    {
      name: 'an address another container holds',
      args: 'IP=10.77.0.9',
      code: 100,
      msg: /requested address 10\.77\.0\.9 .*already assigned to handle "net1\.other"/,
      before: () => ipam.assignIP({ ip: '10.77.0.9', handle: 'net1.other' }),
    },
    {
      name: 'an address outside every pool',
      args: 'IP=192.0.2.1',
      code: 100,
      msg: /requested address 192\.0\.2\.1 .*not in any IP pool/,
    },
    {
      name: 'a malformed address',
      args: 'IP=10.77.0.x',
      code: 4,
      msg: /IP "10\.77\.0\.x" is not an IP address/,
    },
    {
      name: 'two addresses of one family',
      args: 'IP=10.77.0.9,10.77.0.10',
      code: 4,
      msg: /two IPv4 addresses/,
    },
    {
      name: 'dual stack whose IPv6 address is outside every pool',
      args: 'IP=10.77.0.9,fd99::1',
      code: 100,
      msg: /requested address fd99::1 .*not in any IP pool/,
      free: ['10.77.0.9'],
    },
    {
      name: 'dual stack whose IPv6 address is taken',
      args: 'IP=10.77.0.9,fd00:77::9',
      code: 100,
      msg: /fd00:77::9 is already assigned/,
      before: () => ipam.assignIP({ ip: 'fd00:77::9', handle: 'net1.other' }),
      free: ['10.77.0.9'],
    },
  ];
  for (const r of refused)
    test(`ADD asking for ${r.name} is CNI error ${r.code} and holds, wires and writes nothing`, async () => {
      await r.before?.();
      const out = await call('ADD', { CNI_ARGS: r.args });
      assert.equal(out.exitCode, 1);
      const error = parsed(out);
      assert.equal(error.code, r.code, out.stdout);
      assert.match(String(error.msg), r.msg);
      assert.deepEqual(await ipam.ipsByHandle('net1.c1'), []);
      assert.equal(dataplane.wired.size, 0);
      assert.deepEqual(await resources.list('WorkloadEndpoint'), []);
      for (const ip of r.free ?? []) assert.equal(await holderOf(ip), 'free', `${ip} given back`);
    });

  test('a repeated ADD with the same IP= answers the same and holds the address once', async () => {
    const first = await call('ADD', { CNI_ARGS: 'IP=10.77.0.9' });
    const second = await call('ADD', { CNI_ARGS: 'IP=10.77.0.9' });
    assert.equal(second.exitCode, 0, second.stdout);
    assert.deepEqual(parsed(second), parsed(first));
    assert.deepEqual(await ipam.ipsByHandle('net1.c1'), ['10.77.0.9']);
  });

  test('a repeated ADD asking for another address is error 4 and the container keeps its own', async () => {
    await call('ADD', { CNI_ARGS: 'IP=10.77.0.9' });
    const out = parsed(await call('ADD', { CNI_ARGS: 'IP=10.77.0.10' }));
    assert.equal(out.code, 4);
    assert.match(String(out.msg), /IP=10\.77\.0\.10 for container c1, which already has 10\.77\.0\.9\/32/);
    assert.deepEqual(await ipam.ipsByHandle('net1.c1'), ['10.77.0.9']);
    assert.equal(await holderOf('10.77.0.10'), 'free');
  });

  test('DEL (with the same CNI_ARGS, as runtimes send) gives the address back', async () => {
    await call('ADD', { CNI_ARGS: 'IP=10.77.0.9' });
    assert.equal((await call('DEL', { CNI_ARGS: 'IP=10.77.0.9' })).exitCode, 0);
    assert.equal(await holderOf('10.77.0.9'), 'free');
    assert.equal((await call('ADD', { CNI_ARGS: 'IP=10.77.0.9', CNI_CONTAINERID: 'c2' })).exitCode, 0);
    assert.equal(await holderOf('10.77.0.9'), 'net1.c2');
  });

  test('calico-ipam: ADD with IP= twice gives the same address once; DEL releases it', async () => {
    const first = parsed(await ipamCall('ADD', { CNI_ARGS: 'IP=fd00:77::9,10.77.0.9' }));
    assert.deepEqual(first.ips, [{ address: 'fd00:77::9/128' }, { address: '10.77.0.9/32' }]);
    assert.deepEqual(parsed(await ipamCall('ADD', { CNI_ARGS: 'IP=fd00:77::9,10.77.0.9' })), first);
    assert.deepEqual((await ipam.ipsByHandle('net1.c1')).sort(), ['10.77.0.9', 'fd00:77::9']);
    assert.equal((await ipamCall('DEL', { CNI_ARGS: 'IP=fd00:77::9,10.77.0.9' })).exitCode, 0);
    assert.deepEqual(await ipam.ipsByHandle('net1.c1'), []);
  });

  test('calico-ipam: an address in use is error 100 and the other family is given back', async () => {
    await ipam.assignIP({ ip: '10.77.0.9', handle: 'net1.other' });
    const out = parsed(await ipamCall('ADD', { CNI_ARGS: 'IP=fd00:77::9,10.77.0.9' }));
    assert.equal(out.code, 100);
    assert.match(String(out.msg), /10\.77\.0\.9 is already assigned to handle "net1\.other"/);
    assert.deepEqual(await ipam.ipsByHandle('net1.c1'), []);
    assert.equal(await holderOf('fd00:77::9'), 'free');
  });
});
