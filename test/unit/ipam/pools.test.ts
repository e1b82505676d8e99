import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IPPool } from '../../../src/api/types.js';
import { formatCidr, parseCidr } from '../../../src/net/ip.js';
import {
  blockCountOfPool,
  choosePools,
  firstFreeBlock,
  poolViews,
  unknownPoolRequests,
} from '../../../src/ipam/pools.js';

const pool = (name: string, spec: Partial<IPPool['spec']> & { cidr: string }): IPPool => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name },
  spec,
});

const views = poolViews([
  pool('b-v4', { cidr: '10.1.0.0/24' }),
  pool('a-v4', { cidr: '10.0.0.0/24', blockSize: 28 }),
  pool('off', { cidr: '10.2.0.0/24', disabled: true }),
  pool('rack1', { cidr: '10.3.0.0/24', nodeSelector: "rack == 'r1'" }),
  pool('v6', { cidr: 'fd00::/112' }),
]);

describe('choosing pools for a host', () => {
  const cases: {
    name: string;
    family: 4 | 6;
    labels: Record<string, string>;
    requested?: string[];
    usable: string[];
    skipped: [string, RegExp][];
  }[] = [
    {
      name: 'enabled pools that select the host, by name; disabled and unselected pools are skipped with a reason',
      family: 4,
      labels: {},
      usable: ['a-v4', 'b-v4'],
      skipped: [
        ['off', /disabled/],
        ['rack1', /nodeSelector "rack == 'r1'" does not select/],
      ],
    },
    {
      name: "a host labelled rack=r1 also gets the rack's pool",
      family: 4,
      labels: { rack: 'r1' },
      usable: ['a-v4', 'b-v4', 'rack1'],
      skipped: [['off', /disabled/]],
    },
    {
      name: 'requested pools (by name or CIDR) are used in the order asked',
      family: 4,
      labels: {},
      requested: ['10.1.0.0/24', 'a-v4'],
      usable: ['b-v4', 'a-v4'],
      skipped: [
        ['off', /not among the requested/],
        ['rack1', /not among the requested/],
      ],
    },
    {
      name: 'a requested pool that is disabled is still skipped',
      family: 4,
      labels: {},
      requested: ['off'],
      usable: [],
      skipped: [
        ['b-v4', /not among/],
        ['a-v4', /not among/],
        ['rack1', /not among/],
        ['off', /disabled/],
      ],
    },
    { name: 'IPv6 sees only IPv6 pools', family: 6, labels: {}, usable: ['v6'], skipped: [] },
  ];
  for (const c of cases)
    test(c.name, () => {
      const r = choosePools(views, {
        family: c.family,
        hostLabels: c.labels,
        ...(c.requested ? { requested: c.requested } : {}),
      });
      assert.deepEqual(
        r.usable.map((p) => p.name),
        c.usable,
      );
      assert.deepEqual(
        r.skipped.map((s) => s.pool.name),
        c.skipped.map(([n]) => n),
      );
      r.skipped.forEach((s, i) => assert.match(s.reason, c.skipped[i]?.[1] ?? /never/));
    });

  test('requests naming no pool are reported', () => {
    assert.deepEqual(unknownPoolRequests(views, ['a-v4', 'nope', '10.9.0.0/16', '10.0.0.0/24']), [
      'nope',
      '10.9.0.0/16',
    ]);
  });

  test('a pool without blockSize gets the default for its family', () => {
    assert.deepEqual(
      views.map((v) => [v.name, v.blockSize]),
      [
        ['b-v4', 26],
        ['a-v4', 28],
        ['off', 26],
        ['rack1', 26],
        ['v6', 122],
      ],
    );
  });
});

describe('finding a free block', () => {
  const [p] = poolViews([pool('p', { cidr: '10.0.0.0/24' })]);
  assert.ok(p);
  const addr = (t: string) => parseCidr(t)?.address ?? -1n;

  const cases: [string[], string | undefined][] = [
    [[], '10.0.0.0/26'],
    [['10.0.0.0/26'], '10.0.0.64/26'],
    [['10.0.0.0/26', '10.0.0.128/26'], '10.0.0.64/26'],
    [['10.0.0.0/26', '10.0.0.64/26', '10.0.0.128/26'], '10.0.0.192/26'],
    [['10.0.0.0/26', '10.0.0.64/26', '10.0.0.128/26', '10.0.0.192/26'], undefined],
  ];
  for (const [existing, expected] of cases)
    test(`with blocks [${existing.join(', ')}] the next block is ${String(expected)}`, () => {
      const r = firstFreeBlock(p, new Set(existing.map(addr)));
      assert.equal(r && formatCidr(r), expected);
    });

  test('a huge IPv6 pool is not enumerated: the next block is found after the existing ones', () => {
    const [v6] = poolViews([pool('v6', { cidr: 'fd00::/48' })]);
    assert.ok(v6);
    assert.equal(blockCountOfPool(v6), 2n ** 74n);
    const existing = new Set([addr('fd00::/122'), addr('fd00::40/122')]);
    const r = firstFreeBlock(v6, existing);
    assert.equal(r && formatCidr(r), 'fd00::80/122');
  });

  test('a /31 pool of /31 blocks has exactly one block', () => {
    const [tiny] = poolViews([pool('t', { cidr: '10.9.0.0/31', blockSize: 31 })]);
    assert.ok(tiny);
    assert.equal(blockCountOfPool(tiny), 1n);
    assert.equal(firstFreeBlock(tiny, new Set([addr('10.9.0.0/31')])), undefined);
  });
});
