import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalCidr,
  canonicalIp,
  cidrContainsCidr,
  cidrsOverlap,
  isMac,
  parseCidr,
  parseIpOrCidr,
} from '../../../src/net/ip.js';

describe('canonicalIp', () => {
  const cases: [string, string | undefined][] = [
    ['10.0.0.1', '10.0.0.1'],
    ['255.255.255.255', '255.255.255.255'],
    ['010.0.0.1', undefined],
    ['256.0.0.1', undefined],
    ['1.2.3', undefined],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ['fe80::1%eth0', undefined],
    ['hello', undefined],
  ];
  for (const [input, expected] of cases) {
    test(`${input} → ${String(expected)}`, () => assert.equal(canonicalIp(input), expected));
  }
});

describe('CIDRs', () => {
  test('canonical form clears host bits and adds a host prefix to bare addresses', () => {
    assert.equal(canonicalCidr('10.1.2.3/16'), '10.1.0.0/16');
    assert.equal(canonicalCidr('172.16.1.1'), '172.16.1.1/32');
    assert.equal(canonicalCidr('fd80:24e2:f998:72d6::1/64'), 'fd80:24e2:f998:72d6::/64');
    assert.equal(canonicalCidr('2001:db8::1'), '2001:db8::1/128');
  });
  test('rejects bad prefixes', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0/8', '::/129', '10.0.0.0/-1']) {
      assert.equal(parseCidr(bad), undefined, bad);
    }
  });
  test('containment and overlap', () => {
    const pool = parseIpOrCidr('10.0.0.0/16')!;
    assert.equal(cidrContainsCidr(pool, parseIpOrCidr('10.0.5.0/26')!), true);
    assert.equal(cidrContainsCidr(pool, parseIpOrCidr('10.1.0.0/26')!), false);
    assert.equal(cidrContainsCidr(pool, parseIpOrCidr('::/0')!), false);
    assert.equal(cidrsOverlap(parseIpOrCidr('10.0.0.0/8')!, pool), true);
    assert.equal(cidrsOverlap(parseIpOrCidr('11.0.0.0/8')!, pool), false);
  });
  test('MAC addresses', () => {
    assert.equal(isMac('ca:fe:1d:52:bb:e9'), true);
    assert.equal(isMac('CA-FE-1D-52-BB-E9'), true);
    assert.equal(isMac('ca:fe:1d:52:bb'), false);
    assert.equal(isMac('zz:fe:1d:52:bb:e9'), false);
  });
});
