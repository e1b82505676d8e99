import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryDatastore } from '../../../src/datastore/memory.js';
import { RevisionConflictError } from '../../../src/datastore/errors.js';
import type { Datastore } from '../../../src/datastore/types.js';
import {
  AddressInUseError,
  IpamClient,
  IpamConflictError,
  IpamError,
  NoAddressesError,
  PoolInUseError,
} from '../../../src/ipam/index.js';
import { ResourceClient } from '../../../src/datastore/resources.js';
import { createNode, createPool } from './fixtures/cluster.js';
import { encodeBlock, newBlock } from '../../../src/ipam/block.js';

async function cluster(
  pools: [string, string, number?][],
): Promise<{ ds: MemoryDatastore; ipam: IpamClient }> {
  const ds = new MemoryDatastore();
  for (const [name, cidr, blockSize] of pools)
    await createPool(ds, name, { cidr, ...(blockSize !== undefined ? { blockSize } : {}) });
  return { ds, ipam: new IpamClient(ds) };
}

async function blockHosts(ipam: IpamClient): Promise<Record<string, string | null>> {
  return Object.fromEntries((await ipam.listBlocks()).map((b) => [b.cidr, b.block.affinity]));
}

describe('autoAssign', () => {
  test("returns addresses with their block's prefix length, lowest first, from a block claimed for the host", async () => {
    const { ipam } = await cluster([['p', '10.77.0.0/24']]);
    const r = await ipam.autoAssign({ handle: 'h1', host: 'node-a', num4: 3 });
    assert.deepEqual(r, { ipv4: ['10.77.0.0/26', '10.77.0.1/26', '10.77.0.2/26'], ipv6: [] });
    assert.deepEqual(await blockHosts(ipam), { '10.77.0.0/26': 'host:node-a' });
  });

  test('IPv4 and IPv6 in one call; IPv6 blocks are /122 by default', async () => {
    const { ipam } = await cluster([
      ['v4', '10.77.0.0/24'],
      ['v6', 'fd00:77::/120'],
    ]);
    const r = await ipam.autoAssign({ handle: 'h1', host: 'a', num4: 1, num6: 2 });
    assert.deepEqual(r, { ipv4: ['10.77.0.0/26'], ipv6: ['fd00:77::/122', 'fd00:77::1/122'] });
  });

  test('each host gets its own block; a host keeps using its block', async () => {
    const { ipam } = await cluster([['p', '10.77.0.0/24']]);
    await ipam.autoAssign({ handle: 'a1', host: 'a', num4: 1 });
    const b = await ipam.autoAssign({ handle: 'b1', host: 'b', num4: 1 });
    const a2 = await ipam.autoAssign({ handle: 'a2', host: 'a', num4: 1 });
    assert.deepEqual(b.ipv4, ['10.77.0.64/26']);
    assert.deepEqual(a2.ipv4, ['10.77.0.1/26']);
    assert.deepEqual(await blockHosts(ipam), { '10.77.0.0/26': 'host:a', '10.77.0.64/26': 'host:b' });
  });

  test('a host whose blocks are full claims the next free block', async () => {
    const { ipam } = await cluster([['p', '10.77.0.0/24', 29]]);
    const r = await ipam.autoAssign({ handle: 'h', host: 'a', num4: 10 });
    assert.equal(r.ipv4.length, 10);
    assert.deepEqual(r.ipv4.slice(7), ['10.77.0.7/29', '10.77.0.8/29', '10.77.0.9/29']);
    assert.deepEqual(await blockHosts(ipam), { '10.77.0.0/29': 'host:a', '10.77.0.8/29': 'host:a' });
  });

  test("a fresh client (one per CNI invocation) finds the host's block with room and claims nothing new", async () => {
    const { ds, ipam } = await cluster([['p', '10.77.0.0/24', 29]]);
    await ipam.autoAssign({ handle: 'fill', host: 'a', num4: 20 });
    await ipam.releaseIPs(['10.77.0.3']);
    const fresh = new IpamClient(ds);
    assert.deepEqual((await fresh.autoAssign({ handle: 'x', host: 'a', num4: 1 })).ipv4, ['10.77.0.3/29']);
    assert.deepEqual((await new IpamClient(ds).autoAssign({ handle: 'y', host: 'a', num4: 1 })).ipv4, [
      '10.77.0.20/29',
    ]);
    assert.equal((await ipam.listBlocks()).length, 3);
  });

  test('a block claimed for the host whose index entry was never written (an interrupted claim) is found and indexed', async () => {
    const { ds, ipam } = await cluster([['p', '10.77.0.0/24', 29]]);
    const block = newBlock({ family: 4, address: 0x0a4d0000n, prefixLength: 29 }, 'a', false);
    await ds.create('/calico/ipam/v2/assignment/ipv4/block/10.77.0.0-29', encodeBlock(block));
    assert.deepEqual((await ipam.autoAssign({ handle: 'h', host: 'a', num4: 1 })).ipv4, ['10.77.0.0/29']);
    assert.ok(await ds.get('/calico/ipam/v2/host/a/ipv4/block/10.77.0.0-29'));
    assert.deepEqual(await blockHosts(ipam), { '10.77.0.0/29': 'host:a' });
  });

  test("when the pool has no free block, a host borrows from another host's block", async () => {
    const { ipam } = await cluster([['p', '10.77.0.0/28', 29]]);
    await ipam.autoAssign({ handle: 'a', host: 'a', num4: 2 });
    await ipam.autoAssign({ handle: 'b', host: 'b', num4: 8 });
    const c = await ipam.autoAssign({ handle: 'c', host: 'c', num4: 3 });
    assert.deepEqual(c.ipv4, ['10.77.0.2/29', '10.77.0.3/29', '10.77.0.4/29']);
    assert.deepEqual(await blockHosts(ipam), { '10.77.0.0/29': 'host:a', '10.77.0.8/29': 'host:b' });
    const who = await ipam.lookupIP('10.77.0.3');
    assert.equal(who.state === 'assigned' && who.attrs.node, 'c');
  });

  test("strictAffinity refuses to borrow: a clear 'no addresses' error, and nothing stays assigned", async () => {
    const { ipam } = await cluster([['p', '10.77.0.0/28', 29]]);
    await ipam.setConfig({ strictAffinity: true });
    await ipam.autoAssign({ handle: 'a', host: 'a', num4: 2 });
    await ipam.autoAssign({ handle: 'b', host: 'b', num4: 2 });
    await assert.rejects(
      ipam.autoAssign({ handle: 'c', host: 'c', num4: 1 }),
      (e: Error) =>
        e instanceof NoAddressesError &&
        /no addresses available: host "c" asked for 1 IPv4 address\(es\) and only 0 were free/.test(
          e.message,
        ) &&
        /strictAffinity forbids borrowing/.test(e.message),
    );
    const usage = await ipam.usage();
    assert.equal(usage.pools[0]?.inUse, 4);
  });

  test('blocks claimed under strictAffinity stay closed to other hosts after it is switched off', async () => {
    const { ipam } = await cluster([['p', '10.77.0.0/29', 29]]);
    await ipam.setConfig({ strictAffinity: true });
    await ipam.autoAssign({ handle: 'a', host: 'a', num4: 1 });
    await ipam.setConfig({ strictAffinity: false });
    await assert.rejects(
      ipam.autoAssign({ handle: 'b', host: 'b', num4: 1 }),
      /strictAffinity blocks of other hosts/,
    );
  });

  test('all or nothing: asking for more than is free fails and gives back what it took', async () => {
    const { ipam } = await cluster([['p', '10.77.0.0/29', 29]]);
    await assert.rejects(ipam.autoAssign({ handle: 'h', host: 'a', num4: 9 }), NoAddressesError);
    assert.equal((await ipam.usage()).pools[0]?.inUse, 0);
    assert.deepEqual(await ipam.ipsByHandle('h'), []);
    assert.equal((await ipam.autoAssign({ handle: 'h', host: 'a', num4: 8 })).ipv4.length, 8);
  });

  test('disabled pools and pools whose nodeSelector does not select the host are skipped', async () => {
    const ds = new MemoryDatastore();
    await createPool(ds, 'off', { cidr: '10.1.0.0/24', disabled: true });
    await createPool(ds, 'rack1', { cidr: '10.2.0.0/24', nodeSelector: "rack == 'r1'" });
    await createPool(ds, 'rack2', { cidr: '10.3.0.0/24', nodeSelector: "rack == 'r2'" });
    await createNode(ds, 'n1', { rack: 'r1' });
    await createNode(ds, 'n2', { rack: 'r2' });
    const ipam = new IpamClient(ds);
    assert.deepEqual((await ipam.autoAssign({ handle: 'x', host: 'n1', num4: 1 })).ipv4, ['10.2.0.0/26']);
    assert.deepEqual((await ipam.autoAssign({ handle: 'y', host: 'n2', num4: 1 })).ipv4, ['10.3.0.0/26']);
    await assert.rejects(
      ipam.autoAssign({ handle: 'z', host: 'unlabelled', num4: 1 }),
      (e: Error) =>
        e instanceof NoAddressesError &&
        /no enabled IPv4 pool selects host "unlabelled"/.test(e.message) &&
        /off \(disabled\)/.test(e.message) &&
        /rack1 \(nodeSelector "rack == 'r1'" does not select the host\)/.test(e.message),
    );
  });

  test('pools: restricts the assignment to the named pools; an unknown name is an error', async () => {
    const { ipam } = await cluster([
      ['a', '10.1.0.0/24'],
      ['b', '10.2.0.0/24'],
    ]);
    assert.deepEqual((await ipam.autoAssign({ handle: 'h', host: 'n', num4: 1, pools: ['b'] })).ipv4, [
      '10.2.0.0/26',
    ]);
    await assert.rejects(
      ipam.autoAssign({ handle: 'h', host: 'n', num4: 1, pools: ['nope'] }),
      /requested pool\(s\) "nope" do not exist/,
    );
  });

  test('no IPv6 pool at all: asking for IPv6 fails and names the family', async () => {
    const { ipam } = await cluster([['p', '10.0.0.0/24']]);
    await assert.rejects(
      ipam.autoAssign({ handle: 'h', host: 'n', num6: 1 }),
      /no enabled IPv6 pool selects host "n"/,
    );
  });

  const badArgs: [string, Parameters<IpamClient['autoAssign']>[0], RegExp][] = [
    ['an empty handle', { handle: '', host: 'n', num4: 1 }, /handle must not be empty/],
    ['a host with a slash', { handle: 'h', host: 'a/b', num4: 1 }, /host "a\/b" must not contain "\/"/],
    ['a negative count', { handle: 'h', host: 'n', num4: -1 }, /num4 must be a whole number/],
  ];
  for (const [what, args, message] of badArgs)
    test(`${what} is refused before anything is written`, async () => {
      const { ds, ipam } = await cluster([['p', '10.0.0.0/24']]);
      const before = await ds.currentRevision();
      await assert.rejects(
        ipam.autoAssign(args),
        (e: Error) => e instanceof IpamError && message.test(e.message),
      );
      assert.equal(await ds.currentRevision(), before);
    });

  test('attributes are stored with each address, with node set to the host', async () => {
    const { ipam } = await cluster([['p', '10.0.0.0/24']]);
    await ipam.autoAssign({
      handle: 'net.c1',
      host: 'n1',
      num4: 1,
      attrs: { pod: 'web', namespace: 'prod' },
    });
    assert.deepEqual(await ipam.lookupIP('10.0.0.0'), {
      state: 'assigned',
      ip: '10.0.0.0',
      block: '10.0.0.0/26',
      blockHost: 'n1',
      handle: 'net.c1',
      attrs: { pod: 'web', namespace: 'prod', node: 'n1' },
    });
  });

  test('many clients racing on one store never hand out an address twice', async () => {
    const { ds } = await cluster([['p', '10.0.0.0/24', 28]]);
    const clients = Array.from({ length: 6 }, () => new IpamClient(ds));
    const results = await Promise.all(
      clients.flatMap((c, i) =>
        Array.from({ length: 10 }, (_, j) =>
          c.autoAssign({ handle: `c${i}-${j}`, host: `host${i % 3}`, num4: 1 }),
        ),
      ),
    );
    const all = results.flatMap((r) => r.ipv4);
    assert.equal(all.length, 60);
    assert.equal(new Set(all).size, 60);
    const report = await new IpamClient(ds).check();
    assert.deepEqual(
      report.problems.filter(
        (p) => p.kind === 'handle-count-mismatch' || p.kind === 'affinity-index-missing',
      ),
      [],
    );
  });
});

