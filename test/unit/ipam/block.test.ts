import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  addressWithBlockPrefix,
  allocateFromBlock,
  assignOrdinal,
  blockTextIsFull,
  blockAddressCount,
  blockCidrFor,
  countsByHandle,
  decodeBlock,
  encodeBlock,
  freeCount,
  inUseCount,
  newBlock,
  ordinalOf,
  ordinalsHeldBy,
  releaseOrdinals,
  type AllocationAttribute,
} from '../../../src/ipam/block.js';
import { formatCidr, parseCidr, parseIp, type Cidr } from '../../../src/net/ip.js';

const cidr = (t: string): Cidr => {
  const c = parseCidr(t);
  assert.ok(c, t);
  return c;
};
const ip = (t: string) => {
  const a = parseIp(t);
  assert.ok(a, t);
  return a;
};
const attr = (handle: string, attrs: Record<string, string> = {}): AllocationAttribute => ({ handle, attrs });

describe('block math', () => {
  const sizes: [string, number][] = [
    ['10.0.0.0/26', 64],
    ['fd00::/122', 64],
    ['10.0.0.0/29', 8],
    ['10.0.0.0/31', 2],
    ['10.0.0.5/32', 1],
    ['fd00::7/128', 1],
    ['10.0.0.0/20', 4096],
    ['fd00::/116', 4096],
  ];
  for (const [block, count] of sizes)
    test(`a ${block} block holds ${count} address(es)`, () => {
      assert.equal(blockAddressCount(cidr(block)), count);
      assert.equal(newBlock(cidr(block), 'h', false).allocations.length, count);
    });

  test('a block larger than 4096 addresses is refused with the limit in the message', () => {
    assert.throws(() => blockAddressCount(cidr('10.0.0.0/19')), /at most 4096 addresses/);
  });

  const containing: [string, number, string][] = [
    ['10.0.0.77', 26, '10.0.0.64/26'],
    ['10.0.0.63', 26, '10.0.0.0/26'],
    ['10.0.0.7', 29, '10.0.0.0/29'],
    ['10.0.0.7', 31, '10.0.0.6/31'],
    ['10.0.0.7', 32, '10.0.0.7/32'],
    ['fd00::1:45', 122, 'fd00::1:40/122'],
    ['fd00::ff', 128, 'fd00::ff/128'],
  ];
  for (const [addr, size, block] of containing)
    test(`${addr} lies in block ${block} at block size /${size}`, () => {
      assert.equal(formatCidr(blockCidrFor(ip(addr), size)), block);
    });

  const ordinals: [string, string, number | undefined, string | undefined][] = [
    ['10.0.0.64/26', '10.0.0.64', 0, '10.0.0.64/26'],
    ['10.0.0.64/26', '10.0.0.127', 63, '10.0.0.127/26'],
    ['10.0.0.64/26', '10.0.0.128', undefined, undefined],
    ['10.0.0.6/31', '10.0.0.7', 1, '10.0.0.7/31'],
    ['fd00::40/122', 'fd00::7f', 63, 'fd00::7f/122'],
    ['fd00::ff/128', 'fd00::ff', 0, 'fd00::ff/128'],
    ['10.0.0.0/26', 'fd00::1', undefined, undefined],
  ];
  for (const [block, addr, ordinal, withPrefix] of ordinals)
    test(`${addr} is ordinal ${String(ordinal)} of ${block}`, () => {
      assert.equal(ordinalOf(cidr(block), ip(addr)), ordinal);
      if (ordinal !== undefined) assert.equal(addressWithBlockPrefix(cidr(block), ordinal), withPrefix);
    });
});

