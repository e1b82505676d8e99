import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  LOCAL_SOURCE,
  advertisementBlocker,
  rewriteForPeer,
  type ExportTarget,
  type NotAdvertisedReason,
  type PathSource,
} from '../../../../src/bgp/rib/index.js';
import { RibPath, StoredPath } from '../../../../src/bgp/rib/path.js';
import {
  NO_ADVERTISE,
  NO_EXPORT,
  NO_EXPORT_SUBCONFED,
  Origin,
  type PathAttributes,
} from '../../../../src/bgp/types.js';
import { LOCAL_AS, attrs, peerSource, prefix, seq } from './rib-fixtures.js';

const CONTEXT = { routerId: '10.255.0.1', clusterId: '244.0.0.1' };

function target(peerId: string, asn: number, over: Partial<ExportTarget> = {}): ExportTarget {
  return {
    peerId,
    asn,
    localAs: LOCAL_AS,
    ibgp: asn === LOCAL_AS,
    routeReflectorClient: false,
    nextHopMode: 'auto',
    localNextHops: { ipv4: '192.0.2.100', ipv6: '2001:db8::100', ipv6LinkLocal: 'fe80::100' },
    ...over,
  };
}

const EBGP_PEER = target('192.0.2.50', 65099);
const CLIENT = target('10.0.0.20', LOCAL_AS, { routeReflectorClient: true });
const NON_CLIENT = target('10.0.0.30', LOCAL_AS);

const FROM_EBGP = peerSource('192.0.2.50', 65099);
const FROM_OTHER_EBGP = peerSource('192.0.2.60', 65098);
const FROM_CLIENT = peerSource('10.0.0.21', LOCAL_AS, { rrClient: true, routerId: '10.0.0.21' });
const FROM_NON_CLIENT = peerSource('10.0.0.31', LOCAL_AS, { routerId: '10.0.0.31' });

function pathFrom(source: PathSource, over: Partial<PathAttributes> = {}, p = '10.65.0.0/26'): RibPath {
  return new RibPath({ prefix: prefix(p) }, new StoredPath(attrs(over), source, 0, undefined));
}

describe('advertisement rules: split horizon, route reflection, well-known communities', () => {
  const cases: Array<{
    name: string;
    source: PathSource;
    to: ExportTarget;
    communities?: number[];
    expected: NotAdvertisedReason | undefined;
  }> = [
    {
      name: 'never back to the peer it came from',
      source: FROM_EBGP,
      to: EBGP_PEER,
      expected: 'learned-from-this-peer',
    },
    {
      name: 'eBGP-learned goes to another eBGP peer',
      source: FROM_OTHER_EBGP,
      to: EBGP_PEER,
      expected: undefined,
    },
    {
      name: 'eBGP-learned goes to an iBGP non-client',
      source: FROM_EBGP,
      to: NON_CLIENT,
      expected: undefined,
    },
    { name: 'local routes go to everyone', source: LOCAL_SOURCE, to: NON_CLIENT, expected: undefined },
    { name: 'iBGP-learned goes to eBGP peers', source: FROM_NON_CLIENT, to: EBGP_PEER, expected: undefined },
    {
      name: 'iBGP split horizon: non-client to non-client is not sent',
      source: FROM_NON_CLIENT,
      to: NON_CLIENT,
      expected: 'ibgp-split-horizon',
    },
    {
      name: 'RR: non-client to client is reflected',
      source: FROM_NON_CLIENT,
      to: CLIENT,
      expected: undefined,
    },
    {
      name: 'RR: client to non-client is reflected',
      source: FROM_CLIENT,
      to: NON_CLIENT,
      expected: undefined,
    },
    {
      name: 'RR: client to another client is reflected',
      source: FROM_CLIENT,
      to: CLIENT,
      expected: undefined,
    },
    {
      name: 'NO_ADVERTISE goes to no one, not even iBGP',
      source: FROM_EBGP,
      to: NON_CLIENT,
      communities: [NO_ADVERTISE],
      expected: 'no-advertise',
    },
    {
      name: 'NO_EXPORT stays inside the AS',
      source: LOCAL_SOURCE,
      to: EBGP_PEER,
      communities: [NO_EXPORT],
      expected: 'no-export',
    },
    {
      name: 'NO_EXPORT_SUBCONFED stays inside the AS (no confederations)',
      source: FROM_OTHER_EBGP,
      to: EBGP_PEER,
      communities: [NO_EXPORT_SUBCONFED],
      expected: 'no-export',
    },
    {
      name: 'NO_EXPORT still goes to iBGP peers',
      source: FROM_EBGP,
      to: NON_CLIENT,
      communities: [NO_EXPORT],
      expected: undefined,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const over = c.communities ? { communities: c.communities } : {};
      assert.equal(advertisementBlocker(pathFrom(c.source, over), c.to), c.expected);
    });
  }
});

