/**
 * The FIB driver against a real kernel, in a namespace of its own: routes through the
 * calico-fib-writer coprocess (rtnetlink), and through `ip -batch` when the coprocess is not built.
 * Needs root and a built coprocess (`npm run build:native`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FIB_WRITER_PROGRAM,
  KernelFib,
  NetlinkRouteWriter,
  routeWriterFor,
  type RouteWriter,
} from '../../src/bgp/fib/index.js';
import { ProcessRunner } from '../../src/kernel/runner.js';
import { nativeProgram } from '../../src/programs.js';
import { NetnsLab, requireRootAndTools } from '../support/netns.js';

const ROUTES = 10_000;
/** 11.0.0.0/24, 11.0.1.0/24, ... */
const prefixOf = (i: number) => `11.${(i >> 8) & 255}.${i & 255}.0/24`;

function quietLog(lines: string[] = []) {
  const record = (obj: unknown, msg?: string) => void lines.push(`${msg ?? ''} ${JSON.stringify(obj)}`);
  return { info: record, warn: record } as unknown as Parameters<typeof routeWriterFor>[1]['log'];
}

/** A namespace with 10.0.0.1/24 and fd00::1/64 on a veth, so 10.0.0.2-3 and fd00::2-3 are reachable. */
function routedNamespace(lab: NetnsLab, name: string): string {
  const ns = lab.addNamespace(name);
  lab.exec(ns, 'ip', ['link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth2']);
  lab.exec(ns, 'ip', ['link', 'set', 'eth1', 'up']);
  lab.exec(ns, 'ip', ['link', 'set', 'eth2', 'up']);
  lab.exec(ns, 'ip', ['addr', 'add', '10.0.0.1/24', 'dev', 'eth1']);
  lab.exec(ns, 'ip', ['addr', 'add', 'fd00::1/64', 'dev', 'eth1', 'nodad']);
  return ns;
}

function kernelRoutes(lab: NetnsLab, ns: string, family: 4 | 6 = 4): string[] {
  return lab
    .exec(ns, 'ip', [`-${family}`, 'route', 'show', 'proto', '81'])
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('\t') && !l.startsWith(' '));
}

function routeText(lab: NetnsLab, ns: string, prefix: string): string {
  const family = prefix.includes(':') ? '-6' : '-4';
  return lab.exec(ns, 'ip', [family, 'route', 'show', prefix, 'proto', '81']).replace(/\s+/g, ' ').trim();
}

describe('BGP routes into the kernel through calico-fib-writer', () => {
  let lab: NetnsLab;
  let ns: string;
  let writer: RouteWriter;
  let fib: KernelFib;
  const logLines: string[] = [];

  before(() => {
    requireRootAndTools(['ip']);
    if (nativeProgram(FIB_WRITER_PROGRAM) === undefined)
      throw new Error(`dist/native/${FIB_WRITER_PROGRAM} is missing: run npm run build:native first`);
    lab = new NetnsLab();
    ns = routedNamespace(lab, 'fib');
    writer = routeWriterFor(new ProcessRunner(ns), { log: quietLog(logLines) });
    fib = new KernelFib(new ProcessRunner(ns), { writer });
  });
  after(async () => {
    await fib?.close();
    lab?.cleanup();
  });

  test('the coprocess is chosen, and the choice is logged', () => {
    assert.equal(fib.writerKind, 'netlink');
    assert.ok(logLines.some((l) => l.includes('calico-fib-writer (rtnetlink)')));
  });

  test('10k routes, an IPv4 and an IPv6 ECMP route land; a route via an unreachable gateway is refused alone', async () => {
    for (let i = 0; i < ROUTES; i++) fib.set(prefixOf(i), ['10.0.0.2']);
    fib.set('12.0.0.0/24', ['10.0.0.3', '10.0.0.2']);
    fib.set('fd01::/64', ['fd00::2', 'fd00::3']);
    fib.set('13.0.0.0/24', ['192.168.9.9']);
    const report = await fib.sync();
    assert.equal(report.resyncNeeded, false);
    assert.equal(report.changed, ROUTES + 2);
    assert.equal(report.errors.length, 1, report.errors.join('\n'));
    assert.match(report.errors[0] ?? '', /13\.0\.0\.0\/24 via 192\.168\.9\.9: .*unreachable/i);
    assert.equal(kernelRoutes(lab, ns).length, ROUTES + 1);
    assert.equal(routeText(lab, ns, '11.0.7.0/24'), '11.0.7.0/24 via 10.0.0.2 dev eth1');
    assert.match(
      routeText(lab, ns, '12.0.0.0/24'),
      /^12\.0\.0\.0\/24 nexthop via 10\.0\.0\.2 .* nexthop via 10\.0\.0\.3 /,
    );
    assert.match(routeText(lab, ns, 'fd01::/64'), /nexthop via fd00::2 .* nexthop via fd00::3 /);
    assert.equal(routeText(lab, ns, '13.0.0.0/24'), '');
  });

  test('a route is replaced in place, and a withdrawn one deleted', async () => {
    fib.set(prefixOf(1), ['10.0.0.3']);
    fib.set('12.0.0.0/24', ['10.0.0.2']);
    fib.delete(prefixOf(2));
    fib.delete('fd01::/64');
    const report = await fib.sync();
    assert.deepEqual(report, { changed: 4, errors: [], resyncNeeded: false });
    assert.equal(routeText(lab, ns, prefixOf(1)), `${prefixOf(1)} via 10.0.0.3 dev eth1`);
    assert.equal(routeText(lab, ns, '12.0.0.0/24'), '12.0.0.0/24 via 10.0.0.2 dev eth1');
    assert.equal(routeText(lab, ns, prefixOf(2)), '');
    assert.deepEqual(kernelRoutes(lab, ns, 6), []);
  });

  test('reading the kernel back gives what was written', async () => {
    const read = await fib.readKernel();
    assert.equal(read.size, ROUTES);
    assert.deepEqual(read.get(prefixOf(1)), ['10.0.0.3']);
    assert.equal(read.has(prefixOf(2)), false);
  });

  test('the coprocess killed is restarted, and a full sync puts back what changed meanwhile', async () => {
    const netlink = writer as NetlinkRouteWriter;
    const pid = netlink.pid;
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGKILL');
    while (netlink.pid !== undefined) await new Promise((r) => setTimeout(r, 10));
    // Meanwhile someone removes two of our routes and changes a third.
    lab.exec(ns, 'ip', ['route', 'del', prefixOf(5), 'proto', '81']);
    lab.exec(ns, 'ip', ['route', 'del', prefixOf(6), 'proto', '81']);
    lab.exec(ns, 'ip', ['route', 'replace', prefixOf(7), 'via', '10.0.0.3', 'proto', '81']);
    fib.set('14.0.0.0/24', ['10.0.0.2']);
    const first = await fib.sync();
    assert.equal(first.resyncNeeded, true, 'the restart is reported, so the speaker resyncs');
    assert.equal(routeText(lab, ns, '14.0.0.0/24'), '14.0.0.0/24 via 10.0.0.2 dev eth1');
    const full = await fib.sync(true);
    assert.equal(full.resyncNeeded, false);
    assert.equal(full.changed, 3);
    assert.equal(netlink.starts, 2);
    assert.notEqual(netlink.pid, pid);
    assert.equal(kernelRoutes(lab, ns).length, ROUTES + 1);
    assert.equal(routeText(lab, ns, prefixOf(7)), `${prefixOf(7)} via 10.0.0.2 dev eth1`);
  });

  test('the coprocess exits when the FIB closes, leaving the routes in place', async () => {
    const netlink = writer as NetlinkRouteWriter;
    const pid = netlink.pid as number;
    await fib.close();
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    assert.equal(kernelRoutes(lab, ns).length, ROUTES + 1);
  });
});

