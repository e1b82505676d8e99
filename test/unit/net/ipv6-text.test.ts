import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalIp, formatIpv6Groups } from '../../../src/net/ip.js';
import { readIPv6 } from '../../../src/bgp/wire/address.js';

/** One RFC 5952 formatter serves the address library and the BGP codec: both must print alike. */
describe('IPv6 text is RFC 5952 wherever it is printed', () => {
  const ROWS = [
    { groups: [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], text: '2001:db8::1' },
    { groups: [0, 0, 0, 0, 0, 0, 0, 0], text: '::' },
    { groups: [0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], text: '2001:db8:0:1:1:1:1:1' },
    { groups: [0x2001, 0, 0, 1, 0, 0, 0, 1], text: '2001:0:0:1::1' },
    { groups: [0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], text: '2001:db8::1:0:0:1' },
    { groups: [0xfd00, 0xabcd, 0, 0, 0, 0, 0, 0], text: 'fd00:abcd::' },
  ] as const;
  for (const row of ROWS) {
    test(`${row.groups.map((g) => g.toString(16)).join(' ')} prints as ${row.text}`, () => {
      assert.equal(formatIpv6Groups(row.groups), row.text);
      const bytes = Buffer.alloc(16);
      row.groups.forEach((g, i) => bytes.writeUInt16BE(g, 2 * i));
      assert.equal(readIPv6(bytes, 0), row.text, 'the BGP codec');
      const longhand = row.groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
      assert.equal(canonicalIp(longhand.toUpperCase()), row.text, 'the address library');
    });
  }
});
