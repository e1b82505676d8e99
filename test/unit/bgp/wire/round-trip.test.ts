// encode → decode gives back what went in, for every message type, every attribute and both AS
// number sizes; and the packing encoder splits at 4,096 octets without losing a prefix.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_EXPORT, Origin, type PathAttributes, type Prefix } from '../../../../src/bgp/types.js';
import {
  AS_TRANS,
  decodeMessage,
  encodeMessage,
  encodeUpdates,
  encodeWithdrawals,
  formatPathAttributes,
  MAX_MESSAGE_LENGTH,
  MessageFramer,
  type BgpMessage,
  type CodecContext,
  type UpdateMessage,
} from '../../../../src/bgp/wire/index.js';
import { attr, update } from './handmade.js';

const FOUR: CodecContext = { fourOctetAs: true };
const TWO: CodecContext = { fourOctetAs: false };

const v4 = (address: string, length: number): Prefix => ({ family: 'ipv4', address, length });
const v6 = (address: string, length: number): Prefix => ({ family: 'ipv6', address, length });

const FULL: PathAttributes = {
  origin: Origin.Incomplete,
  asPath: [
    { type: 'sequence', asns: [65001, 4200000001, 65002] },
    { type: 'set', asns: [65010, 65011] },
  ],
  nextHop: '192.0.2.1',
  med: 50,
  localPref: 200,
  atomicAggregate: true,
  aggregator: { asn: 4200000009, address: '192.0.2.9' },
  communities: [NO_EXPORT, 65001 * 65536 + 100],
  originatorId: '10.0.0.7',
  clusterList: ['10.0.0.1', '10.0.0.2'],
  unknown: [{ flags: 0xe0, typeCode: 32, value: Buffer.from('0000fde900000001', 'hex') }],
};

function roundTrip(msg: BgpMessage, ctx: CodecContext): BgpMessage {
  return decodeMessage(encodeMessage(msg, ctx), ctx);
}

function announce(attributes: PathAttributes, prefixes: Prefix[]): UpdateMessage {
  return {
    type: 'update',
    withdrawn: [],
    announced: [{ attributes, prefixes }],
    treatAsWithdraw: false,
    attributeErrors: [],
  };
}