describe('assignIP', () => {
  test('assigns a chosen address and creates its block affine to the host', async () => {
    const { ipam } = await cluster([['p', '10.0.0.0/24']]);
    assert.equal(await ipam.assignIP({ ip: '10.0.0.77', handle: 'h', host: 'n' }), '10.0.0.77/26');
    assert.deepEqual(await blockHosts(ipam), { '10.0.0.64/26': 'host:n' });
    assert.deepEqual(await ipam.ipsByHandle('h'), ['10.0.0.77']);
  });

  test('an address held by someone else is refused with its holder named', async () => {
    const { ipam } = await cluster([['p', '10.0.0.0/24']]);
    await ipam.assignIP({ ip: '10.0.0.5', handle: 'first' });
    await assert.rejects(
      ipam.assignIP({ ip: '10.0.0.5', handle: 'second' }),
      (e: Error) => e instanceof AddressInUseError && /assigned to handle "first"/.test(e.message),
    );
    assert.deepEqual(await ipam.ipsByHandle('second'), []);
  });

  test('an address outside every pool is refused', async () => {
    const { ipam } = await cluster([['p', '10.0.0.0/24']]);
    await assert.rejects(
      ipam.assignIP({ ip: '192.168.1.1', handle: 'h' }),
      /192\.168\.1\.1 is not in any IP pool/,
    );
  });

  test('autoAssign skips an address taken by assignIP', async () => {
    const { ipam } = await cluster([['p', '10.0.0.0/24']]);
    await ipam.autoAssign({ handle: 'a', host: 'n', num4: 1 });
    await ipam.assignIP({ ip: '10.0.0.1', handle: 'b' });
    assert.deepEqual((await ipam.autoAssign({ handle: 'c', host: 'n', num4: 1 })).ipv4, ['10.0.0.2/26']);
  });
});

