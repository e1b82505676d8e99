import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BGP_ROUTE_PROTO,
  KernelFib,
  parseKernelRoutes,
  planRouteOp,
  routeReplaceLine,
} from '../../../../src/bgp/fib/index.js';
import { FakeKernel } from '../speaker/fake-kernel.js';

describe('route lines', () => {
  const TABLE = [
    {
      name: 'one next hop is a plain gateway route',
      route: { prefix: '10.65.1.0/26', nextHops: ['10.0.0.2'] },
      line: 'route replace 10.65.1.0/26 via 10.0.0.2 proto 81',
    },
    {
      name: 'several next hops make one ECMP route',
      route: { prefix: '10.65.1.0/26', nextHops: ['10.0.0.2', '10.0.0.3'] },
      line: 'route replace 10.65.1.0/26 proto 81 nexthop via 10.0.0.2 nexthop via 10.0.0.3',
    },
    {
      name: 'IPv6 routes look the same',
      route: { prefix: 'fd00:65::/122', nextHops: ['fd00::2'] },
      line: 'route replace fd00:65::/122 via fd00::2 proto 81',
    },
  ];
  for (const row of TABLE) test(row.name, () => assert.equal(routeReplaceLine(row.route), row.line));

  test('our protocol number is 81, not Felix’s 80', () => assert.equal(BGP_ROUTE_PROTO, 81));
});

describe('planRouteOp: what a prefix needs', () => {
  const TABLE = [
    {
      name: 'a new prefix is installed',
      want: ['10.0.0.2'],
      have: undefined,
      op: { kind: 'replace', prefix: '10.65.1.0/26', nextHops: ['10.0.0.2'] },
    },
    { name: 'an unchanged prefix is left alone', want: ['10.0.0.2'], have: ['10.0.0.2'], op: undefined },
    {
      name: 'a second next hop turns the route into ECMP',
      want: ['10.0.0.2', '10.0.0.3'],
      have: ['10.0.0.2'],
      op: { kind: 'replace', prefix: '10.65.1.0/26', nextHops: ['10.0.0.2', '10.0.0.3'] },
    },
    {
      name: 'a prefix no longer wanted is deleted',
      want: undefined,
      have: ['10.0.0.2'],
      op: { kind: 'delete', prefix: '10.65.1.0/26' },
    },
    {
      name: 'a prefix neither wanted nor there needs nothing',
      want: undefined,
      have: undefined,
      op: undefined,
    },
    { name: 'an empty next-hop list means not wanted', want: [], have: undefined, op: undefined },
  ];
  for (const row of TABLE)
    test(row.name, () => assert.deepEqual(planRouteOp('10.65.1.0/26', row.want, row.have), row.op));
});

test('parseKernelRoutes reads single-gateway, multipath and host routes from ip -j', () => {
  const json = JSON.stringify([
    { dst: '10.65.1.0/26', gateway: '10.0.0.2', dev: 'eth1', protocol: '81', flags: [] },
    {
      dst: '10.65.2.0/26',
      protocol: '81',
      flags: [],
      nexthops: [
        { gateway: '10.0.0.3', dev: 'eth1', weight: 1, flags: [] },
        { gateway: '10.0.0.2', dev: 'eth1', weight: 1, flags: [] },
      ],
    },
    { dst: '10.66.0.7', gateway: '10.0.0.3', dev: 'eth1', protocol: '81', flags: [] },
  ]);
  assert.deepEqual(
    [...parseKernelRoutes(json)],
    [
      ['10.65.1.0/26', ['10.0.0.2']],
      ['10.65.2.0/26', ['10.0.0.2', '10.0.0.3']],
      ['10.66.0.7/32', ['10.0.0.3']],
    ],
  );
});

