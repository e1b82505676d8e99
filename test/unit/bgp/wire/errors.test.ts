// Every NOTIFICATION the decoder raises, and what RFC 7606 turns the UPDATE errors into. Each row
// names the bytes that are wrong and the (code, subcode) or RFC 7606 action that must come out.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BgpProtocolError,
  decodeMessage,
  ErrorCode,
  MessageHeaderSubcode,
  MessageFramer,
  OpenMessageSubcode,
  UpdateMessageSubcode,
  type CodecContext,
  type UpdateMessage,
} from '../../../../src/bgp/wire/index.js';
import {
  AS_PATH_2,
  AS_PATH_4,
  attr,
  hex,
  MANDATORY_4,
  message,
  NEXT_HOP_192_0_2_1,
  NLRI_198_51_100,
  ORIGIN_IGP,
  update,
} from './handmade.js';

const MARKER = 'ffffffffffffffffffffffffffffffff';
const RFC7606: CodecContext = { fourOctetAs: true };
const STRICT: CodecContext = { fourOctetAs: true, errorHandling: 'strict' };
const TWO_OCTET: CodecContext = { fourOctetAs: false };

function expectNotification(
  bytes: Buffer,
  ctx: CodecContext,
  code: ErrorCode,
  subcode: number,
  data?: Buffer,
): void {
  assert.throws(
    () => decodeMessage(bytes, ctx),
    (e: unknown) => {
      assert.ok(e instanceof BgpProtocolError, `expected BgpProtocolError, got ${String(e)}`);
      assert.equal(e.notification.code, code, e.message);
      assert.equal(e.notification.subcode, subcode, e.message);
      if (data !== undefined) assert.equal(e.notification.data.toString('hex'), data.toString('hex'));
      return true;
    },
  );
}

/** OPEN body: version, AS, hold time, identifier, then optional parameters. */
function open(fields: { version?: number; hold?: number; id?: string; params?: string }): Buffer {
  const params = hex(fields.params ?? '');
  const body = Buffer.concat([
    Buffer.from([fields.version ?? 4]),
    hex('fde9'),
    hex((fields.hold ?? 90).toString(16).padStart(4, '0')),
    hex(fields.id ?? 'c0000201'),
    Buffer.from([params.length]),
    params,
  ]);
  return message(1, body);
}