describe('release', () => {
  test('a batch releases what is allocated and reports the rest, without failing', async () => {
    const { ipam } = await cluster([['p', '10.0.0.0/24']]);
    await ipam.autoAssign({ handle: 'h', host: 'n', num4: 2 });
    const r = await ipam.releaseIPs(['10.0.0.1/26', '10.0.0.9', '10.0.0.0', '172.16.0.1']);
    assert.deepEqual(r, { released: ['10.0.0.1', '10.0.0.0'], notAllocated: ['10.0.0.9', '172.16.0.1'] });
    assert.deepEqual(await ipam.ipsByHandle('h'), []);
  });

  test('a release naming a handle leaves an address that another handle holds now', async () => {
    const { ipam } = await cluster([['p', '10.0.0.0/24']]);
    await ipam.assignIP({ ip: '10.0.0.3', handle: 'new-owner' });
    const r = await ipam.releaseIPs([{ ip: '10.0.0.3', handle: 'old-owner' }]);
    assert.deepEqual(r, { released: [], notAllocated: ['10.0.0.3'] });
    assert.equal((await ipam.lookupIP('10.0.0.3')).state, 'assigned');
  });

  test('an unparsable address fails the call before anything is released', async () => {
    const { ipam } = await cluster([['p', '10.0.0.0/24']]);
    await ipam.autoAssign({ handle: 'h', host: 'n', num4: 1 });
    await assert.rejects(ipam.releaseIPs(['10.0.0.0', 'not-an-ip']), /"not-an-ip" is not an IP address/);
    assert.equal((await ipam.lookupIP('10.0.0.0')).state, 'assigned');
  });

  test('releaseByHandle frees every address of the handle, in every block, and is idempotent', async () => {
    const { ipam } = await cluster([['p', '10.0.0.0/24', 29]]);
    await ipam.autoAssign({ handle: 'keep', host: 'n', num4: 2 });
    await ipam.autoAssign({ handle: 'h', host: 'n', num4: 9 });
    assert.equal((await ipam.releaseByHandle('h')).length, 9);
    assert.deepEqual(await ipam.releaseByHandle('h'), []);
    assert.deepEqual(await ipam.releaseByHandle('never-existed'), []);
    assert.deepEqual(await ipam.ipsByHandle('keep'), ['10.0.0.0', '10.0.0.1']);
    assert.equal((await ipam.check()).problems.filter((p) => p.kind === 'handle-count-mismatch').length, 0);
  });

  test("an emptied block keeps its host's affinity until asked to let it go", async () => {
    const { ipam } = await cluster([['p', '10.0.0.0/24']]);
    await ipam.autoAssign({ handle: 'h', host: 'n', num4: 1 });
    await ipam.releaseByHandle('h');
    assert.deepEqual(await blockHosts(ipam), { '10.0.0.0/26': 'host:n' });
    assert.deepEqual(await ipam.releaseEmptyBlocks('n'), ['10.0.0.0/26']);
    assert.deepEqual(await blockHosts(ipam), {});
  });

  test('an emptied block with no host is deleted', async () => {
    const { ipam } = await cluster([['p', '10.0.0.0/24']]);
    await ipam.assignIP({ ip: '10.0.0.9', handle: 'h' });
    assert.deepEqual(await blockHosts(ipam), { '10.0.0.0/26': null });
    await ipam.releaseIPs(['10.0.0.9']);
    assert.deepEqual(await blockHosts(ipam), {});
  });
});