describe('KernelFib', () => {
  test('the first sync reads the kernel, then removes leftovers and installs what is wanted', async () => {
    const kernel = new FakeKernel();
    kernel.routes.set('10.99.0.0/26', ['10.0.0.9']);
    const fib = new KernelFib(kernel);
    fib.set('10.65.1.0/26', ['10.0.0.3', '10.0.0.2']);
    const report = await fib.sync();
    assert.deepEqual(report, { changed: 2, errors: [], resyncNeeded: false });
    assert.deepEqual([...kernel.routes], [['10.65.1.0/26', ['10.0.0.2', '10.0.0.3']]]);
  });

  test('later syncs write only the changed prefixes, in one batch, without reading the kernel', async () => {
    const kernel = new FakeKernel();
    const fib = new KernelFib(kernel, { ipv6: false });
    fib.set('10.65.1.0/26', ['10.0.0.2']);
    fib.set('10.65.2.0/26', ['10.0.0.3']);
    await fib.sync();
    const reads = kernel.reads;
    fib.set('10.65.2.0/26', ['10.0.0.3', '10.0.0.4']);
    fib.delete('10.65.1.0/26');
    fib.set('10.65.3.0/26', []);
    const report = await fib.sync();
    assert.equal(kernel.reads, reads, 'no read between full syncs');
    assert.equal(report.changed, 2);
    assert.deepEqual(kernel.batches.at(-1), [
      'route replace 10.65.2.0/26 proto 81 nexthop via 10.0.0.3 nexthop via 10.0.0.4',
      'route del 10.65.1.0/26 proto 81',
    ]);
  });

  test('a full sync puts back a route someone deleted', async () => {
    const kernel = new FakeKernel();
    const fib = new KernelFib(kernel, { ipv6: false });
    fib.set('10.65.1.0/26', ['10.0.0.2']);
    await fib.sync();
    kernel.routes.clear();
    assert.equal((await fib.sync()).changed, 0, 'an incremental sync trusts its cache');
    assert.equal((await fib.sync(true)).changed, 1);
    assert.deepEqual([...kernel.routes], [['10.65.1.0/26', ['10.0.0.2']]]);
  });

  test('removeAll deletes every route of ours', async () => {
    const kernel = new FakeKernel();
    const fib = new KernelFib(kernel);
    fib.set('10.65.1.0/26', ['10.0.0.2']);
    fib.set('fd00:65::/122', ['fd00::2']);
    await fib.sync();
    assert.equal(kernel.routes.size, 2);
    await fib.removeAll();
    assert.equal(kernel.routes.size, 0);
  });
});

describe('KernelFib by key and in flight', () => {
  test('setKey and deleteKey with the RIB key of a prefix do what set and delete do with its text', async () => {
    const kernel = new FakeKernel();
    const fib = new KernelFib(kernel, { ipv6: false });
    // The RIB's key of 10.65.1.0/26: 2^26 + (address >>> 6).
    const key = 2 ** 26 + ((10 << 24) + (65 << 16) + (1 << 8)) / 64;
    fib.setKey(key, ['10.0.0.3', '10.0.0.2']);
    fib.set('10.65.2.0/26', ['10.0.0.2']);
    await fib.sync();
    assert.deepEqual(kernel.routes.get('10.65.1.0/26'), ['10.0.0.2', '10.0.0.3']);
    fib.deleteKey(key);
    await fib.sync();
    assert.equal(kernel.routes.has('10.65.1.0/26'), false);
    assert.deepEqual([...kernel.routes.keys()], ['10.65.2.0/26']);
  });

  test('writesInFlight counts unanswered writes, and writeAnswered resolves when one is answered', async () => {
    const answers: (() => void)[] = [];
    const writer = {
      kind: 'netlink' as const,
      ordered: true,
      readRoutes: () => Promise.resolve(new Map<string, readonly string[]>()),
      write: () => new Promise<{ failed: [] }>((resolve) => answers.push(() => resolve({ failed: [] }))),
      close: () => Promise.resolve(),
    };
    const fib = new KernelFib(new FakeKernel(), { ipv6: false, writer });
    await fib.writeAnswered(); // none in flight: at once
    await fib.sync(); // reads the (empty) kernel, so pushes may go
    fib.set('10.65.1.0/26', ['10.0.0.2']);
    assert.equal(fib.push(), 1);
    fib.set('10.65.2.0/26', ['10.0.0.2']);
    assert.equal(fib.push(), 1);
    assert.equal(fib.writesInFlight, 2);
    let answered = false;
    const waiting = fib.writeAnswered().then(() => (answered = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(answered, false, 'nothing answered yet');
    answers.shift()?.();
    await waiting;
    assert.equal(fib.writesInFlight, 1);
  });
});
