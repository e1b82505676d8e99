// What the OPEN exchange settles: hold and keepalive times, 4-octet AS, common families, route
// refresh, the peer's graceful restart — and the NOTIFICATIONs that refuse an OPEN.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildOpen,
  collisionWinner,
  negotiate,
  normalizePeerAddress,
  validatePeerConfig,
  type PeerConfig,
} from '../../../../src/bgp/session/index.js';
import {
  BgpProtocolError,
  OpenMessageSubcode,
  type Capability,
  type OpenMessage,
} from '../../../../src/bgp/wire/index.js';

const CONFIG: PeerConfig = {
  localAs: 65001,
  routerId: '10.0.0.1',
  peerAs: 65002,
  peerAddress: '10.0.0.2',
  holdTimeSec: 90,
  families: ['ipv4', 'ipv6'],
};

function open(holdTime: number, capabilities: Capability[], extra: Partial<OpenMessage> = {}): OpenMessage {
  return { type: 'open', version: 4, myAs: 65002, holdTime, bgpId: '10.0.0.2', capabilities, ...extra };
}

describe('hold time negotiation (RFC 4271 4.2, 10)', () => {
  const cases: { ours: number; theirs: number; hold: number; keepalive: number }[] = [
    { ours: 90, theirs: 180, hold: 90, keepalive: 30 },
    { ours: 90, theirs: 30, hold: 30, keepalive: 10 },
    { ours: 90, theirs: 3, hold: 3, keepalive: 1 },
    { ours: 90, theirs: 0, hold: 0, keepalive: 0 },
    { ours: 0, theirs: 90, hold: 0, keepalive: 0 },
    { ours: 10, theirs: 10, hold: 10, keepalive: 3 },
  ];
  for (const c of cases) {
    test(`ours ${c.ours}s, theirs ${c.theirs}s → hold ${c.hold}s, keepalive ${c.keepalive}s`, () => {
      const n = negotiate({ ...CONFIG, holdTimeSec: c.ours }, open(c.theirs, []));
      assert.deepEqual([n.holdTimeSec, n.keepaliveSec], [c.hold, c.keepalive]);
    });
  }
});

describe('capability negotiation', () => {
  const cases: { name: string; caps: Capability[]; expect: Record<string, unknown> }[] = [
    {
      name: 'no capabilities: 2-octet AS, IPv4 unicast only, no route refresh',
      caps: [],
      expect: { fourOctetAs: false, families: ['ipv4'], routeRefresh: false },
    },
    {
      name: 'IPv6 only from the peer: only IPv6 is common',
      caps: [
        { kind: 'multiprotocol', afi: 2, safi: 1 },
        { kind: 'four-octet-as', asn: 65002 },
        { kind: 'route-refresh' },
      ],
      expect: { fourOctetAs: true, families: ['ipv6'], routeRefresh: true },
    },
    {
      name: 'both families and a VPN family we do not speak',
      caps: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'multiprotocol', afi: 1, safi: 128 },
        { kind: 'multiprotocol', afi: 2, safi: 1 },
      ],
      expect: { fourOctetAs: false, families: ['ipv4', 'ipv6'], routeRefresh: false },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const n = negotiate(CONFIG, open(90, c.caps));
      assert.deepEqual(
        { fourOctetAs: n.fourOctetAs, families: n.families, routeRefresh: n.routeRefresh },
        c.expect,
      );
      assert.equal(n.codec.fourOctetAs, c.expect.fourOctetAs);
    });
  }

  test("the peer's graceful restart parameters are reported per family", () => {
    const n = negotiate(
      CONFIG,
      open(90, [
        {
          kind: 'graceful-restart',
          restarting: true,
          notification: false,
          restartTimeSec: 300,
          families: [
            { afi: 1, safi: 1, forwardingPreserved: true },
            { afi: 2, safi: 1, forwardingPreserved: false },
          ],
        },
      ]),
    );
    assert.deepEqual(n.peerGracefulRestart, {
      restarting: true,
      notification: false,
      restartTimeSec: 300,
      families: [
        { family: 'ipv4', forwardingPreserved: true },
        { family: 'ipv6', forwardingPreserved: false },
      ],
    });
  });

  test('the 4-octet AS capability overrides AS_TRANS in the My AS field', () => {
    const n = negotiate(
      { ...CONFIG, peerAs: 4200000002 },
      open(90, [{ kind: 'four-octet-as', asn: 4200000002 }], { myAs: 23456 }),
    );
    assert.equal(n.peerAs, 4200000002);
    assert.equal(n.external, true);
  });

  test('our OPEN for a 4-octet AS puts AS_TRANS in My AS and the real AS in the capability', () => {
    const o = buildOpen({ ...CONFIG, localAs: 4200000001 });
    assert.equal(o.myAs, 23456);
    assert.deepEqual(
      o.capabilities.find((c) => c.kind === 'four-octet-as'),
      { kind: 'four-octet-as', asn: 4200000001 },
    );
  });
});