function rewrite(path: RibPath, to: ExportTarget): PathAttributes {
  const out = rewriteForPeer(path, path.prefix.family, to, CONTEXT);
  assert.ok(typeof out !== 'string', `expected attributes, got ${String(out)}`);
  return out;
}

describe('attribute rewriting towards eBGP peers', () => {
  test('prepends our AS, sets next hop self, drops LOCAL_PREF, learned MED and RR attributes, keeps communities', () => {
    const out = rewrite(
      pathFrom(FROM_NON_CLIENT, {
        asPath: seq(65010, 65011),
        nextHop: '10.0.0.31',
        localPref: 300,
        med: 40,
        originatorId: '10.0.0.99',
        clusterList: ['244.0.0.9'],
        communities: [0xfde80001],
        atomicAggregate: true,
        aggregator: { asn: 65010, address: '10.0.0.99' },
      }),
      EBGP_PEER,
    );
    assert.deepEqual(out, {
      origin: Origin.IGP,
      asPath: seq(65000, 65010, 65011),
      nextHop: '192.0.2.100',
      communities: [0xfde80001],
      atomicAggregate: true,
      aggregator: { asn: 65010, address: '10.0.0.99' },
    });
  });

  test('keeps a MED we set ourselves on a local route', () => {
    const out = rewrite(pathFrom(LOCAL_SOURCE, { nextHop: undefined, med: 7 }), EBGP_PEER);
    assert.equal(out.med, 7);
    assert.equal(out.nextHop, '192.0.2.100');
  });

  const prependCases: Array<{ name: string; from: PathAttributes['asPath']; to: PathAttributes['asPath'] }> =
    [
      { name: 'an empty AS_PATH gets a new sequence', from: [], to: seq(65000) },
      {
        name: 'a leading AS_SET gets a new sequence in front',
        from: [{ type: 'set', asns: [1, 2] }],
        to: [
          { type: 'sequence', asns: [65000] },
          { type: 'set', asns: [1, 2] },
        ],
      },
      {
        name: 'a full (255) leading sequence gets a new one in front',
        from: seq(...Array.from({ length: 255 }, (_, i) => i + 1)),
        to: [{ type: 'sequence', asns: [65000] }, ...seq(...Array.from({ length: 255 }, (_, i) => i + 1))],
      },
      {
        name: 'confederation segments are removed when leaving the AS',
        from: [
          { type: 'confed-sequence', asns: [64512] },
          { type: 'sequence', asns: [7] },
        ],
        to: seq(65000, 7),
      },
    ];
  for (const c of prependCases) {
    test(`AS_PATH prepend: ${c.name}`, () => {
      assert.deepEqual(rewrite(pathFrom(FROM_CLIENT, { asPath: c.from }), EBGP_PEER).asPath, c.to);
    });
  }

  test('a per-peer local AS (Calico per-node AS) is the one prepended', () => {
    const out = rewrite(pathFrom(LOCAL_SOURCE), { ...EBGP_PEER, localAs: 64999 });
    assert.deepEqual(out.asPath, seq(64999));
  });
});

