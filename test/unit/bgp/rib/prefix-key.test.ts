import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { formatIPv4, parseIPv4, prefixFromKey, prefixKey } from '../../../../src/bgp/rib/prefix-key.js';
import { AttributeInterner, attributesKey } from '../../../../src/bgp/rib/index.js';
import { Origin } from '../../../../src/bgp/types.js';
import { attrs, seq } from './rib-fixtures.js';

const v4Prefix = fc
  .tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }))
  .map(([address, length]) => {
    const network = length === 0 ? 0 : Math.floor(address / 2 ** (32 - length)) * 2 ** (32 - length);
    return { family: 'ipv4' as const, address: formatIPv4(network), length };
  });

describe('compact prefix keys', () => {
  test('every IPv4 prefix round-trips through its key', () => {
    fc.assert(fc.property(v4Prefix, (p) => assert.deepEqual(prefixFromKey(prefixKey(p)), p)));
  });

  test('different IPv4 prefixes never share a key', () => {
    fc.assert(
      fc.property(v4Prefix, v4Prefix, (a, b) => {
        const same = a.address === b.address && a.length === b.length;
        assert.equal(prefixKey(a) === prefixKey(b), same);
      }),
    );
  });

  const edges = [
    { text: '0.0.0.0/0', key: 1 },
    { text: '255.255.255.255/32', key: 2 ** 33 - 1 },
    { text: '10.0.0.0/8', key: 2 ** 8 + 10 },
  ];
  for (const e of edges) {
    test(`${e.text} has key ${e.key}`, () => {
      const [address, length] = e.text.split('/');
      const p = { family: 'ipv4' as const, address: address!, length: Number(length) };
      assert.equal(prefixKey(p), e.key);
      assert.deepEqual(prefixFromKey(e.key), p);
    });
  }

  test('IPv6 prefixes key by their text', () => {
    const p = { family: 'ipv6' as const, address: '2001:db8::', length: 32 };
    assert.deepEqual(prefixFromKey(prefixKey(p)), p);
  });

  const bad = ['10.0.0', '10.0.0.256', '1.2.3.4.5', 'a.b.c.d', '', '1..2.3', '1234.1.1.1'];
  for (const text of bad) {
    test(`"${text}" is not an IPv4 address`, () => {
      assert.ok(Number.isNaN(parseIPv4(text)));
      assert.throws(() => prefixKey({ family: 'ipv4', address: text, length: 24 }), /not an IPv4 prefix/);
    });
  }
});

describe('attribute interning', () => {
  test('equal attributes become one shared object; different ones stay apart', () => {
    const interner = new AttributeInterner();
    const a = interner.intern(attrs({ asPath: seq(1, 2), communities: [5] }));
    const b = interner.intern(attrs({ asPath: seq(1, 2), communities: [5] }));
    const c = interner.intern(attrs({ asPath: seq(1, 2), communities: [6] }));
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.equal(interner.size, 2);
  });

  const distinct: Array<[string, Parameters<typeof attrs>[0], Parameters<typeof attrs>[0]]> = [
    ['AS_SET vs AS_SEQUENCE', { asPath: [{ type: 'set', asns: [1] }] }, { asPath: seq(1) }],
    ['no COMMUNITIES vs an empty one', {}, { communities: [] }],
    ['MED 0 vs no MED', { med: 0 }, {}],
    ['origin IGP vs EGP', { origin: Origin.IGP }, { origin: Origin.EGP }],
    [
      'unknown attributes differing in flags',
      { unknown: [{ flags: 0xc0, typeCode: 99, value: Buffer.from([1]) }] },
      { unknown: [{ flags: 0xe0, typeCode: 99, value: Buffer.from([1]) }] },
    ],
  ];
  for (const [name, x, y] of distinct) {
    test(`keys tell apart ${name}`, () => {
      assert.notEqual(attributesKey(attrs(x)), attributesKey(attrs(y)));
    });
  }
});
