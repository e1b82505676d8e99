import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LineSplitter,
  encodeBarrier,
  encodeListRequest,
  decodeRouteOpLine,
  encodeRouteOp,
  parseWriterReply,
  type RouteOp,
  type WriterReply,
} from '../../../../src/bgp/fib/index.js';

describe('encoding operations for calico-fib-writer', () => {
  const TABLE: { name: string; seq: number; op: RouteOp; line: string }[] = [
    {
      name: 'a route with one next hop is an A line with one gateway',
      seq: 7,
      op: { kind: 'replace', prefix: '10.65.1.0/26', nextHops: ['10.0.0.2'] },
      line: 'A 7 10.65.1.0/26 10.0.0.2\n',
    },
    {
      name: 'an ECMP route lists every gateway on its line',
      seq: 8,
      op: { kind: 'replace', prefix: '10.65.1.0/26', nextHops: ['10.0.0.2', '10.0.0.3'] },
      line: 'A 8 10.65.1.0/26 10.0.0.2 10.0.0.3\n',
    },
    {
      name: 'IPv6 routes use the same line',
      seq: 9,
      op: { kind: 'replace', prefix: 'fd00:65::/122', nextHops: ['fd00::2'] },
      line: 'A 9 fd00:65::/122 fd00::2\n',
    },
    {
      name: 'a delete is a D line with the prefix only',
      seq: 4294967295,
      op: { kind: 'delete', prefix: '10.65.1.0/26' },
      line: 'D 4294967295 10.65.1.0/26\n',
    },
  ];
  for (const row of TABLE) test(row.name, () => assert.equal(encodeRouteOp(row.seq, row.op), row.line));
  for (const row of TABLE) {
    test(`${row.line.trim()} reads back as the operation it encodes (a refusal is mapped through it)`, () =>
      assert.deepEqual(decodeRouteOpLine(row.line.slice(0, -1)), row.op));
  }
  for (const line of ['B 7', 'A 7 10.65.1.0/26', 'D 7 10.65.1.0/26 10.0.0.2', '']) {
    test(`${JSON.stringify(line)} is not read as a route operation`, () =>
      assert.throws(() => decodeRouteOpLine(line), /not a route operation line/));
  }

  test('a barrier and a listing request carry their sequence numbers', () => {
    assert.equal(encodeBarrier(12), 'B 12\n');
    assert.equal(encodeListRequest(13, 6), 'L 13 6\n');
  });

  const REJECTED: { name: string; run: () => string; message: RegExp }[] = [
    {
      name: 'a route without next hops',
      run: () => encodeRouteOp(1, { kind: 'replace', prefix: '10.0.0.0/24', nextHops: [] }),
      message: /no next hop/,
    },
    {
      name: 'a prefix with a newline (it would end the line early)',
      run: () => encodeRouteOp(1, { kind: 'delete', prefix: '10.0.0.0/24\nD 2 x' }),
      message: /space or newline/,
    },
    {
      name: 'a sequence number beyond 32 bits',
      run: () => encodeBarrier(2 ** 32),
      message: /32-bit/,
    },
    { name: 'a negative sequence number', run: () => encodeBarrier(-1), message: /32-bit/ },
  ];
  for (const row of REJECTED) test(`refuses ${row.name}`, () => assert.throws(row.run, row.message));
});

describe('parsing what calico-fib-writer prints', () => {
  const TABLE: { line: string; reply: WriterReply }[] = [
    {
      line: 'F 17 101 Network is unreachable: Nexthop has invalid gateway',
      reply: {
        kind: 'failed',
        seq: 17,
        errno: 101,
        error: 'Network is unreachable: Nexthop has invalid gateway',
      },
    },
    { line: 'B 18 ok', reply: { kind: 'barrier', seq: 18, stateKnown: true } },
    { line: 'B 19 unknown', reply: { kind: 'barrier', seq: 19, stateKnown: false } },
    {
      line: 'R 11.0.0.0/24 10.0.0.2',
      reply: { kind: 'route', prefix: '11.0.0.0/24', nextHops: ['10.0.0.2'] },
    },
    {
      line: 'R fd01::/64 fd00::2 fd00::3',
      reply: { kind: 'route', prefix: 'fd01::/64', nextHops: ['fd00::2', 'fd00::3'] },
    },
    { line: 'R 11.0.0.0/24', reply: { kind: 'route', prefix: '11.0.0.0/24', nextHops: [] } },
    { line: 'L 20 ok', reply: { kind: 'listed', seq: 20 } },
    {
      line: 'L 21 error Operation not permitted',
      reply: { kind: 'listed', seq: 21, error: 'Operation not permitted' },
    },
  ];
  for (const row of TABLE)
    test(`${JSON.stringify(row.line)} is a ${row.reply.kind} reply`, () =>
      assert.deepEqual(parseWriterReply(row.line), row.reply));

  const MALFORMED = ['', 'X 1', 'B 1 maybe', 'B x ok', 'F 1', 'Bogus', 'B 99999999999 ok', 'R '];
  for (const line of MALFORMED)
    test(`${JSON.stringify(line)} is refused as malformed`, () =>
      assert.throws(() => parseWriterReply(line)));
});

test('the line splitter keeps a partial line until its end arrives', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('B 1 ok\nR 10.0'), ['B 1 ok']);
  assert.deepEqual(s.push('.0.0/24 10.0.0.2\n'), ['R 10.0.0.0/24 10.0.0.2']);
  assert.deepEqual(s.push('L 2 ok\nB 3 ok\n'), ['L 2 ok', 'B 3 ok']);
  assert.deepEqual(s.push(''), []);
});