describe('round trips', () => {
  const messages: { name: string; msg: BgpMessage; ctx?: CodecContext }[] = [
    { name: 'KEEPALIVE', msg: { type: 'keepalive' } },
    {
      name: 'NOTIFICATION with data',
      msg: { type: 'notification', code: 2, subcode: 2, data: Buffer.from('fde9', 'hex') },
    },
    { name: 'ROUTE-REFRESH IPv4 unicast', msg: { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 } },
    {
      name: 'OPEN with every capability kind, unknown ones kept raw',
      msg: {
        type: 'open',
        version: 4,
        myAs: AS_TRANS,
        holdTime: 0,
        bgpId: '10.255.0.1',
        capabilities: [
          { kind: 'multiprotocol', afi: 1, safi: 1 },
          { kind: 'multiprotocol', afi: 2, safi: 1 },
          { kind: 'route-refresh' },
          { kind: 'four-octet-as', asn: 4294967294 },
          {
            kind: 'graceful-restart',
            restarting: false,
            notification: true,
            restartTimeSec: 4095,
            families: [
              { afi: 1, safi: 1, forwardingPreserved: false },
              { afi: 2, safi: 1, forwardingPreserved: true },
            ],
          },
          { kind: 'unknown', code: 70, value: Buffer.alloc(0) },
          { kind: 'unknown', code: 73, value: Buffer.from('6e6f646531', 'hex') },
        ],
      },
    },
    {
      name: 'UPDATE with every attribute, 4-octet AS',
      msg: announce(FULL, [v4('10.65.0.0', 26), v4('0.0.0.0', 0)]),
    },
    {
      name: 'UPDATE with every attribute, 2-octet AS (AS4_PATH and AS4_AGGREGATOR carry the big ASNs)',
      msg: announce(FULL, [v4('10.65.0.0', 26)]),
      ctx: TWO,
    },
    {
      name: 'UPDATE with a confederation sequence on a 2-octet session',
      msg: announce(
        {
          origin: Origin.IGP,
          asPath: [
            { type: 'confed-sequence', asns: [64512] },
            { type: 'sequence', asns: [65001] },
          ],
          nextHop: '192.0.2.1',
        },
        [v4('10.0.0.0', 8)],
      ),
      ctx: TWO,
    },
    {
      name: 'UPDATE with IPv6 routes in MP_REACH_NLRI, global and link-local next hop',
      msg: announce(
        {
          origin: Origin.IGP,
          asPath: [],
          nextHop: '2001:db8::1',
          nextHopLinkLocal: 'fe80::1:2',
          localPref: 100,
        },
        [v6('2001:db8:100::', 56), v6('::', 0), v6('2001:db8::1', 128)],
      ),
    },
    {
      name: 'UPDATE with IPv4 routes in MP_REACH_NLRI',
      msg: announce(
        { origin: Origin.EGP, asPath: [{ type: 'sequence', asns: [1] }], nextHop: '198.51.100.1' },
        [v4('203.0.113.0', 24)],
      ),
      ctx: { fourOctetAs: true, mpFamilies: ['ipv4'] },
    },
    {
      name: 'UPDATE withdrawing IPv4 and IPv6 at once',
      msg: {
        type: 'update',
        withdrawn: [v4('10.1.0.0', 16), v6('2001:db8::', 32)],
        announced: [],
        treatAsWithdraw: false,
        attributeErrors: [],
      },
    },
    {
      name: 'UPDATE announcing IPv4 and IPv6 together with their own next hops',
      msg: {
        type: 'update',
        withdrawn: [],
        announced: [
          {
            attributes: { origin: Origin.IGP, asPath: [], nextHop: '192.0.2.1' },
            prefixes: [v4('10.2.0.0', 16)],
          },
          {
            attributes: { origin: Origin.IGP, asPath: [], nextHop: '2001:db8::2' },
            prefixes: [v6('2001:db8:2::', 48)],
          },
        ],
        treatAsWithdraw: false,
        attributeErrors: [],
      },
    },
    {
      name: 'IPv6 End-of-RIB',
      msg: {
        type: 'update',
        withdrawn: [],
        announced: [],
        treatAsWithdraw: false,
        attributeErrors: [],
        endOfRib: 'ipv6',
      },
    },
    {
      name: 'IPv4 End-of-RIB',
      msg: {
        type: 'update',
        withdrawn: [],
        announced: [],
        treatAsWithdraw: false,
        attributeErrors: [],
        endOfRib: 'ipv4',
      },
    },
  ];
  for (const { name, msg, ctx } of messages) {
    test(`${name} survives encode and decode unchanged`, () => {
      assert.deepEqual(roundTrip(msg, ctx ?? FOUR), msg);
    });
  }

  const single: { name: string; attrs: Partial<PathAttributes> }[] = [
    { name: 'ORIGIN EGP', attrs: { origin: Origin.EGP } },
    {
      name: 'AS_PATH with a long sequence split into 255-AS segments',
      attrs: { asPath: [{ type: 'sequence', asns: Array.from({ length: 300 }, (_, i) => 64512 + i) }] },
    },
    { name: 'AS_PATH confed set', attrs: { asPath: [{ type: 'confed-set', asns: [64512, 64513] }] } },
    { name: 'MED 0', attrs: { med: 0 } },
    { name: 'MED 2^32-1', attrs: { med: 0xffffffff } },
    { name: 'LOCAL_PREF', attrs: { localPref: 4000000000 } },
    { name: 'ATOMIC_AGGREGATE', attrs: { atomicAggregate: true } },
    { name: 'AGGREGATOR 2-octet AS', attrs: { aggregator: { asn: 65001, address: '1.2.3.4' } } },
    {
      name: 'COMMUNITIES over 255 octets (extended length)',
      attrs: { communities: Array.from({ length: 100 }, (_, i) => i) },
    },
    { name: 'ORIGINATOR_ID', attrs: { originatorId: '172.16.0.1' } },
    { name: 'CLUSTER_LIST', attrs: { clusterList: ['1.1.1.1'] } },
    {
      name: 'unknown optional transitive',
      attrs: { unknown: [{ flags: 0xe0, typeCode: 200, value: Buffer.alloc(300, 7) }] },
    },
  ];
  for (const { name, attrs } of single) {
    for (const ctx of [FOUR, TWO]) {
      test(`attribute ${name} round trips (${ctx.fourOctetAs ? '4' : '2'}-octet AS)`, () => {
        const full: PathAttributes = { origin: Origin.IGP, asPath: [], nextHop: '192.0.2.1', ...attrs };
        // Segments over 255 AS numbers come back split, as the one-octet segment length requires.
        const expected = name.startsWith('AS_PATH with a long')
          ? {
              ...full,
              asPath: [
                { type: 'sequence' as const, asns: full.asPath[0]!.asns.slice(0, 255) },
                { type: 'sequence' as const, asns: full.asPath[0]!.asns.slice(255) },
              ],
            }
          : full;
        assert.deepEqual(
          roundTrip(announce(full, [v4('10.0.0.0', 24)]), ctx),
          announce(expected, [v4('10.0.0.0', 24)]),
        );
      });
    }
  }

  test('decoding clears host bits beyond the prefix length', () => {
    const u = decodeMessage(update({ withdrawn: '17 0a0101' }), FOUR) as UpdateMessage;
    assert.deepEqual(u.withdrawn, [v4('10.1.0.0', 23)]);
  });

  test('formatPathAttributes prints one line per attribute in type order', () => {
    assert.deepEqual(formatPathAttributes(FULL).slice(0, 4), [
      'ORIGIN: incomplete',
      'AS_PATH: 65001 4200000001 65002 {65010 65011}',
      'NEXT_HOP: 192.0.2.1',
      'MULTI_EXIT_DISC: 50',
    ]);
  });
});