describe('OPEN refusals', () => {
  const cases: {
    name: string;
    config?: Partial<PeerConfig>;
    open: OpenMessage;
    subcode: OpenMessageSubcode;
    data?: string;
  }[] = [
    {
      name: 'the peer is not the AS we expect: Bad Peer AS',
      open: open(90, [], { myAs: 65099 }),
      subcode: OpenMessageSubcode.BadPeerAs,
      data: 'fe4b',
    },
    {
      name: 'the 4-octet AS capability names another AS: Bad Peer AS',
      open: open(90, [{ kind: 'four-octet-as', asn: 4200000099 }], { myAs: 23456 }),
      subcode: OpenMessageSubcode.BadPeerAs,
    },
    {
      name: 'the peer uses our own BGP identifier: Bad BGP Identifier',
      open: open(90, [], { bgpId: '10.0.0.1' }),
      subcode: OpenMessageSubcode.BadBgpIdentifier,
    },
    {
      name: 'a required capability is missing: Unsupported Capability listing it',
      config: { requiredCapabilities: ['four-octet-as', 'ipv6'] },
      open: open(90, [{ kind: 'multiprotocol', afi: 1, safi: 1 }]),
      subcode: OpenMessageSubcode.UnsupportedCapability,
      data: '410400000000' + '010400020001',
    },
    {
      name: 'graceful restart required but absent: Unsupported Capability',
      config: { requiredCapabilities: ['graceful-restart'] },
      open: open(90, [{ kind: 'route-refresh' }]),
      subcode: OpenMessageSubcode.UnsupportedCapability,
      data: '40020000',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(
        () => negotiate({ ...CONFIG, ...c.config }, c.open),
        (e: unknown) => {
          assert.ok(e instanceof BgpProtocolError);
          assert.deepEqual([e.notification.code, e.notification.subcode], [2, c.subcode]);
          if (c.data !== undefined) assert.equal(e.notification.data.toString('hex'), c.data);
          return true;
        },
      );
    });
  }

  test('required capabilities that are present are accepted', () => {
    const n = negotiate(
      { ...CONFIG, requiredCapabilities: ['route-refresh', 'ipv4'] },
      open(90, [{ kind: 'route-refresh' }]),
    );
    assert.equal(n.routeRefresh, true);
  });
});

describe('collision winner (RFC 4271 6.8)', () => {
  const cases: [string, string, 'locally-initiated' | 'peer-initiated'][] = [
    ['10.0.0.1', '10.0.0.2', 'peer-initiated'],
    ['10.0.0.2', '10.0.0.1', 'locally-initiated'],
    ['9.255.255.255', '10.0.0.0', 'peer-initiated'],
    ['200.0.0.1', '13.0.0.1', 'locally-initiated'],
  ];
  for (const [local, remote, winner] of cases) {
    test(`local ${local}, remote ${remote}: keep the ${winner} connection`, () => {
      assert.equal(collisionWinner(local, remote), winner);
    });
  }
});

describe('configuration checks', () => {
  const bad: { name: string; config: Partial<PeerConfig>; message: RegExp }[] = [
    { name: 'hold time 2', config: { holdTimeSec: 2 }, message: /holdTimeSec 2/ },
    { name: 'AS 0', config: { localAs: 0 }, message: /localAs 0/ },
    { name: 'router id 0.0.0.0', config: { routerId: '0.0.0.0' }, message: /routerId/ },
    { name: 'connect retry 0', config: { connectRetrySec: 0 }, message: /connectRetrySec/ },
  ];
  for (const c of bad) {
    test(`refuses ${c.name} and names the field`, () => {
      assert.throws(() => validatePeerConfig({ ...CONFIG, ...c.config }), c.message);
    });
  }
});

describe('peer address matching for inbound connections', () => {
  const cases: [string, string][] = [
    ['::ffff:10.0.0.2', '10.0.0.2'],
    ['10.0.0.2', '10.0.0.2'],
    ['2001:0DB8:0:0::1', '2001:db8::1'],
    ['fe80::1', 'fe80::1'],
  ];
  for (const [from, to] of cases) {
    test(`${from} is matched as ${to}`, () => assert.equal(normalizePeerAddress(from), to));
  }
});