describe('calico-fib-writer when the kernel drops its answers (ENOBUFS)', () => {
  let lab: NetnsLab;
  let ns: string;

  before(() => {
    requireRootAndTools(['ip']);
    lab = new NetnsLab();
    ns = routedNamespace(lab, 'fibnobufs');
  });
  after(() => lab?.cleanup());

  test('lost answers make the state unknown, and the next sync reads the kernel back', async () => {
    const program = nativeProgram(FIB_WRITER_PROGRAM);
    if (program === undefined)
      throw new Error(`dist/native/${FIB_WRITER_PROGRAM} is missing: run npm run build:native`);
    // A 4 KiB receive buffer holds a few refusals only: the kernel drops the rest.
    const writer = new NetlinkRouteWriter({
      command: ['ip', 'netns', 'exec', ns, program, '--rcvbuf', '4096'],
      log: quietLog(),
    });
    const fib = new KernelFib(new ProcessRunner(ns), { writer, ipv6: false });
    try {
      const refused = Array.from({ length: 3000 }, (_, i) => `13.${i >> 8}.${i & 255}.0/24`);
      for (const p of refused) fib.set(p, ['192.168.9.9']);
      fib.set('14.0.0.0/24', ['10.0.0.2']);
      const lost = await fib.sync();
      assert.equal(lost.resyncNeeded, true);
      assert.ok(
        lost.errors.some((e) => /lost kernel answers/.test(e)),
        lost.errors.join('\n'),
      );
      assert.equal(fib.knowsKernel, false);
      assert.equal(routeText(lab, ns, '14.0.0.0/24'), '14.0.0.0/24 via 10.0.0.2 dev eth1');
      for (const p of refused) fib.delete(p);
      const again = await fib.sync();
      assert.deepEqual(again, { changed: 0, errors: [], resyncNeeded: false });
      assert.equal(fib.knowsKernel, true, 'read back');
    } finally {
      await fib.close();
    }
  });
});

describe('BGP routes into the kernel through ip -batch when calico-fib-writer is not built', () => {
  let lab: NetnsLab;
  let ns: string;

  before(() => {
    requireRootAndTools(['ip']);
    lab = new NetnsLab();
    ns = routedNamespace(lab, 'fibip');
  });
  after(() => lab?.cleanup());

  test('routes land, a refused one is reported by name, and the choice is logged', async () => {
    const lines: string[] = [];
    const runner = new ProcessRunner(ns);
    const fib = new KernelFib(runner, {
      writer: routeWriterFor(runner, { log: quietLog(lines), findProgram: () => undefined }),
    });
    assert.equal(fib.writerKind, 'ip-batch');
    assert.ok(lines.some((l) => l.includes('ip -batch') && l.includes('not built')));
    for (let i = 0; i < 100; i++) fib.set(prefixOf(i), ['10.0.0.2']);
    fib.set('12.0.0.0/24', ['10.0.0.2', '10.0.0.3']);
    fib.set('13.0.0.0/24', ['192.168.9.9']);
    const report = await fib.sync();
    assert.equal(report.errors.length, 1, report.errors.join('\n'));
    assert.match(report.errors[0] ?? '', /13\.0\.0\.0\/24 via 192\.168\.9\.9/);
    assert.equal(kernelRoutes(lab, ns).length, 101);
    assert.match(routeText(lab, ns, '12.0.0.0/24'), /nexthop via 10\.0\.0\.2 .* nexthop via 10\.0\.0\.3 /);
    fib.delete(prefixOf(0));
    assert.deepEqual(await fib.sync(), { changed: 1, errors: [], resyncNeeded: false });
    assert.equal(kernelRoutes(lab, ns).length, 100);
  });
});
