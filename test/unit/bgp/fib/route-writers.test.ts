import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IpBatchRouteWriter,
  KernelFib,
  parseIpBatchFailures,
  routeWriterFor,
  type FibFamily,
  type RouteOp,
  type RouteWriteResult,
  type RouteWriter,
} from '../../../../src/bgp/fib/index.js';
import type { CommandResult, CommandRunner, RunOptions } from '../../../../src/kernel/runner.js';
import { ProcessRunner } from '../../../../src/kernel/runner.js';

/** A writer over an in-memory table that refuses routes via `refusedHop`, and can lose track. */
class FakeWriter implements RouteWriter {
  readonly kind = 'netlink' as const;
  readonly ordered = true;
  /** When set, answers wait until `release()`. */
  hold = false;
  private held: (() => void)[] = [];
  readonly table = new Map<string, readonly string[]>();
  readonly writes: RouteOp[][] = [];
  reads = 0;
  refusedHop = '192.168.9.9';
  loseTrack = false;

  readRoutes(family: FibFamily): Promise<Map<string, readonly string[]>> {
    this.reads++;
    return Promise.resolve(new Map([...this.table].filter(([p]) => p.includes(':') === (family === 6))));
  }

  write(ops: readonly RouteOp[]): Promise<RouteWriteResult> {
    this.writes.push([...ops]);
    const failed = [];
    for (const op of ops) {
      if (op.kind === 'delete') {
        if (!this.table.delete(op.prefix)) failed.push({ op, errno: 3, error: 'No such process' });
      } else if (op.nextHops.includes(this.refusedHop)) {
        failed.push({ op, errno: 101, error: 'Network is unreachable' });
      } else {
        this.table.set(op.prefix, op.nextHops);
      }
    }
    const result = this.loseTrack ? { failed, unknown: 'answers lost' } : { failed };
    if (!this.hold) return Promise.resolve(result);
    return new Promise((resolve) => this.held.push(() => resolve(result)));
  }

