import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NetlinkRouteWriter, type RouteOp } from '../../../../src/bgp/fib/index.js';

/**
 * A stand-in for calico-fib-writer speaking its line protocol over an in-memory table, so the
 * TypeScript side (sequence numbers, failure mapping, death, restart, hang) is tested without root.
 * Gateway 192.168.9.9 is refused (ENETUNREACH); prefix 66.6.6.6/32 makes it crash; 77.7.7.7/32 makes
 * it stop answering.
 */
const FAKE_WRITER = `
const table = new Map();
let rest = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (rest + chunk).split('\\n');
  rest = lines.pop();
  let out = '';
  for (const line of lines) {
    const [op, seq, a, ...hops] = line.split(' ');
    if (a === '66.6.6.6/32') { process.stderr.write('boom'); process.exit(3); }
    if (a === '77.7.7.7/32') { out = ''; break; }
    if (op === 'A' && hops.includes('192.168.9.9')) out += 'F ' + seq + ' 101 Network is unreachable\\n';
    else if (op === 'A') table.set(a, hops);
    else if (op === 'D' && !table.delete(a)) out += 'F ' + seq + ' 3 No such process\\n';
    else if (op === 'B') out += 'B ' + seq + ' ok\\n';
    else if (op === 'L') {
      for (const [p, h] of table) if (p.includes(':') === (a === '6')) out += 'R ' + p + ' ' + h.join(' ') + '\\n';
      out += 'L ' + seq + ' ok\\n';
    }
  }
  process.stdout.write(out);
});
`;

const log = { info: () => undefined, warn: () => undefined };

function fakeWriter(
  extra: { answerTimeoutMs?: number; minRestartDelayMs?: number } = {},
): NetlinkRouteWriter {
  return new NetlinkRouteWriter({ command: [process.execPath, '-e', FAKE_WRITER], log, ...extra });
}

const replace = (prefix: string, ...nextHops: string[]): RouteOp => ({ kind: 'replace', prefix, nextHops });

describe('NetlinkRouteWriter against a stand-in coprocess', () => {
  test('a refused route is reported with its operation and errno; the others are listed back', async () => {
    const w = fakeWriter();
    try {
      const ops = [
        replace('10.65.1.0/26', '10.0.0.2'),
        replace('10.65.2.0/26', '192.168.9.9'),
        replace('10.65.3.0/26', '10.0.0.2', '10.0.0.3'),
        replace('fd00:65::/122', 'fd00::2'),
      ];
      const result = await w.write(ops);
      assert.deepEqual(result, { failed: [{ op: ops[1], errno: 101, error: 'Network is unreachable' }] });
      assert.deepEqual(
        [...(await w.readRoutes(4))],
        [
          ['10.65.1.0/26', ['10.0.0.2']],
          ['10.65.3.0/26', ['10.0.0.2', '10.0.0.3']],
        ],
      );
      assert.deepEqual([...(await w.readRoutes(6))], [['fd00:65::/122', ['fd00::2']]]);
    } finally {
      await w.close();
    }
  });

  test('writes in a row keep their own failures apart', async () => {
    const w = fakeWriter();
    try {
      const [a, b] = await Promise.all([
        w.write([replace('10.1.0.0/24', '192.168.9.9')]),
        w.write([replace('10.2.0.0/24', '10.0.0.2'), { kind: 'delete', prefix: '10.3.0.0/24' }]),
      ]);
      assert.deepEqual(
        a.failed.map((f) => f.op.prefix),
        ['10.1.0.0/24'],
      );
      assert.deepEqual(
        b.failed.map((f) => [f.op.prefix, f.errno]),
        [['10.3.0.0/24', 3]],
      );
    } finally {
      await w.close();
    }
  });

  test('a crash makes the write in flight unknown; the next write starts a new coprocess after a pause', async () => {
    const w = fakeWriter({ minRestartDelayMs: 150 });
    try {
      await w.write([replace('10.65.1.0/26', '10.0.0.2')]);
      const firstPid = w.pid;
      const crashed = await w.write([replace('66.6.6.6/32', '10.0.0.2')]);
      assert.match(crashed.unknown ?? '', /exited with code 3: boom/);
      const before = Date.now();
      const after = await w.write([replace('10.65.2.0/26', '10.0.0.2')]);
      assert.ok(Date.now() - before >= 140, 'the restart waited for its backoff');
      assert.deepEqual(after, { failed: [] });
      assert.equal(w.starts, 2);
      assert.notEqual(w.pid, firstPid);
      assert.deepEqual([...(await w.readRoutes(4))], [['10.65.2.0/26', ['10.0.0.2']]], 'a new process');
    } finally {
      await w.close();
    }
  });

  test('a coprocess killed while idle is restarted, and the next write asks for a full sync', async () => {
    const w = fakeWriter({ minRestartDelayMs: 10 });
    try {
      await w.write([replace('10.65.1.0/26', '10.0.0.2')]);
      process.kill(w.pid as number, 'SIGKILL');
      while (w.pid !== undefined) await new Promise((r) => setTimeout(r, 10));
      const next = await w.write([replace('10.65.2.0/26', '10.0.0.2')]);
      assert.match(next.unknown ?? '', /^restarted: calico-fib-writer killed by SIGKILL/);
      assert.deepEqual(await w.write([replace('10.65.3.0/26', '10.0.0.2')]), { failed: [] }, 'reported once');
      assert.equal(w.starts, 2);
    } finally {
      await w.close();
    }
  });

  test('a coprocess that stops answering is killed and the write reported unknown', async () => {
    const w = fakeWriter({ answerTimeoutMs: 200 });
    try {
      const result = await w.write([replace('77.7.7.7/32', '10.0.0.2')]);
      assert.match(result.unknown ?? '', /killed by SIGKILL/);
    } finally {
      await w.close();
    }
  });

  test('a missing program is reported as unknown state, not thrown', async () => {
    const w = new NetlinkRouteWriter({ command: ['/nonexistent/calico-fib-writer'], log });
    const result = await w.write([replace('10.65.1.0/26', '10.0.0.2')]);
    assert.match(result.unknown ?? '', /could not run \/nonexistent\/calico-fib-writer/);
    await w.close();
  });

  test('after close, writes report that the writer is closed', async () => {
    const w = fakeWriter();
    await w.write([replace('10.65.1.0/26', '10.0.0.2')]);
    await w.close();
    assert.equal(w.pid, undefined);
    assert.equal(
      (await w.write([replace('10.65.2.0/26', '10.0.0.2')])).unknown,
      'calico-fib-writer is closed',
    );
  });
});
