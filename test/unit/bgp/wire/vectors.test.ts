// Byte-exact messages written by hand from RFC 4271 4, RFC 5492, RFC 6793, RFC 2918 and RFC 4724:
// the encoder must produce exactly these octets and the decoder must read them back.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Origin } from '../../../../src/bgp/types.js';
import {
  decodeMessage,
  encodeEndOfRib,
  encodeMessage,
  encodeUpdates,
  type BgpMessage,
  type CodecContext,
} from '../../../../src/bgp/wire/index.js';
import { hex } from './handmade.js';

const MARKER = 'ffffffffffffffffffffffffffffffff';
const FOUR: CodecContext = { fourOctetAs: true };

const vectors: { name: string; message: BgpMessage; wire: string }[] = [
  {
    name: 'KEEPALIVE is the bare 19-octet header of type 4',
    message: { type: 'keepalive' },
    wire: `${MARKER} 0013 04`,
  },
  {
    name: 'OPEN from AS 65001, hold 90, id 192.0.2.1 with IPv4 unicast, route refresh and 4-octet AS',
    message: {
      type: 'open',
      version: 4,
      myAs: 65001,
      holdTime: 90,
      bgpId: '192.0.2.1',
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'route-refresh' },
        { kind: 'four-octet-as', asn: 65001 },
      ],
    },
    wire: `${MARKER} 002d 01  04 fde9 005a c0000201 10  02 0e  01 04 0001 00 01  02 00  41 04 0000fde9`,
  },
  {
    name: 'OPEN from a 4-octet AS carries AS_TRANS and a graceful restart capability with the R bit',
    message: {
      type: 'open',
      version: 4,
      myAs: 23456,
      holdTime: 180,
      bgpId: '10.0.0.1',
      capabilities: [
        { kind: 'four-octet-as', asn: 4200000000 },
        {
          kind: 'graceful-restart',
          restarting: true,
          notification: false,
          restartTimeSec: 120,
          families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
        },
      ],
    },
    wire: `${MARKER} 002d 01  04 5ba0 00b4 0a000001 10  02 0e  41 04 fa56ea00  40 06 8078 0001 01 80`,
  },
  {
    name: 'NOTIFICATION Cease / Administrative Shutdown with no data',
    message: { type: 'notification', code: 6, subcode: 2, data: Buffer.alloc(0) },
    wire: `${MARKER} 0015 03 06 02`,
  },
  {
    name: 'ROUTE-REFRESH for IPv6 unicast',
    message: { type: 'route-refresh', afi: 2, safi: 1, subtype: 0 },
    wire: `${MARKER} 0017 05 0002 00 01`,
  },
];

describe('hand-written wire vectors', () => {
  for (const v of vectors) {
    test(`${v.name}: encodes to the exact octets`, () => {
      assert.equal(encodeMessage(v.message, FOUR).toString('hex'), hex(v.wire).toString('hex'));
    });
    test(`${v.name}: decodes back to the same message`, () => {
      assert.deepEqual(decodeMessage(hex(v.wire), FOUR), v.message);
    });
  }

  test('UPDATE announcing 198.51.100.0/24 via 192.0.2.1 with AS_PATH 65001 (4-octet session)', () => {
    const wire = hex(
      `${MARKER} 002f 02  0000  0014  40 01 01 00  40 02 06 02 01 0000fde9  40 03 04 c0000201  18 c63364`,
    );
    const attrs = {
      origin: Origin.IGP,
      asPath: [{ type: 'sequence' as const, asns: [65001] }],
      nextHop: '192.0.2.1',
    };
    const prefix = { family: 'ipv4' as const, address: '198.51.100.0', length: 24 };
    assert.deepEqual(encodeUpdates(attrs, [prefix], FOUR), [wire]);
    assert.deepEqual(decodeMessage(wire, FOUR), {
      type: 'update',
      withdrawn: [],
      announced: [{ attributes: attrs, prefixes: [prefix] }],
      treatAsWithdraw: false,
      attributeErrors: [],
    });
  });

  test('the same UPDATE on a 2-octet session writes 2-octet AS numbers', () => {
    const wire = hex(
      `${MARKER} 002d 02  0000  0012  40 01 01 00  40 02 04 02 01 fde9  40 03 04 c0000201  18 c63364`,
    );
    const attrs = {
      origin: Origin.IGP,
      asPath: [{ type: 'sequence' as const, asns: [65001] }],
      nextHop: '192.0.2.1',
    };
    const prefix = { family: 'ipv4' as const, address: '198.51.100.0', length: 24 };
    assert.deepEqual(encodeUpdates(attrs, [prefix], { fourOctetAs: false }), [wire]);
  });

  test('End-of-RIB for IPv4 unicast is an UPDATE with nothing in it (RFC 4724 2)', () => {
    assert.equal(encodeEndOfRib('ipv4').toString('hex'), hex(`${MARKER} 0017 02 0000 0000`).toString('hex'));
  });

  test('End-of-RIB for IPv6 unicast is an UPDATE holding only an empty MP_UNREACH_NLRI', () => {
    const wire = hex(`${MARKER} 001d 02 0000 0006 80 0f 03 0002 01`);
    assert.equal(encodeEndOfRib('ipv6').toString('hex'), wire.toString('hex'));
    assert.equal((decodeMessage(wire, FOUR) as { endOfRib?: string }).endOfRib, 'ipv6');
  });
});
