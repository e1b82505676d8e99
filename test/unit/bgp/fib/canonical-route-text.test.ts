import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalPrefix, familyOfPrefix, normalizeNextHops } from '../../../../src/bgp/fib/index.js';

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