describe('RFC 6793 AS4 reconstruction on a 2-octet session', () => {
  const prefix = '18 c63364';
  const base = [attr(0x40, 1, '00'), attr(0x40, 3, 'c0000201')];
  const cases: {
    name: string;
    asPath: string;
    extra: Buffer[];
    expected: PathAttributes['asPath'];
    aggregator?: PathAttributes['aggregator'];
  }[] = [
    {
      name: 'AS4_PATH replaces the AS_TRANS tail of AS_PATH',
      asPath: '02 03 fde9 5ba0 5ba0',
      extra: [attr(0xc0, 17, '02 02 fa56ea01 fa56ea02')],
      expected: [{ type: 'sequence', asns: [65001, 4200000001, 4200000002] }],
    },
    {
      name: 'an AS4_PATH longer than AS_PATH is ignored',
      asPath: '02 01 5ba0',
      extra: [attr(0xc0, 17, '02 02 fa56ea01 fa56ea02')],
      expected: [{ type: 'sequence', asns: [AS_TRANS] }],
    },
    {
      name: 'an AGGREGATOR that is not AS_TRANS means AS4_PATH and AS4_AGGREGATOR are stale',
      asPath: '02 02 fde9 5ba0',
      extra: [
        attr(0xc0, 7, 'fdea c0000202'),
        attr(0xc0, 17, '02 01 fa56ea01'),
        attr(0xc0, 18, 'fa56ea09 c0000209'),
      ],
      expected: [{ type: 'sequence', asns: [65001, AS_TRANS] }],
      aggregator: { asn: 65002, address: '192.0.2.2' },
    },
    {
      name: 'AS4_AGGREGATOR replaces an AS_TRANS AGGREGATOR',
      asPath: '02 02 fde9 5ba0',
      extra: [
        attr(0xc0, 7, '5ba0 c0000202'),
        attr(0xc0, 17, '02 01 fa56ea01'),
        attr(0xc0, 18, 'fa56ea09 c0000209'),
      ],
      expected: [{ type: 'sequence', asns: [65001, 4200000001] }],
      aggregator: { asn: 4200000009, address: '192.0.2.9' },
    },
    {
      name: 'an AS_SET counts as one AS when merging',
      asPath: '02 01 fde9 01 02 5ba0 fdea',
      extra: [attr(0xc0, 17, '01 02 fa56ea01 0000fdea')],
      expected: [
        { type: 'sequence', asns: [65001] },
        { type: 'set', asns: [4200000001, 65002] },
      ],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const bytes = update({ attrs: [...base, attr(0x40, 2, c.asPath), ...c.extra], nlri: prefix });
      const u = decodeMessage(bytes, TWO) as UpdateMessage;
      assert.deepEqual(u.announced[0]?.attributes.asPath, c.expected);
      assert.deepEqual(u.announced[0]?.attributes.aggregator, c.aggregator);
    });
  }

  test('AS4_PATH between two 4-octet speakers is ignored', () => {
    const bytes = update({
      attrs: [...base, attr(0x40, 2, '02 01 0000fde9'), attr(0xc0, 17, '02 01 fa56ea01')],
      nlri: prefix,
    });
    const u = decodeMessage(bytes, FOUR) as UpdateMessage;
    assert.deepEqual(u.announced[0]?.attributes.asPath, [{ type: 'sequence', asns: [65001] }]);
  });
});