describe('attribute rewriting towards iBGP peers and route reflection', () => {
  test('eBGP-learned to iBGP: AS_PATH, next hop and MED unchanged, LOCAL_PREF filled in', () => {
    const out = rewrite(
      pathFrom(FROM_EBGP, { asPath: seq(65099), nextHop: '192.0.2.50', med: 3 }),
      NON_CLIENT,
    );
    assert.deepEqual(out, {
      origin: Origin.IGP,
      asPath: seq(65099),
      nextHop: '192.0.2.50',
      med: 3,
      localPref: 100,
    });
  });

  test('reflecting sets ORIGINATOR_ID to the source router id and starts CLUSTER_LIST with ours', () => {
    const out = rewrite(pathFrom(FROM_CLIENT, { nextHop: '10.0.0.21', localPref: 200 }), NON_CLIENT);
    assert.equal(out.originatorId, '10.0.0.21');
    assert.deepEqual(out.clusterList, ['244.0.0.1']);
    assert.equal(out.nextHop, '10.0.0.21', 'reflected routes keep the original next hop');
    assert.equal(out.localPref, 200);
  });

  test('reflecting keeps an existing ORIGINATOR_ID and prepends our CLUSTER_ID', () => {
    const out = rewrite(
      pathFrom(FROM_NON_CLIENT, { originatorId: '10.0.0.77', clusterList: ['244.0.0.9'] }),
      CLIENT,
    );
    assert.equal(out.originatorId, '10.0.0.77');
    assert.deepEqual(out.clusterList, ['244.0.0.1', '244.0.0.9']);
  });

  test('our own routes to iBGP get next hop self and no RR attributes', () => {
    const out = rewrite(pathFrom(LOCAL_SOURCE, { nextHop: undefined }), CLIENT);
    assert.equal(out.nextHop, '192.0.2.100');
    assert.equal(out.originatorId, undefined);
    assert.equal(out.clusterList, undefined);
  });
});

describe('next-hop modes (Calico BGPPeer nextHopMode)', () => {
  const cases: Array<{
    name: string;
    to: ExportTarget;
    source: PathSource;
    nextHop?: string;
    expected: string;
  }> = [
    {
      name: 'auto, eBGP: self',
      to: EBGP_PEER,
      source: FROM_CLIENT,
      nextHop: '10.0.0.21',
      expected: '192.0.2.100',
    },
    {
      name: 'auto, iBGP: keep',
      to: NON_CLIENT,
      source: FROM_EBGP,
      nextHop: '192.0.2.50',
      expected: '192.0.2.50',
    },
    {
      name: 'self, iBGP reflected: self',
      to: { ...CLIENT, nextHopMode: 'self' },
      source: FROM_CLIENT,
      nextHop: '10.0.0.21',
      expected: '192.0.2.100',
    },
    {
      name: 'keep, eBGP: keep',
      to: { ...EBGP_PEER, nextHopMode: 'keep' },
      source: FROM_CLIENT,
      nextHop: '10.0.0.21',
      expected: '10.0.0.21',
    },
    {
      name: 'keep, without a next hop to keep: self',
      to: { ...EBGP_PEER, nextHopMode: 'keep' },
      source: LOCAL_SOURCE,
      expected: '192.0.2.100',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const out = rewrite(pathFrom(c.source, { nextHop: c.nextHop }), c.to);
      assert.equal(out.nextHop, c.expected);
    });
  }

  test('IPv6 next hop self carries our link-local; a kept one drops the link-local', () => {
    const v6 = (src: PathSource): RibPath =>
      pathFrom(src, { nextHop: '2001:db8::21', nextHopLinkLocal: 'fe80::21' }, '2001:db8:65::/64');
    const self = rewrite(v6(FROM_CLIENT), EBGP_PEER);
    assert.equal(self.nextHop, '2001:db8::100');
    assert.equal(self.nextHopLinkLocal, 'fe80::100');
    const kept = rewrite(v6(FROM_EBGP), NON_CLIENT);
    assert.equal(kept.nextHop, '2001:db8::21');
    assert.equal(kept.nextHopLinkLocal, undefined);
  });

  test('without an address of the family on the session, the route cannot be sent', () => {
    const v4Only = { ...EBGP_PEER, localNextHops: { ipv4: '192.0.2.100' } };
    const path = pathFrom(LOCAL_SOURCE, { nextHop: undefined }, '2001:db8:65::/64');
    assert.equal(rewriteForPeer(path, 'ipv6', v4Only, CONTEXT), 'no-next-hop-for-family');
  });
});

describe('unknown attributes', () => {
  test('non-transitive ones are dropped; optional transitive ones pass with the Partial bit', () => {
    const transitive = { flags: 0xc0, typeCode: 99, value: Buffer.from([1, 2]) };
    const nonTransitive = { flags: 0x80, typeCode: 98, value: Buffer.from([3]) };
    const out = rewrite(pathFrom(FROM_EBGP, { unknown: [transitive, nonTransitive] }), NON_CLIENT);
    assert.deepEqual(out.unknown, [{ flags: 0xe0, typeCode: 99, value: Buffer.from([1, 2]) }]);
  });
});