describe('allocation in a block', () => {
  test('a new block hands out its addresses lowest first, network address included', () => {
    const { block, ordinals } = allocateFromBlock(newBlock(cidr('10.0.0.0/29'), 'h', false), 3, attr('a'));
    assert.deepEqual(ordinals, [0, 1, 2]);
    assert.equal(inUseCount(block), 3);
    assert.equal(freeCount(block), 5);
  });

  test('the broadcast address is handed out too: all 8 of a /29', () => {
    const { ordinals } = allocateFromBlock(newBlock(cidr('10.0.0.0/29'), 'h', false), 8, attr('a'));
    assert.deepEqual(ordinals, [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test('asking for more than is free takes what there is', () => {
    const { block, ordinals } = allocateFromBlock(newBlock(cidr('10.0.0.0/31'), 'h', false), 5, attr('a'));
    assert.deepEqual(ordinals, [0, 1]);
    assert.deepEqual(allocateFromBlock(block, 1, attr('b')).ordinals, []);
  });

  test('a /128 block holds exactly one address', () => {
    const first = allocateFromBlock(newBlock(cidr('fd00::9/128'), 'h', false), 2, attr('a'));
    assert.deepEqual(first.ordinals, [0]);
    assert.equal(freeCount(first.block), 0);
  });

  test('a released address goes to the back of the queue: other free addresses are used first', () => {
    let b = allocateFromBlock(newBlock(cidr('10.0.0.0/30'), 'h', false), 2, attr('a')).block;
    b = releaseOrdinals(b, [0]).block;
    const next = allocateFromBlock(b, 3, attr('b'));
    assert.deepEqual(next.ordinals, [2, 3, 0]);
  });

  test('the same handle and attributes share one attribute entry; different ones get their own', () => {
    let b = newBlock(cidr('10.0.0.0/29'), 'h', false);
    b = allocateFromBlock(b, 2, attr('a', { pod: 'x' })).block;
    b = allocateFromBlock(b, 1, attr('a', { pod: 'x' })).block;
    b = allocateFromBlock(b, 1, attr('b')).block;
    assert.equal(b.attributes.length, 2);
    assert.deepEqual(b.allocations.slice(0, 4), [0, 0, 0, 1]);
  });

  test('releasing the last address of a handle drops its attribute and renumbers the rest', () => {
    let b = newBlock(cidr('10.0.0.0/29'), 'h', false);
    b = allocateFromBlock(b, 1, attr('a')).block;
    b = allocateFromBlock(b, 1, attr('b')).block;
    b = releaseOrdinals(b, [0]).block;
    assert.deepEqual(b.attributes, [attr('b')]);
    assert.deepEqual(b.allocations.slice(0, 2), [null, 0]);
  });

  test('assigning a chosen ordinal takes it out of the free queue', () => {
    const r = assignOrdinal(newBlock(cidr('10.0.0.0/30'), 'h', false), 2, attr('a'));
    assert.equal(r.kind, 'assigned');
    if (r.kind !== 'assigned') return;
    assert.deepEqual(r.block.unallocated, [0, 1, 3]);
    assert.deepEqual(allocateFromBlock(r.block, 3, attr('b')).ordinals, [0, 1, 3]);
  });

  test('assigning a held ordinal reports its holder and changes nothing', () => {
    const b = allocateFromBlock(newBlock(cidr('10.0.0.0/30'), 'h', false), 1, attr('a', { pod: 'p' })).block;
    assert.deepEqual(assignOrdinal(b, 0, attr('b')), { kind: 'taken', holder: attr('a', { pod: 'p' }) });
  });

  test('release reports ordinals that were not held, and those held by another handle when one is required', () => {
    let b = newBlock(cidr('10.0.0.0/29'), 'h', false);
    b = allocateFromBlock(b, 1, attr('a')).block;
    b = allocateFromBlock(b, 1, attr('b')).block;
    const r = releaseOrdinals(b, [0, 1, 5], 'a');
    assert.deepEqual(r.released, [0]);
    assert.deepEqual(r.notAllocated, [1, 5]);
    assert.deepEqual([...r.releasedPerHandle], [['a', 1]]);
    assert.deepEqual(
      ordinalsHeldBy(r.block, () => true),
      [1],
    );
  });

  test('release leaves its argument unchanged, so a retry starts from what was read', () => {
    const b = allocateFromBlock(newBlock(cidr('10.0.0.0/30'), 'h', false), 2, attr('a')).block;
    const before = encodeBlock(b);
    releaseOrdinals(b, [0, 1]);
    allocateFromBlock(b, 2, attr('c'));
    assert.equal(encodeBlock(b), before);
  });

  test('counts per handle follow the allocations', () => {
    let b = newBlock(cidr('fd00::/122'), 'h', false);
    b = allocateFromBlock(b, 3, attr('a', { x: '1' })).block;
    b = allocateFromBlock(b, 2, attr('a', { x: '2' })).block;
    b = allocateFromBlock(b, 1, attr('b')).block;
    assert.deepEqual(
      [...countsByHandle(b)],
      [
        ['a', 5],
        ['b', 1],
      ],
    );
  });
});

describe('stored block form', () => {
  test('a full block is recognised from its stored text; a block with one free address is not', () => {
    const full = allocateFromBlock(newBlock(cidr('10.0.0.0/30'), 'h', false), 4, attr('a')).block;
    const almost = allocateFromBlock(newBlock(cidr('10.0.0.0/30'), 'h', false), 3, attr('a')).block;
    assert.equal(blockTextIsFull(encodeBlock(full)), true);
    assert.equal(blockTextIsFull(encodeBlock(almost)), false);
  });

  test('an attribute that spells the full-block marker cannot make a free block look full', () => {
    const tricky = allocateFromBlock(
      newBlock(cidr('10.0.0.0/30'), 'h', false),
      1,
      attr('"unallocated":[]', { x: '"unallocated":[]' }),
    ).block;
    assert.equal(blockTextIsFull(encodeBlock(tricky)), false);
  });

  test('a block survives encode and decode', () => {
    const b = allocateFromBlock(newBlock(cidr('10.0.0.0/29'), 'h', true), 2, attr('a')).block;
    assert.deepEqual(decodeBlock(encodeBlock(b)), b);
  });

  const bad: [string, RegExp][] = [
    ['{', /not JSON/],
    ['[]', /cidr is missing/],
    ['{"cidr":"10.0.0.0/26","affinity":3,"allocations":[],"unallocated":[],"attributes":[]}', /affinity/],
    ['{"cidr":"10.0.0.0/26","affinity":null,"allocations":{}}', /must be arrays/],
  ];
  for (const [json, message] of bad)
    test(`an unreadable block (${json}) is described, not thrown`, () => {
      const r = decodeBlock(json);
      assert.equal(typeof r, 'string');
      assert.match(r as string, message);
    });
});

describe('block invariants under any sequence of assignments and releases', () => {
  test('every ordinal is either free (once, in the queue) or held by an existing attribute; no attribute is unused', () => {
    type Op =
      | { kind: 'alloc'; n: number; h: number }
      | { kind: 'assign'; o: number; h: number }
      | { kind: 'release'; os: number[]; h?: number };
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('alloc' as const),
        n: fc.integer({ min: 0, max: 10 }),
        h: fc.integer({ min: 0, max: 3 }),
      }),
      fc.record({
        kind: fc.constant('assign' as const),
        o: fc.integer({ min: 0, max: 15 }),
        h: fc.integer({ min: 0, max: 3 }),
      }),
      fc.record(
        {
          kind: fc.constant('release' as const),
          os: fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 5 }),
          h: fc.integer({ min: 0, max: 3 }),
        },
        { requiredKeys: ['kind', 'os'] },
      ),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops: Op[]) => {
        let b = newBlock(cidr('10.0.0.0/28'), 'h', false);
        let held = 0;
        for (const o of ops) {
          if (o.kind === 'alloc') {
            const r = allocateFromBlock(b, o.n, attr(`h${o.h}`));
            assert.equal(r.ordinals.length, Math.min(o.n, 16 - held));
            held += r.ordinals.length;
            b = r.block;
          } else if (o.kind === 'assign') {
            const r = assignOrdinal(b, o.o, attr(`h${o.h}`));
            if (r.kind === 'assigned') {
              b = r.block;
              held++;
            }
          } else {
            const r = releaseOrdinals(b, [...new Set(o.os)], o.h === undefined ? undefined : `h${o.h}`);
            held -= r.released.length;
            b = r.block;
          }
          assert.equal(inUseCount(b), held);
          const free = new Set(b.unallocated);
          assert.equal(free.size, b.unallocated.length, 'no ordinal is queued twice');
          b.allocations.forEach((index, ordinal) => {
            if (index === null) assert.ok(free.has(ordinal), `free ordinal ${ordinal} is queued`);
            else {
              assert.ok(!free.has(ordinal), `held ordinal ${ordinal} is not queued`);
              assert.ok(b.attributes[index], `ordinal ${ordinal} points at an attribute`);
            }
          });
          const used = new Set(b.allocations.filter((i) => i !== null));
          assert.equal(used.size, b.attributes.length, 'every attribute is used');
        }
      }),
      { numRuns: 300 },
    );
  });
});
