// Property: whatever bytes arrive, the decoder and the framer either return a message or throw
// BgpProtocolError — never another exception, never a hang (each run is bounded by the test timeout).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Origin } from '../../../../src/bgp/types.js';
import {
  BgpProtocolError,
  decodeMessage,
  encodeEndOfRib,
  encodeMessage,
  encodeUpdates,
  encodeWithdrawals,
  MessageFramer,
  type CodecContext,
} from '../../../../src/bgp/wire/index.js';

const CONTEXTS: CodecContext[] = [
  { fourOctetAs: true },
  { fourOctetAs: false },
  { fourOctetAs: true, errorHandling: 'strict' },
  { fourOctetAs: false, errorHandling: 'strict', peerIsExternal: true, mpFamilies: ['ipv4'] },
];

const CORPUS: Buffer[] = [
  encodeMessage({ type: 'keepalive' }, CONTEXTS[0]!),
  encodeMessage({ type: 'notification', code: 6, subcode: 2, data: Buffer.from('bye') }, CONTEXTS[0]!),
  encodeMessage({ type: 'route-refresh', afi: 2, safi: 1, subtype: 0 }, CONTEXTS[0]!),
  encodeMessage(
    {
      type: 'open',
      version: 4,
      myAs: 65001,
      holdTime: 90,
      bgpId: '192.0.2.1',
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'four-octet-as', asn: 65001 },
        {
          kind: 'graceful-restart',
          restarting: true,
          notification: false,
          restartTimeSec: 120,
          families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
        },
      ],
    },
    CONTEXTS[0]!,
  ),
  ...encodeUpdates(
    {
      origin: Origin.IGP,
      asPath: [
        { type: 'sequence', asns: [65001, 4200000001] },
        { type: 'set', asns: [1, 2] },
      ],
      nextHop: '192.0.2.1',
      med: 1,
      localPref: 100,
      atomicAggregate: true,
      aggregator: { asn: 4200000002, address: '192.0.2.2' },
      communities: [0xffffff01],
      originatorId: '10.0.0.1',
      clusterList: ['10.0.0.2'],
      unknown: [{ flags: 0xe0, typeCode: 99, value: Buffer.from('abcd', 'hex') }],
    },
    [
      { family: 'ipv4', address: '10.0.0.0', length: 24 },
      { family: 'ipv4', address: '10.1.0.0', length: 17 },
    ],
    CONTEXTS[1]!,
  ),
  ...encodeUpdates(
    { origin: Origin.IGP, asPath: [], nextHop: '2001:db8::1', nextHopLinkLocal: 'fe80::1' },
    [{ family: 'ipv6', address: '2001:db8:1::', length: 48 }],
    CONTEXTS[0]!,
  ),
  ...encodeWithdrawals([{ family: 'ipv6', address: '2001:db8:1::', length: 48 }], CONTEXTS[0]!),
  ...encodeWithdrawals([{ family: 'ipv4', address: '10.0.0.0', length: 8 }], CONTEXTS[0]!),
  encodeEndOfRib('ipv6'),
];

function decodesOrRaisesTyped(bytes: Buffer, ctx: CodecContext): void {
  try {
    decodeMessage(bytes, ctx);
  } catch (e) {
    if (!(e instanceof BgpProtocolError)) throw e;
    assert.ok(e.notification.code >= 1 && e.notification.code <= 7);
  }
}

/** Sets the header length to the real length, so mutations reach the body decoders. */
function fixLength(b: Buffer): Buffer {
  if (b.length >= 18) b.writeUInt16BE(Math.min(b.length, 0xffff), 16);
  return b;
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(original: Buffer, mutations: Mutation[]): Buffer {
  let b = Buffer.from(original);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    switch (m.kind) {
      case 'set':
        if (b.length > 0) b[at] = m.value;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
        break;
      default: {
        const unreachable: never = m;
        throw new Error(String(unreachable));
      }
    }
  }
  return b;
}

describe('decoder robustness (fast-check)', { timeout: 120_000 }, () => {
  test('random bytes only ever yield a message or a BgpProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(CONTEXTS.length - 1), (bytes, c) => {
        decodesOrRaisesTyped(Buffer.from(bytes), CONTEXTS[c]!);
      }),
      { numRuns: 3000 },
    );
  });

  test('random bodies behind a valid header only ever yield a message or a BgpProtocolError', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.uint8Array({ maxLength: 400 }),
        fc.nat(CONTEXTS.length - 1),
        (type, body, c) => {
          const b = Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 0, type]), Buffer.from(body)]);
          decodesOrRaisesTyped(fixLength(b), CONTEXTS[c]!);
        },
      ),
      { numRuns: 5000 },
    );
  });

  test('mutations of valid messages only ever yield a message or a BgpProtocolError', () => {
    fc.assert(
      fc.property(
        fc.nat(CORPUS.length - 1),
        fc.array(mutation, { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        fc.nat(CONTEXTS.length - 1),
        (i, mutations, keepLength, c) => {
          const mutated = mutate(CORPUS[i]!, mutations);
          decodesOrRaisesTyped(keepLength ? fixLength(mutated) : mutated, CONTEXTS[c]!);
        },
      ),
      { numRuns: 10000 },
    );
  });

  test('the framer fed mutated streams in random chunks only raises BgpProtocolError', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(CORPUS.length - 1), { minLength: 1, maxLength: 6 }),
        fc.array(mutation, { maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (picks, mutations, chunkSizes) => {
          const stream = mutate(Buffer.concat(picks.map((p) => CORPUS[p]!)), mutations);
          const framer = new MessageFramer();
          let at = 0;
          let k = 0;
          try {
            while (at < stream.length) {
              const n = chunkSizes[k++ % chunkSizes.length]!;
              for (const m of framer.push(stream.subarray(at, at + n))) decodesOrRaisesTyped(m, CONTEXTS[0]!);
              at += n;
            }
          } catch (e) {
            if (!(e instanceof BgpProtocolError)) throw e;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('every corpus message decodes cleanly before mutation (the corpus is valid)', () => {
    for (const m of CORPUS) assert.doesNotThrow(() => decodeMessage(m, CONTEXTS[1]!));
  });
});