const headerAndOpenCases: {
  name: string;
  bytes: Buffer;
  code: ErrorCode;
  subcode: number;
  data?: Buffer;
}[] = [
  {
    name: 'a marker octet that is not 0xff: Connection Not Synchronized',
    bytes: hex(`ffffffffffffffffffffffffffff00ff 0013 04`),
    code: ErrorCode.MessageHeader,
    subcode: MessageHeaderSubcode.ConnectionNotSynchronized,
  },
  {
    name: 'length 18, below the header size: Bad Message Length with the length as data',
    bytes: hex(`${MARKER} 0012 04`),
    code: ErrorCode.MessageHeader,
    subcode: MessageHeaderSubcode.BadMessageLength,
    data: hex('0012'),
  },
  {
    name: 'length 4097: Bad Message Length',
    bytes: Buffer.concat([hex(`${MARKER} 1001 02`), Buffer.alloc(4078)]),
    code: ErrorCode.MessageHeader,
    subcode: MessageHeaderSubcode.BadMessageLength,
    data: hex('1001'),
  },
  {
    name: 'a KEEPALIVE with one extra octet: Bad Message Length',
    bytes: hex(`${MARKER} 0014 04 00`),
    code: ErrorCode.MessageHeader,
    subcode: MessageHeaderSubcode.BadMessageLength,
    data: hex('0014'),
  },
  {
    name: 'an OPEN shorter than 29 octets: Bad Message Length',
    bytes: hex(`${MARKER} 001c 01 04 fde9 005a c0000201`),
    code: ErrorCode.MessageHeader,
    subcode: MessageHeaderSubcode.BadMessageLength,
  },
  {
    name: 'a ROUTE-REFRESH of 24 octets: Bad Message Length',
    bytes: hex(`${MARKER} 0018 05 0001 00 01 00`),
    code: ErrorCode.MessageHeader,
    subcode: MessageHeaderSubcode.BadMessageLength,
  },
  {
    name: 'message type 7: Bad Message Type with the type as data',
    bytes: hex(`${MARKER} 0013 07`),
    code: ErrorCode.MessageHeader,
    subcode: MessageHeaderSubcode.BadMessageType,
    data: hex('07'),
  },
  {
    name: 'OPEN version 3: Unsupported Version Number naming version 4',
    bytes: open({ version: 3 }),
    code: ErrorCode.OpenMessage,
    subcode: OpenMessageSubcode.UnsupportedVersionNumber,
    data: hex('0004'),
  },
  {
    name: 'OPEN hold time 2 seconds: Unacceptable Hold Time',
    bytes: open({ hold: 2 }),
    code: ErrorCode.OpenMessage,
    subcode: OpenMessageSubcode.UnacceptableHoldTime,
  },
  {
    name: 'OPEN hold time 1 second: Unacceptable Hold Time',
    bytes: open({ hold: 1 }),
    code: ErrorCode.OpenMessage,
    subcode: OpenMessageSubcode.UnacceptableHoldTime,
  },
  {
    name: 'OPEN BGP identifier 0.0.0.0: Bad BGP Identifier',
    bytes: open({ id: '00000000' }),
    code: ErrorCode.OpenMessage,
    subcode: OpenMessageSubcode.BadBgpIdentifier,
  },
  {
    name: 'OPEN optional parameter type 1 (authentication): Unsupported Optional Parameter',
    bytes: open({ params: '01 02 abcd' }),
    code: ErrorCode.OpenMessage,
    subcode: OpenMessageSubcode.UnsupportedOptionalParameter,
  },
  {
    name: 'OPEN multiprotocol capability of length 3: OPEN Message Error (malformed capability)',
    bytes: open({ params: '02 05 01 03 000100' }),
    code: ErrorCode.OpenMessage,
    subcode: OpenMessageSubcode.Unspecific,
  },
  {
    name: 'OPEN capability running past its parameter: OPEN Message Error',
    bytes: open({ params: '02 03 41 04 00' }),
    code: ErrorCode.OpenMessage,
    subcode: OpenMessageSubcode.Unspecific,
  },
  {
    name: 'OPEN optional parameters length larger than the message: OPEN Message Error',
    bytes: message(1, hex('04 fde9 005a c0000201 08 0200')),
    code: ErrorCode.OpenMessage,
    subcode: OpenMessageSubcode.Unspecific,
  },
];

describe('header and OPEN errors raise the RFC 4271 6.1 / 6.2 NOTIFICATION', () => {
  for (const c of headerAndOpenCases) {
    test(c.name, () => expectNotification(c.bytes, RFC7606, c.code, c.subcode, c.data));
  }

  test('the framer raises Connection Not Synchronized on a bad marker in the stream', () => {
    const framer = new MessageFramer();
    assert.throws(
      () => framer.push(hex(`00${'ff'.repeat(15)} 0013 04`)),
      (e: unknown) =>
        e instanceof BgpProtocolError &&
        e.notification.subcode === MessageHeaderSubcode.ConnectionNotSynchronized,
    );
  });

  test('the framer raises Bad Message Length for a header claiming 5000 octets', () => {
    const framer = new MessageFramer();
    assert.throws(
      () => framer.push(hex(`${MARKER} 1388 02`)),
      (e: unknown) =>
        e instanceof BgpProtocolError && e.notification.subcode === MessageHeaderSubcode.BadMessageLength,
    );
  });
});

/**
 * UPDATE errors. `strict` is the RFC 4271 6.3 NOTIFICATION; `rfc7606` is what revised error
 * handling does instead: 'reset' (the same NOTIFICATION), 'treat-as-withdraw' or 'attribute-discard'.
 */