  release(): void {
    this.hold = false;
    for (const answer of this.held.splice(0)) answer();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const noRunner: CommandRunner = {
  run: () => Promise.reject(new Error('the FIB must use its writer, not the runner')),
};

describe('KernelFib over a route writer', () => {
  test('a route the kernel refuses is reported alone; the rest of the batch lands', async () => {
    const writer = new FakeWriter();
    const fib = new KernelFib(noRunner, { ipv6: false, writer });
    fib.set('10.65.1.0/26', ['10.0.0.2']);
    fib.set('10.65.2.0/26', ['192.168.9.9']);
    fib.set('10.65.3.0/26', ['10.0.0.2', '10.0.0.3']);
    const report = await fib.sync();
    assert.equal(report.changed, 2);
    assert.equal(report.resyncNeeded, false);
    assert.equal(report.errors.length, 1);
    assert.match(report.errors[0] ?? '', /10\.65\.2\.0\/26 via 192\.168\.9\.9: Network is unreachable/);
    assert.deepEqual(
      [...writer.table],
      [
        ['10.65.1.0/26', ['10.0.0.2']],
        ['10.65.3.0/26', ['10.0.0.2', '10.0.0.3']],
      ],
    );
  });

  test('a refused prefix is rewritten on its next change, even when the change is a withdrawal', async () => {
    const writer = new FakeWriter();
    const fib = new KernelFib(noRunner, { ipv6: false, writer });
    fib.set('10.65.2.0/26', ['192.168.9.9']);
    await fib.sync();
    fib.delete('10.65.2.0/26');
    const report = await fib.sync();
    assert.deepEqual(writer.writes.at(-1), [{ kind: 'delete', prefix: '10.65.2.0/26' }]);
    assert.deepEqual(report.errors, [], 'a delete of a route that is not there (ESRCH) meets the goal');
  });

  test('a refused prefix set again to the same next hops is rewritten; an incremental sync leaves it, a full one retries', async () => {
    const writer = new FakeWriter();
    const fib = new KernelFib(noRunner, { ipv6: false, writer });
    fib.set('10.65.2.0/26', ['10.0.0.2']);
    writer.refusedHop = '10.0.0.2';
    await fib.sync();
    writer.refusedHop = '192.168.9.9';
    const writes = writer.writes.length;
    await fib.sync();
    assert.equal(writer.writes.length, writes, 'a refused route waits for its next change or a full sync');
    fib.set('10.65.2.0/26', ['10.0.0.2']);
    await fib.sync();
    assert.deepEqual([...writer.table], [['10.65.2.0/26', ['10.0.0.2']]]);
    writer.table.clear();
    writer.refusedHop = '10.0.0.2';
    fib.set('10.65.2.0/26', ['10.0.0.3']);
    fib.set('10.65.2.0/26', ['10.0.0.2']);
    await fib.sync();
    writer.refusedHop = '192.168.9.9';
    await fib.sync(true);
    assert.deepEqual([...writer.table], [['10.65.2.0/26', ['10.0.0.2']]]);
  });

  test('a prefix changed and changed back before a send costs no write', async () => {
    const writer = new FakeWriter();
    const fib = new KernelFib(noRunner, { ipv6: false, writer });
    fib.set('10.65.1.0/26', ['10.0.0.2']);
    await fib.sync();
    const writes = writer.writes.length;
    fib.set('10.65.1.0/26', ['10.0.0.3']);
    fib.set('10.65.1.0/26', ['10.0.0.2']);
    fib.set('10.65.9.0/26', ['10.0.0.2']);
    fib.delete('10.65.9.0/26');
    const report = await fib.sync();
    assert.equal(report.changed, 0);
    assert.equal(writer.writes.length, writes);
    assert.deepEqual(fib.routes(), [{ prefix: '10.65.1.0/26', nextHops: ['10.0.0.2'] }]);
  });

  test('a new prefix changed before it was sent goes out once, with its last next hops; one withdrawn before it was sent costs nothing', async () => {
    const writer = new FakeWriter();
    const fib = new KernelFib(noRunner, { ipv6: false, writer });
    await fib.sync();
    fib.set('10.65.1.0/26', ['10.0.0.2']);
    fib.set('10.65.1.0/26', ['10.0.0.3', '10.0.0.2']);
    fib.set('10.65.2.0/26', ['10.0.0.2']);
    fib.delete('10.65.2.0/26');
    assert.deepEqual(fib.routes(), [{ prefix: '10.65.1.0/26', nextHops: ['10.0.0.2', '10.0.0.3'] }]);
    assert.equal(fib.push(), 1);
    await fib.sync();
    assert.deepEqual(writer.writes.at(-1), [
      { kind: 'replace', prefix: '10.65.1.0/26', nextHops: ['10.0.0.2', '10.0.0.3'] },
    ]);
    fib.set('10.65.1.0/26', ['10.0.0.2', '10.0.0.3']);
    assert.equal(fib.push(), 0, 'the same next hops again: nothing to send');
  });

  test('a new prefix not yet sent when the kernel is read back is installed by that full sync', async () => {
    const writer = new FakeWriter();
    const fib = new KernelFib(noRunner, { ipv6: false, writer });
    await fib.sync();
    fib.set('10.65.1.0/26', ['10.0.0.2']);
    writer.table.set('10.99.0.0/26', ['10.0.0.9']);
    const report = await fib.sync(true);
    assert.equal(report.changed, 2);
    assert.deepEqual([...writer.table], [['10.65.1.0/26', ['10.0.0.2']]]);
  });

  test('push with a limit sends the oldest changes first and leaves the rest for the next push or sync', async () => {
    const writer = new FakeWriter();
    const fib = new KernelFib(noRunner, { ipv6: false, writer });
    await fib.sync();
    for (let i = 1; i <= 5; i++) fib.set(`10.65.${i}.0/26`, ['10.0.0.2']);
    assert.equal(fib.unsent, 5);
    assert.equal(fib.push(2), 2);
    assert.equal(fib.unsent, 3);
    assert.equal(fib.push(2), 2);
    fib.set('10.65.9.0/26', ['10.0.0.2']);
    await fib.sync();
    assert.equal(fib.unsent, 0);
    assert.deepEqual(
      writer.writes.slice(-3).map((w) => w.map((op) => op.prefix)),
      [
        ['10.65.1.0/26', '10.65.2.0/26'],
        ['10.65.3.0/26', '10.65.4.0/26'],
        ['10.65.5.0/26', '10.65.9.0/26'],
      ],
    );
  });

  test('when the writer loses track, the report asks for a full sync and the next sync reads the kernel', async () => {
    const writer = new FakeWriter();
    const fib = new KernelFib(noRunner, { ipv6: false, writer });
    fib.set('10.65.1.0/26', ['10.0.0.2']);
    writer.loseTrack = true;
    const lost = await fib.sync();
    assert.equal(lost.resyncNeeded, true);
    assert.deepEqual(lost.errors, ['answers lost']);
    writer.loseTrack = false;
    writer.table.clear();
    const reads = writer.reads;
    const next = await fib.sync();
    assert.equal(writer.reads, reads + 1, 'the next sync reads the kernel back');
    assert.equal(next.resyncNeeded, false);
    assert.deepEqual([...writer.table], [['10.65.1.0/26', ['10.0.0.2']]]);
  });

  test('thousands of refused routes make a short report', async () => {
    const writer = new FakeWriter();
    const fib = new KernelFib(noRunner, { ipv6: false, writer });
    for (let i = 0; i < 5000; i++) fib.set(`11.${i >> 8}.${i & 255}.0/24`, ['192.168.9.9']);
    const report = await fib.sync();
    assert.equal(report.errors.length, 21);
    assert.equal(report.errors.at(-1), 'and 4980 more routes refused');
  });

  test('push sends each change at once, without waiting for the answers to earlier ones', async () => {
    const writer = new FakeWriter();
    const fib = new KernelFib(noRunner, { ipv6: false, writer });
    await fib.readKernel();
    writer.hold = true;
    fib.set('10.65.1.0/26', ['10.0.0.2']);
    assert.equal(fib.push(), 1);
    fib.set('10.65.2.0/26', ['192.168.9.9']);
    fib.set('10.65.3.0/26', ['10.0.0.3']);
    assert.equal(fib.push(), 2);
    assert.equal(fib.push(), 0, 'nothing new to send');
    assert.equal(writer.writes.length, 2, 'both sent before any answer');
    const report = fib.sync();
    writer.release();
    const r = await report;
    assert.equal(r.changed, 2);
    assert.equal(r.errors.length, 1, 'the refusal of a pushed route is in the next report');
    assert.match(r.errors[0] ?? '', /10\.65\.2\.0\/26/);
    assert.deepEqual([...writer.table.keys()], ['10.65.1.0/26', '10.65.3.0/26']);
  });

  test('push waits for the first read of the kernel, and never pushes through a writer that may reorder', async () => {
    const writer = new FakeWriter();
    const fib = new KernelFib(noRunner, { ipv6: false, writer });
    fib.set('10.65.1.0/26', ['10.0.0.2']);
    assert.equal(fib.push(), 0, 'the kernel is not read yet');
    assert.equal(fib.knowsKernel, false);
    const unordered = new KernelFib(noRunner, {
      ipv6: false,
      writer: Object.assign(new FakeWriter(), { ordered: false }),
    });
    await unordered.readKernel();
    unordered.set('10.65.1.0/26', ['10.0.0.2']);
    assert.equal(unordered.push(), 0);
  });

  test('the start-up read serves as the first full sync: leftovers go without a second read', async () => {
    const writer = new FakeWriter();
    writer.table.set('10.99.0.0/26', ['10.0.0.9']);
    writer.table.set('10.65.1.0/26', ['10.0.0.2']);
    const fib = new KernelFib(noRunner, { ipv6: false, writer });
    const left = await fib.readKernel();
    assert.equal(left.size, 2);
    assert.equal(fib.knowsKernel, true);
    fib.set('10.65.1.0/26', ['10.0.0.2']);
    const report = await fib.sync();
    assert.equal(writer.reads, 1, 'no read of its own');
    assert.deepEqual(
      writer.writes,
      [[{ kind: 'delete', prefix: '10.99.0.0/26' }]],
      'the wanted route is left alone',
    );
    assert.deepEqual(report, { changed: 1, errors: [], resyncNeeded: false });
  });

  test('the writer in use is visible', () => {
    assert.equal(new KernelFib(noRunner, { writer: new FakeWriter() }).writerKind, 'netlink');
    assert.equal(new KernelFib(noRunner).writerKind, 'ip-batch');
  });
});

describe('ip -batch failures map back to their operations', () => {
  const TABLE: { name: string; stderr: string; failures: { line: number; error: string }[] }[] = [
    {
      name: 'one refused line',
      stderr: 'Error: Nexthop has invalid gateway.\nCommand failed -:2\n',
      failures: [{ line: 2, error: 'Error: Nexthop has invalid gateway.' }],
    },
    {
      name: 'two refused lines, each with its own message',
      stderr:
        'RTNETLINK answers: No such process\nCommand failed -:1\nError: Nexthop has invalid gateway.\nCommand failed -:3\n',
      failures: [
        { line: 1, error: 'RTNETLINK answers: No such process' },
        { line: 3, error: 'Error: Nexthop has invalid gateway.' },
      ],
    },
    { name: 'no failure named', stderr: 'Segmentation fault\n', failures: [] },
  ];
  for (const row of TABLE)
    test(row.name, () => assert.deepEqual(parseIpBatchFailures(row.stderr), row.failures));

  test('the writer reports the refused operation, and an unexplained exit as unknown state', async () => {
    const inputs: string[] = [];
    let stderr = 'Error: Nexthop has invalid gateway.\nCommand failed -:2\n';
    const runner: CommandRunner = {
      run(_cmd: string, _args: readonly string[], o: RunOptions = {}): Promise<CommandResult> {
        inputs.push(o.input ?? '');
        return Promise.resolve({ code: 1, stdout: '', stderr });
      },
    };
    const writer = new IpBatchRouteWriter(runner);
    const ops: RouteOp[] = [
      { kind: 'replace', prefix: '10.65.1.0/26', nextHops: ['10.0.0.2'] },
      { kind: 'replace', prefix: '10.65.2.0/26', nextHops: ['192.168.9.9'] },
      { kind: 'delete', prefix: '10.65.3.0/26' },
    ];
    const result = await writer.write(ops);
    assert.deepEqual(result, { failed: [{ op: ops[1], error: 'Error: Nexthop has invalid gateway.' }] });
    assert.equal(
      inputs[0],
      'route replace 10.65.1.0/26 via 10.0.0.2 proto 81\nroute replace 10.65.2.0/26 via 192.168.9.9 proto 81\nroute del 10.65.3.0/26 proto 81\n',
    );
    stderr = 'ip: out of memory\n';
    assert.equal((await writer.write(ops)).unknown, 'ip: out of memory');
  });
});

describe('choosing the route writer', () => {
  const log = { info: () => undefined, warn: () => undefined };
  test('the coprocess when it is built and the runner is a real kernel', async () => {
    const writer = routeWriterFor(new ProcessRunner(), {
      log,
      findProgram: () => '/nonexistent/calico-fib-writer',
    });
    assert.equal(writer.kind, 'netlink');
    await writer.close();
  });
  test('ip -batch when the coprocess is not built', () => {
    assert.equal(routeWriterFor(new ProcessRunner(), { log, findProgram: () => undefined }).kind, 'ip-batch');
  });
  test('ip -batch for a fake runner, even with the coprocess built', () => {
    assert.equal(routeWriterFor(noRunner, { log, findProgram: () => '/usr/bin/true' }).kind, 'ip-batch');
  });
});
