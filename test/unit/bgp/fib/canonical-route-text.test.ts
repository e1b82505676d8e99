import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalPrefix,
  familyOfPrefix,
  fibPrefixKey,
  fibPrefixText,
  normalizeNextHops,
} from '../../../../src/bgp/fib/index.js';

const PREFIXES: { input: string; canonical: string }[] = [
  { input: '10.65.1.0/26', canonical: '10.65.1.0/26' },
  { input: '0.0.0.0/0', canonical: '0.0.0.0/0' },
  { input: '10.66.0.7', canonical: '10.66.0.7/32' },
  { input: '10.65.1.5/26', canonical: '10.65.1.0/26' },
  { input: '10.65.1.0/026', canonical: '10.65.1.0/26' },
  { input: '255.255.255.255/32', canonical: '255.255.255.255/32' },
  { input: 'FD00:0065:0:0::/64', canonical: 'fd00:65::/64' },
  { input: 'fd00::7', canonical: 'fd00::7/128' },
];
for (const row of PREFIXES)
  test(`prefix ${row.input} is keyed as ${row.canonical}`, () =>
    assert.equal(canonicalPrefix(row.input), row.canonical));

test('a prefix with a colon is IPv6, any other IPv4', () => {
  assert.equal(familyOfPrefix('fd00::/64'), 6);
  assert.equal(familyOfPrefix('10.0.0.0/8'), 4);
});

const HOPS: { input: string[]; normalized: string[] }[] = [
  { input: ['10.0.0.3', '10.0.0.2'], normalized: ['10.0.0.2', '10.0.0.3'] },
  { input: ['10.0.0.2', '10.0.0.2'], normalized: ['10.0.0.2'] },
  { input: ['FD00::0002', 'fd00::2', 'fd00::1'], normalized: ['fd00::1', 'fd00::2'] },
  { input: [], normalized: [] },
];
for (const row of HOPS)
  test(`next hops ${row.input.join(',') || '(none)'} normalize to ${row.normalized.join(',') || '(none)'}`, () =>
    assert.deepEqual(normalizeNextHops(row.input), row.normalized));

const KEYS: { input: string; key: number | string; text: string }[] = [
  {
    input: '10.65.1.0/26',
    key: 2 ** 26 + (((10 << 24) | (65 << 16) | (1 << 8)) >>> 6),
    text: '10.65.1.0/26',
  },
  {
    input: '10.65.1.5/26',
    key: 2 ** 26 + (((10 << 24) | (65 << 16) | (1 << 8)) >>> 6),
    text: '10.65.1.0/26',
  },
  { input: '0.0.0.0/0', key: 1, text: '0.0.0.0/0' },
  { input: '10.66.0.7', key: 2 ** 32 + ((10 << 24) | (66 << 16) | 7), text: '10.66.0.7/32' },
  { input: '255.255.255.255/32', key: 2 ** 33 - 1, text: '255.255.255.255/32' },
  { input: 'FD00:0065:0:0::/64', key: 'fd00:65::/64', text: 'fd00:65::/64' },
];
for (const row of KEYS)
  test(`prefix ${row.input} is filed under ${String(row.key)} and listed as ${row.text}`, () => {
    assert.equal(fibPrefixKey(row.input), row.key);
    assert.equal(fibPrefixText(fibPrefixKey(row.input)), row.text);
  });

test('the same set of next hops, in any order or spelling, is one shared frozen list', () => {
  const a = normalizeNextHops(['10.0.0.3', '10.0.0.2']);
  const b = normalizeNextHops(['10.0.0.2', '10.0.0.3', '10.0.0.2']);
  const c = normalizeNextHops(['10.0.0.2']);
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.equal(c, normalizeNextHops(['10.0.0.2']));
  assert.ok(Object.isFrozen(a));
});