const updateCases: {
  name: string;
  bytes: Buffer;
  ctx?: CodecContext;
  strict: UpdateMessageSubcode;
  data?: Buffer;
  rfc7606: 'reset' | 'treat-as-withdraw' | 'attribute-discard';
}[] = [
  {
    name: 'withdrawn routes length running past the message',
    bytes: message(2, hex('00ff 0000')),
    strict: UpdateMessageSubcode.MalformedAttributeList,
    rfc7606: 'reset',
  },
  {
    name: 'total path attribute length running past the message',
    bytes: message(2, hex('0000 00ff 400101 00')),
    strict: UpdateMessageSubcode.MalformedAttributeList,
    rfc7606: 'reset',
  },
  {
    name: 'an attribute whose length runs past the path attributes',
    bytes: update({ attrs: [ORIGIN_IGP, AS_PATH_4, hex('40 03 09 c0000201')], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.AttributeLengthError,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'an attribute overrun in an UPDATE with no NLRI field and no MP attribute found (nothing to withdraw)',
    bytes: update({ attrs: [ORIGIN_IGP, AS_PATH_4, hex('80 0e 40 0002 01 10')] }),
    strict: UpdateMessageSubcode.AttributeLengthError,
    rfc7606: 'reset',
  },
  {
    name: 'fewer than three octets left for an attribute header',
    bytes: update({ attrs: [...MANDATORY_4, hex('40 05')], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.MalformedAttributeList,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'ORIGIN marked optional: Attribute Flags Error with the attribute as data',
    bytes: update({ attrs: [attr(0xc0, 1, '00'), AS_PATH_4, NEXT_HOP_192_0_2_1], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.AttributeFlagsError,
    data: hex('c0 01 01 00'),
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'ORIGIN with the Partial bit (only optional transitive attributes may have it)',
    bytes: update({ attrs: [attr(0x60, 1, '00'), AS_PATH_4, NEXT_HOP_192_0_2_1], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.AttributeFlagsError,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'ORIGIN of length 2: Attribute Length Error',
    bytes: update({ attrs: [attr(0x40, 1, '0000'), AS_PATH_4, NEXT_HOP_192_0_2_1], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.AttributeLengthError,
    data: hex('40 01 02 0000'),
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'ORIGIN missing: Missing Well-known Attribute with type code 1 as data',
    bytes: update({ attrs: [AS_PATH_4, NEXT_HOP_192_0_2_1], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.MissingWellKnownAttribute,
    data: hex('01'),
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'AS_PATH missing',
    bytes: update({ attrs: [ORIGIN_IGP, NEXT_HOP_192_0_2_1], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.MissingWellKnownAttribute,
    data: hex('02'),
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'NEXT_HOP missing while the NLRI field has routes',
    bytes: update({ attrs: [ORIGIN_IGP, AS_PATH_4], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.MissingWellKnownAttribute,
    data: hex('03'),
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'ORIGIN value 3: Invalid ORIGIN Attribute',
    bytes: update({ attrs: [attr(0x40, 1, '03'), AS_PATH_4, NEXT_HOP_192_0_2_1], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.InvalidOriginAttribute,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'NEXT_HOP 0.0.0.0: Invalid NEXT_HOP Attribute',
    bytes: update({ attrs: [ORIGIN_IGP, AS_PATH_4, attr(0x40, 3, '00000000')], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.InvalidNextHopAttribute,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'NEXT_HOP 224.0.0.5 (multicast): Invalid NEXT_HOP Attribute',
    bytes: update({ attrs: [ORIGIN_IGP, AS_PATH_4, attr(0x40, 3, 'e0000005')], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.InvalidNextHopAttribute,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'NEXT_HOP of length 5: Attribute Length Error',
    bytes: update({ attrs: [ORIGIN_IGP, AS_PATH_4, attr(0x40, 3, 'c000020100')], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.AttributeLengthError,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'AS_PATH segment type 5: Malformed AS_PATH',
    bytes: update({
      attrs: [ORIGIN_IGP, attr(0x40, 2, '05 01 0000fde9'), NEXT_HOP_192_0_2_1],
      nlri: NLRI_198_51_100,
    }),
    strict: UpdateMessageSubcode.MalformedAsPath,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'AS_PATH segment claiming more AS numbers than it holds: Malformed AS_PATH',
    bytes: update({
      attrs: [ORIGIN_IGP, attr(0x40, 2, '02 03 0000fde9'), NEXT_HOP_192_0_2_1],
      nlri: NLRI_198_51_100,
    }),
    strict: UpdateMessageSubcode.MalformedAsPath,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'AS_PATH segment with zero AS numbers (RFC 7606 7.2)',
    bytes: update({ attrs: [ORIGIN_IGP, attr(0x40, 2, '02 00'), NEXT_HOP_192_0_2_1], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.MalformedAsPath,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'MULTI_EXIT_DISC of length 3',
    bytes: update({ attrs: [...MANDATORY_4, attr(0x80, 4, '000001')], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.AttributeLengthError,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'LOCAL_PREF of length 2',
    bytes: update({ attrs: [...MANDATORY_4, attr(0x40, 5, '0064')], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.AttributeLengthError,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'ATOMIC_AGGREGATE with a value octet',
    bytes: update({ attrs: [...MANDATORY_4, attr(0x40, 6, '01')], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.AttributeLengthError,
    rfc7606: 'attribute-discard',
  },
  {
    name: 'AGGREGATOR of 6 octets on a 4-octet session',
    bytes: update({ attrs: [...MANDATORY_4, attr(0xc0, 7, 'fde9 c0000201')], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.AttributeLengthError,
    rfc7606: 'attribute-discard',
  },
  {
    name: 'COMMUNITIES of length 3',
    bytes: update({ attrs: [...MANDATORY_4, attr(0xc0, 8, 'ffff01')], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.AttributeLengthError,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'ORIGINATOR_ID of length 3',
    bytes: update({ attrs: [...MANDATORY_4, attr(0x80, 9, '0a0000')], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.AttributeLengthError,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'CLUSTER_LIST of length 5',
    bytes: update({ attrs: [...MANDATORY_4, attr(0x80, 10, '0a00000101')], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.AttributeLengthError,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'AS4_PATH with a bad segment on a 2-octet session: Optional Attribute Error',
    bytes: update({
      attrs: [ORIGIN_IGP, AS_PATH_2, NEXT_HOP_192_0_2_1, attr(0xc0, 17, '09 01 0000fde9')],
      nlri: NLRI_198_51_100,
    }),
    ctx: TWO_OCTET,
    strict: UpdateMessageSubcode.OptionalAttributeError,
    rfc7606: 'attribute-discard',
  },
  {
    name: 'AS4_AGGREGATOR of 6 octets',
    bytes: update({
      attrs: [ORIGIN_IGP, AS_PATH_2, NEXT_HOP_192_0_2_1, attr(0xc0, 18, '5ba0 c0000201')],
      nlri: NLRI_198_51_100,
    }),
    ctx: TWO_OCTET,
    strict: UpdateMessageSubcode.AttributeLengthError,
    rfc7606: 'attribute-discard',
  },
  {
    name: 'MP_REACH_NLRI too short to hold AFI, SAFI and next hop length: Optional Attribute Error',
    bytes: update({ attrs: [ORIGIN_IGP, AS_PATH_4, attr(0x80, 14, '0002 01')] }),
    strict: UpdateMessageSubcode.OptionalAttributeError,
    rfc7606: 'reset',
  },
  {
    name: 'MP_REACH_NLRI next hop length running past the attribute',
    bytes: update({ attrs: [ORIGIN_IGP, AS_PATH_4, attr(0x80, 14, '0002 01 20 20010db8')] }),
    strict: UpdateMessageSubcode.OptionalAttributeError,
    rfc7606: 'reset',
  },
  {
    name: 'MP_REACH_NLRI marked transitive: Attribute Flags Error even under RFC 7606',
    bytes: update({
      attrs: [
        ORIGIN_IGP,
        AS_PATH_4,
        attr(0xc0, 14, '0002 01 10 20010db8000000000000000000000001 00 30 20010db80001'),
      ],
    }),
    strict: UpdateMessageSubcode.AttributeFlagsError,
    rfc7606: 'reset',
  },
  {
    name: 'MP_REACH_NLRI IPv6 next hop of 4 octets (RFC 7606 7.11: the NLRI can still be withdrawn)',
    bytes: update({
      attrs: [ORIGIN_IGP, AS_PATH_4, attr(0x80, 14, '0002 01 04 0a000001 00 30 20010db80001')],
    }),
    strict: UpdateMessageSubcode.OptionalAttributeError,
    rfc7606: 'treat-as-withdraw',
  },
  {
    name: 'MP_REACH_NLRI with an IPv6 prefix length of 129: Invalid Network Field',
    bytes: update({
      attrs: [
        ORIGIN_IGP,
        AS_PATH_4,
        attr(0x80, 14, '0002 01 10 20010db8000000000000000000000001 00 81 20010db8'),
      ],
    }),
    strict: UpdateMessageSubcode.InvalidNetworkField,
    rfc7606: 'reset',
  },
  {
    name: 'MP_REACH_NLRI appearing twice: Malformed Attribute List even under RFC 7606',
    bytes: update({
      attrs: [
        ORIGIN_IGP,
        AS_PATH_4,
        attr(0x80, 14, '0002 01 10 20010db8000000000000000000000001 00 30 20010db80001'),
        attr(0x80, 14, '0002 01 10 20010db8000000000000000000000001 00 30 20010db80002'),
      ],
    }),
    strict: UpdateMessageSubcode.MalformedAttributeList,
    rfc7606: 'reset',
  },
  {
    name: 'MED appearing twice (RFC 7606 3(g): keep the first, discard the rest)',
    bytes: update({
      attrs: [...MANDATORY_4, attr(0x80, 4, '00000001'), attr(0x80, 4, '00000002')],
      nlri: NLRI_198_51_100,
    }),
    strict: UpdateMessageSubcode.MalformedAttributeList,
    rfc7606: 'attribute-discard',
  },
  {
    name: 'an unrecognized well-known attribute (type 99 without the Optional bit)',
    bytes: update({ attrs: [...MANDATORY_4, attr(0x40, 99, 'aa')], nlri: NLRI_198_51_100 }),
    strict: UpdateMessageSubcode.UnrecognizedWellKnownAttribute,
    data: hex('40 63 01 aa'),
    rfc7606: 'reset',
  },
  {
    name: 'NLRI prefix length 33: Invalid Network Field',
    bytes: update({ attrs: MANDATORY_4, nlri: '21 c6336400' }),
    strict: UpdateMessageSubcode.InvalidNetworkField,
    rfc7606: 'reset',
  },
  {
    name: 'NLRI prefix running past the message: Invalid Network Field',
    bytes: update({ attrs: MANDATORY_4, nlri: '18 c633' }),
    strict: UpdateMessageSubcode.InvalidNetworkField,
    rfc7606: 'reset',
  },
  {
    name: 'withdrawn prefix running past its field: Invalid Network Field',
    bytes: update({ withdrawn: '18 c633' }),
    strict: UpdateMessageSubcode.InvalidNetworkField,
    rfc7606: 'reset',
  },
];

describe('UPDATE errors', () => {
  for (const c of updateCases) {
    test(`strict: ${c.name} raises UPDATE Message Error / ${UpdateMessageSubcode[c.strict]}`, () => {
      expectNotification(
        c.bytes,
        { ...(c.ctx ?? RFC7606), errorHandling: 'strict' },
        ErrorCode.UpdateMessage,
        c.strict,
        c.data,
      );
    });

    test(`RFC 7606: ${c.name} is handled by ${c.rfc7606}`, () => {
      const ctx = c.ctx ?? RFC7606;
      if (c.rfc7606 === 'reset') {
        expectNotification(c.bytes, ctx, ErrorCode.UpdateMessage, c.strict);
        return;
      }
      const u = decodeMessage(c.bytes, ctx) as UpdateMessage;
      assert.equal(u.type, 'update');
      assert.ok(u.attributeErrors.length > 0, 'the error is reported');
      assert.ok(
        u.attributeErrors.some((e) => e.action === c.rfc7606 && e.subcode === c.strict),
        JSON.stringify(u.attributeErrors),
      );
      if (c.rfc7606 === 'treat-as-withdraw') {
        assert.equal(u.treatAsWithdraw, true);
        assert.deepEqual(u.announced, []);
        assert.ok(u.withdrawn.length > 0, 'the announced prefixes are withdrawn instead');
      } else {
        assert.equal(u.treatAsWithdraw, false);
        assert.equal(u.announced.length, 1, 'the routes are still announced without the bad attribute');
      }
    });
  }
});

describe('RFC 7606 outcomes in detail', () => {
  test('treat-as-withdraw moves every announced prefix, IPv4 and MP, into withdrawn', () => {
    const bytes = update({
      attrs: [
        attr(0x40, 1, '07'),
        AS_PATH_4,
        NEXT_HOP_192_0_2_1,
        attr(0x80, 14, '0002 01 10 20010db8000000000000000000000001 00 30 20010db80001'),
      ],
      nlri: NLRI_198_51_100,
      withdrawn: '10 0a01',
    });
    const u = decodeMessage(bytes, RFC7606) as UpdateMessage;
    assert.deepEqual(
      u.withdrawn.map((p) => `${p.address}/${p.length}`),
      ['10.1.0.0/16', '198.51.100.0/24', '2001:db8:1::/48'],
    );
    assert.deepEqual(u.announced, []);
  });

  test('a discarded AGGREGATOR leaves the route announced without it', () => {
    const bytes = update({ attrs: [...MANDATORY_4, attr(0xc0, 7, 'fde9 c0000201')], nlri: NLRI_198_51_100 });
    const u = decodeMessage(bytes, RFC7606) as UpdateMessage;
    assert.equal(u.announced[0]?.attributes.aggregator, undefined);
    assert.equal(u.announced[0]?.attributes.nextHop, '192.0.2.1');
  });

  test('a repeated MED keeps the first value', () => {
    const bytes = update({
      attrs: [...MANDATORY_4, attr(0x80, 4, '00000001'), attr(0x80, 4, '00000002')],
      nlri: NLRI_198_51_100,
    });
    assert.equal((decodeMessage(bytes, RFC7606) as UpdateMessage).announced[0]?.attributes.med, 1);
  });

  test('an unknown optional transitive attribute is kept with the Partial bit set', () => {
    const bytes = update({ attrs: [...MANDATORY_4, attr(0xc0, 99, 'abcd')], nlri: NLRI_198_51_100 });
    const u = decodeMessage(bytes, RFC7606) as UpdateMessage;
    assert.deepEqual(u.announced[0]?.attributes.unknown, [{ flags: 0xe0, typeCode: 99, value: hex('abcd') }]);
  });

  test('an unknown optional non-transitive attribute is dropped silently', () => {
    const bytes = update({ attrs: [...MANDATORY_4, attr(0x80, 99, 'abcd')], nlri: NLRI_198_51_100 });
    const u = decodeMessage(bytes, RFC7606) as UpdateMessage;
    assert.equal(u.announced[0]?.attributes.unknown, undefined);
    assert.deepEqual(u.attributeErrors, []);
  });

  test('LOCAL_PREF from an external peer is ignored, not an error (RFC 4271 5.1.5)', () => {
    const bytes = update({ attrs: [...MANDATORY_4, attr(0x40, 5, '00000064')], nlri: NLRI_198_51_100 });
    const u = decodeMessage(bytes, { fourOctetAs: true, peerIsExternal: true }) as UpdateMessage;
    assert.equal(u.announced[0]?.attributes.localPref, undefined);
    assert.equal(u.treatAsWithdraw, false);
    const internal = decodeMessage(bytes, RFC7606) as UpdateMessage;
    assert.equal(internal.announced[0]?.attributes.localPref, 100);
  });

  test('an UPDATE that only withdraws needs no mandatory attributes', () => {
    const u = decodeMessage(update({ withdrawn: '18 c63364' }), STRICT) as UpdateMessage;
    assert.deepEqual(u.withdrawn, [{ family: 'ipv4', address: '198.51.100.0', length: 24 }]);
    assert.deepEqual(u.attributeErrors, []);
  });

  test('an MP_REACH_NLRI of an unsupported family is ignored and reported', () => {
    const bytes = update({ attrs: [ORIGIN_IGP, AS_PATH_4, attr(0x80, 14, '0019 41 04 0a000001 00')] });
    const u = decodeMessage(bytes, RFC7606) as UpdateMessage;
    assert.deepEqual(u.announced, []);
    assert.equal(u.attributeErrors[0]?.action, 'attribute-discard');
  });
});