describe('packing prefixes into 4,096-octet UPDATEs', () => {
  const attrs: PathAttributes = {
    origin: Origin.IGP,
    asPath: [{ type: 'sequence', asns: [65001] }],
    nextHop: '192.0.2.1',
  };
  const many = Array.from({ length: 5000 }, (_, i) => v4(`10.${(i >> 8) & 255}.${i & 255}.0`, 24));
  const many6 = Array.from({ length: 3000 }, (_, i) => v6(`2001:db8:${(i + 1).toString(16)}::`, 48));

  const cases: {
    name: string;
    run: () => Buffer[];
    prefixes: Prefix[];
    ctx: CodecContext;
    announce: boolean;
    minPerMessage: number;
  }[] = [
    {
      name: '5,000 IPv4 /24 announcements',
      run: () => encodeUpdates(attrs, many, FOUR),
      prefixes: many,
      ctx: FOUR,
      announce: true,
      minPerMessage: 1000,
    },
    {
      name: '5,000 IPv4 /24 withdrawals',
      run: () => encodeWithdrawals(many, FOUR),
      prefixes: many,
      ctx: FOUR,
      announce: false,
      minPerMessage: 1000,
    },
    {
      name: '3,000 IPv6 /48 announcements',
      run: () => encodeUpdates({ ...attrs, nextHop: '2001:db8::1' }, many6, FOUR),
      prefixes: many6,
      ctx: FOUR,
      announce: true,
      minPerMessage: 550,
    },
    {
      name: '3,000 IPv6 /48 withdrawals',
      run: () => encodeWithdrawals(many6, FOUR),
      prefixes: many6,
      ctx: FOUR,
      announce: false,
      minPerMessage: 550,
    },
  ];
  for (const c of cases) {
    test(`${c.name}: every message fits, none is under-filled, all prefixes arrive in order`, () => {
      const msgs = c.run();
      const got: Prefix[] = [];
      msgs.forEach((m, i) => {
        assert.ok(m.length <= MAX_MESSAGE_LENGTH, `message ${i} is ${m.length} octets`);
        const u = decodeMessage(m, c.ctx) as UpdateMessage;
        const ps = c.announce ? (u.announced[0]?.prefixes ?? []) : u.withdrawn;
        if (i < msgs.length - 1) {
          assert.ok(ps.length >= c.minPerMessage, `message ${i} holds only ${ps.length} prefixes`);
          assert.ok(m.length > MAX_MESSAGE_LENGTH - 17, `message ${i} leaves room for another prefix`);
        }
        got.push(...ps);
      });
      assert.deepEqual(got, c.prefixes);
    });
  }

  test('mixing families in one call is refused', () => {
    assert.throws(() => encodeUpdates(attrs, [v4('10.0.0.0', 8), v6('2001:db8::', 32)], FOUR), RangeError);
  });
});

describe('MessageFramer', () => {
  const a = encodeMessage({ type: 'keepalive' }, FOUR);
  const b = encodeUpdates(
    { origin: Origin.IGP, asPath: [], nextHop: '192.0.2.1' },
    [v4('10.0.0.0', 8)],
    FOUR,
  )[0]!;
  const stream = Buffer.concat([a, b, a]);

  const splits: { name: string; chunks: number[] }[] = [
    { name: 'the whole stream in one chunk', chunks: [stream.length] },
    { name: 'one octet at a time', chunks: Array.from({ length: stream.length }, () => 1) },
    { name: 'a split inside the marker', chunks: [5, stream.length - 5] },
    { name: 'a split inside the length field', chunks: [17, stream.length - 17] },
    { name: 'a split inside the second message body', chunks: [25, 10, stream.length - 35] },
  ];
  for (const s of splits) {
    test(`yields the same three messages for ${s.name}`, () => {
      const framer = new MessageFramer();
      const out: Buffer[] = [];
      let at = 0;
      for (const n of s.chunks) {
        out.push(...framer.push(stream.subarray(at, at + n)));
        at += n;
      }
      assert.deepEqual(
        out.map((m) => m.toString('hex')),
        [a, b, a].map((m) => m.toString('hex')),
      );
      assert.equal(framer.buffered, 0);
    });
  }
});