describe('releaseHost (node removal)', () => {
  test("frees the host's addresses everywhere, deletes its empty blocks, and unbinds blocks others still use", async () => {
    const { ds, ipam } = await cluster([['p', '10.0.0.0/28', 29]]);
    await ipam.autoAssign({ handle: 'a1', host: 'a', num4: 7 });
    await ipam.autoAssign({ handle: 'b1', host: 'b', num4: 8 });
    await ipam.autoAssign({ handle: 'b2', host: 'b', num4: 1 }); // borrowed from a's block
    await ipam.autoAssign({ handle: 'a2', host: 'a', num4: 0 });
    const gone = await ipam.releaseHost('a');
    assert.equal(gone.releasedAddresses.length, 7);
    assert.deepEqual(gone.deletedBlocks, []);
    assert.deepEqual(gone.unaffinedBlocks, ['10.0.0.0/29']);
    assert.deepEqual(await blockHosts(ipam), { '10.0.0.0/29': null, '10.0.0.8/29': 'host:b' });
    assert.deepEqual((await ds.list('/calico/ipam/v2/host/a/')).items, []);
    const goneB = await ipam.releaseHost('b');
    assert.equal(goneB.releasedAddresses.length, 9);
    assert.deepEqual(goneB.deletedBlocks.sort(), ['10.0.0.0/29', '10.0.0.8/29']);
    assert.deepEqual(await blockHosts(ipam), {});
    assert.deepEqual((await ds.list('/calico/ipam/v2/')).items, []);
  });
});

