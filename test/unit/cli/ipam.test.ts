import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteDatastore } from '../../../src/datastore/sqlite.js';
import { IpamClient } from '../../../src/ipam/index.js';
import { ctlSandbox, tableRows, type CtlSandbox } from '../../support/calicoctl.js';

const POOL_AND_NODES = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-a}
spec: {cidr: 10.77.0.0/24}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node-1}
spec: {}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node-2}
spec: {}
`;

/** Runs IPAM calls against the sandbox's store, as the CNI plugin would from another process. */
async function withIpam<T>(sb: CtlSandbox, fn: (ipam: IpamClient) => Promise<T>): Promise<T> {
  const ds = await SqliteDatastore.open(sb.env.SQLITE_PATH as string);
  try {
    return await fn(new IpamClient(ds));
  } finally {
    await ds.close();
  }
}

describe('calicoctl ipam', () => {
  let sb: CtlSandbox;
  before(async () => {
    sb = ctlSandbox();
    assert.equal((await sb.ctlIn(POOL_AND_NODES, 'create', '-f', '-')).code, 0);
    await withIpam(sb, async (ipam) => {
      await ipam.autoAssign({
        handle: 'net.c1',
        host: 'node-1',
        num4: 3,
        attrs: { pod: 'web', namespace: 'prod' },
      });
      await ipam.autoAssign({ handle: 'net.c2', host: 'node-2', num4: 1 });
    });
  });
  after(() => sb.cleanup());

  test('show prints per pool the addresses in use and free, and the number of blocks', async () => {
    const r = await sb.ctl('ipam', 'show');
    assert.equal(r.code, 0);
    assert.deepEqual(tableRows(r.out), [
      ['GROUPING', 'CIDR', 'IPS TOTAL', 'IPS IN USE', 'IPS FREE', 'BLOCKS'],
      ['IP Pool', '10.77.0.0/24', '256', '4 (2%)', '252 (98%)', '2'],
    ]);
  });

  test('show --show-blocks adds one row per block with its host', async () => {
    const r = await sb.ctl('ipam', 'show', '--show-blocks');
    assert.equal(r.code, 0);
    const lines = r.out.trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => l.split(/ {2,}/)),
      [
        ['GROUPING', 'CIDR', 'IPS TOTAL', 'IPS IN USE', 'IPS FREE', 'BLOCKS', 'AFFINITY'],
        ['IP Pool', '10.77.0.0/24', '256', '4 (2%)', '252 (98%)', '2'],
        ['Block', '10.77.0.0/26', '64', '3 (5%)', '61 (95%)', 'host:node-1'],
        ['Block', '10.77.0.64/26', '64', '1 (2%)', '63 (98%)', 'host:node-2'],
      ],
    );
    assert.equal(lines[2]?.indexOf('host:node-1'), lines[0]?.indexOf('AFFINITY'));
  });

  test('show --ip names the holder: block, handle and attributes', async () => {
    const r = await sb.ctl('ipam', 'show', '--ip=10.77.0.1');
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      [
        'IP 10.77.0.1 is in use',
        'Block: 10.77.0.0/26 (affine to host node-1)',
        'Handle: net.c1',
        'Attributes:',
        '  namespace: prod',
        '  node: node-1',
        '  pod: web',
        '',
      ].join('\n'),
    );
  });

  const lookups: [string, string][] = [
    ['10.77.0.9', 'IP 10.77.0.9 is not assigned (pool pool-a, block 10.77.0.0/26)\n'],
    ['10.77.0.200', 'IP 10.77.0.200 is not assigned (pool pool-a, in no claimed block yet)\n'],
    ['192.168.0.1', 'IP 192.168.0.1 is not in any IP pool\n'],
  ];
  for (const [ip, out] of lookups)
    test(`show --ip=${ip} says why nobody holds it`, async () => {
      const r = await sb.ctl('ipam', 'show', '--ip', ip);
      assert.deepEqual(r, { code: 0, out, err: '' });
    });

  test('show --ip with something that is not an address fails with a message', async () => {
    const r = await sb.ctl('ipam', 'show', '--ip=bogus');
    assert.equal(r.code, 1);
    assert.match(r.err, /"bogus" is not an IP address/);
  });

  test('check reports addresses that no workload endpoint uses, and changes nothing', async () => {
    const revision = () => withIpam(sb, (ipam) => ipam.datastore.currentRevision());
    const before = await revision();
    const r = await sb.ctl('ipam', 'check');
    assert.equal(await revision(), before);
    assert.equal(r.code, 0);
    const lines = r.out.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 3), [
      'Checking IPAM for inconsistencies...',
      'Found 2 IPAM block(s), 4 address(es) in use, 2 handle(s).',
      'Found 4 problem(s):',
    ]);
    assert.match(lines[3] ?? '', /leaked address 10\.77\.0\.0 in block 10\.77\.0\.0\/26 \(handle net\.c1\)/);
    assert.equal(tableRows((await sb.ctl('ipam', 'show')).out)[1]?.[3], '4 (2%)');
  });

  test('deleting a pool that still has allocations is refused and the pool stays', async () => {
    const r = await sb.ctl('delete', 'ippool', 'pool-a');
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /cannot delete IPPool\(pool-a\): 4 address\(es\) are still allocated from it, in block\(s\) 10\.77\.0\.0\/26 \(3 in use, host node-1\), 10\.77\.0\.64\/26 \(1 in use, host node-2\)\. Disable it first/,
    );
    const pool = await sb.ctl('get', 'ippool', 'pool-a', '-o', 'json');
    assert.equal(JSON.parse(pool.out).spec.disabled, undefined);
  });

  test('deleting it from a file is refused the same way, and nothing in the file is deleted', async () => {
    const file = join(sb.dir, 'pool.yaml');
    writeFileSync(file, POOL_AND_NODES);
    const r = await sb.ctl('delete', '-f', file);
    assert.equal(r.code, 1);
    assert.match(r.err, /Failed to delete any resources: cannot delete IPPool\(pool-a\)/);
    assert.equal(tableRows((await sb.ctl('get', 'node')).out).length, 3);
  });

  test('release --ip releases what is allocated and reports what is not (exit 1)', async () => {
    const r = await sb.ctl('ipam', 'release', '--ip=10.77.0.1', '--ip=10.77.0.7');
    assert.deepEqual(r, {
      code: 1,
      out: 'Successfully released IP address 10.77.0.1\n',
      err: 'IP address 10.77.0.7 is not assigned; nothing to release\n',
    });
  });

  test('release --handle frees the rest of the handle and is idempotent', async () => {
    const first = await sb.ctl('ipam', 'release', '--handle=net.c1');
    assert.deepEqual(first, {
      code: 0,
      out: 'Successfully released 2 IP address(es) of handle net.c1: 10.77.0.0, 10.77.0.2\n',
      err: '',
    });
    const again = await sb.ctl('ipam', 'release', '--handle=net.c1');
    assert.equal(again.out, 'Handle net.c1 holds no addresses; nothing to release\n');
    assert.equal(again.code, 0);
  });

  test('release needs exactly one of --ip, --handle, --host', async () => {
    for (const args of [[], ['--ip=10.77.0.1', '--handle=x']]) {
      const r = await sb.ctl('ipam', 'release', ...args);
      assert.equal(r.code, 1);
      assert.match(r.err, /needs exactly one of --ip=IP, --handle=HANDLE or --host=HOST/);
    }
  });

  test("deleting a node releases the host's addresses and blocks", async () => {
    const r = await sb.ctl('delete', 'node', 'node-2');
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      "Released 1 IP address(es) and 1 block(s) of node node-2\nSuccessfully deleted 1 'Node' resource(s)\n",
    );
    const blocks = await sb.ctl('ipam', 'show', '--show-blocks');
    assert.deepEqual(
      tableRows(blocks.out).map((row) => row[1]),
      ['CIDR', '10.77.0.0/24', '10.77.0.0/26'],
    );
  });

  test('check finds nothing once the leaks are released and every block has its node', async () => {
    const r = await sb.ctl('ipam', 'check');
    assert.equal(r.out.trimEnd().split('\n').at(-1), 'No problems found.');
  });

  test('an empty pool can be deleted; its empty blocks go with it', async () => {
    const r = await sb.ctl('delete', 'ippool', 'pool-a');
    assert.equal(r.code, 0);
    assert.equal(
      (await sb.ctl('ipam', 'show')).out,
      'No IP pools (calicoctl create -f pool.yaml adds one)\n',
    );
    assert.equal((await sb.ctl('ipam', 'check')).out.includes('Found 0 IPAM block(s)'), true);
  });

  test('configure shows and sets strictAffinity', async () => {
    assert.equal(
      (await sb.ctl('ipam', 'configure')).out,
      'StrictAffinity: false\nAutoAllocateBlocks: true\n',
    );
    assert.equal(
      (await sb.ctl('ipam', 'configure', '--strictaffinity=true')).out,
      'StrictAffinity: true\nAutoAllocateBlocks: true\n',
    );
    const bad = await sb.ctl('ipam', 'configure', '--strictaffinity=yes');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--strictaffinity must be true or false, not "yes"/);
  });
});

describe('calicoctl ipam with an IPv6 pool and a host without a node', () => {
  let sb: CtlSandbox;
  before(async () => {
    sb = ctlSandbox();
    const pool = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-v6}
spec: {cidr: 'fd00:77::/64'}
`;
    assert.equal((await sb.ctlIn(pool, 'create', '-f', '-')).code, 0);
    await withIpam(sb, (ipam) => ipam.autoAssign({ handle: 'net.c9', host: 'ghost', num6: 2 }));
  });
  after(() => sb.cleanup());

  test('show counts a /64 exactly, beyond 2^53', async () => {
    assert.deepEqual(tableRows((await sb.ctl('ipam', 'show')).out)[1], [
      'IP Pool',
      'fd00:77::/64',
      '18446744073709551616',
      '2 (0%)',
      '18446744073709551614 (100%)',
      '1',
    ]);
  });

  test('check names the block of a host that has no node, and release --host clears it', async () => {
    const before = await sb.ctl('ipam', 'check');
    assert.match(before.out, /block fd00:77::\/122 is affine to host ghost, which has no Node resource/);
    const r = await sb.ctl('ipam', 'release', '--host=ghost');
    assert.deepEqual(r, {
      code: 0,
      out: "Released host ghost: 2 IP address(es), 1 block(s) deleted, 0 block(s) kept without affinity (other hosts' addresses remain in them)\n",
      err: '',
    });
    assert.equal((await sb.ctl('ipam', 'check')).out.trimEnd().split('\n').at(-1), 'No problems found.');
  });
});