describe('pool deletion', () => {
  test('is refused while the pool has allocations, and the pool stays enabled', async () => {
    const { ds, ipam } = await cluster([['p', '10.0.0.0/24']]);
    await ipam.autoAssign({ handle: 'h', host: 'n', num4: 2 });
    await assert.rejects(
      ipam.prepareToDeletePool('p'),
      (e: Error) =>
        e instanceof PoolInUseError &&
        /cannot delete IPPool\(p\): 2 address\(es\) are still allocated from it, in block\(s\) 10\.0\.0\.0\/26 \(2 in use, host n\)/.test(
          e.message,
        ) &&
        /Disable it first/.test(e.message),
    );
    assert.equal((await new ResourceClient(ds).get('IPPool', 'p'))?.spec.disabled, undefined);
  });

  test("is allowed once the pool is empty, and removes the pool's empty blocks and affinities", async () => {
    const { ds, ipam } = await cluster([['p', '10.0.0.0/24']]);
    await ipam.autoAssign({ handle: 'h', host: 'n', num4: 2 });
    await ipam.releaseByHandle('h');
    await ipam.prepareToDeletePool('p');
    assert.deepEqual((await ds.list('/calico/ipam/v2/')).items, []);
  });
});

describe('write races', () => {
  test('a block that keeps changing underneath gives up after the bounded retries with a clear error', async () => {
    const { ds } = await cluster([['p', '10.0.0.0/24']]);
    const hostile: Datastore = Object.create(ds) as Datastore;
    hostile.update = async (key: string, value: string, rev?: number) => {
      if (key.includes('/assignment/')) throw new RevisionConflictError(key, rev ?? 0, (rev ?? 0) + 1);
      return ds.update(key, value, rev);
    };
    const ipam = new IpamClient(hostile, { maxAttempts: 5, sleep: async () => undefined });
    await new IpamClient(ds).autoAssign({ handle: 'first', host: 'n', num4: 1 });
    await assert.rejects(
      ipam.autoAssign({ handle: 'h', host: 'n', num4: 1 }),
      (e: Error) =>
        e instanceof IpamConflictError &&
        /gave up assigning addresses in block 10\.0\.0\.0\/26 after 5 attempts/.test(e.message),
    );
    assert.deepEqual(await new IpamClient(ds).ipsByHandle('h'), []);
    assert.equal((await ds.get('/calico/ipam/v2/handle/h'))?.value, undefined);
  });
});
