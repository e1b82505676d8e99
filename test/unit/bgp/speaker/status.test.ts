import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatBgpStatus,
  formatBorderedTable,
  formatSince,
  peerInfo,
  type PeerStatus,
  type SpeakerStatus,
} from '../../../../src/bgp/speaker/index.js';

const NOW = new Date(2026, 10, 24, 23, 30, 4).getTime();

function peer(p: Partial<PeerStatus> & Pick<PeerStatus, 'address'>): PeerStatus {
  return {
    family: 'ipv4',
    type: 'node-to-node mesh',
    name: 'Mesh',
    asNumber: 64512,
    state: 'Established',
    passive: false,
    since: NOW,
    info: 'KEEPALIVE received',
    routesReceived: 0,
    routesAccepted: 0,
    routesStale: 0,
    routesAdvertised: 0,
    updatesReceived: 0,
    updatesSent: 0,
    ...p,
  };
}

describe('the Info column', () => {
  const TABLE = [
    {
      name: 'Established, whatever happened last',
      p: { state: 'Established', info: 'x', passive: false },
      want: 'Established',
    },
    {
      name: 'a passive peer waiting is "Passive"',
      p: { state: 'Active', info: 'waiting', passive: true },
      want: 'Passive',
    },
    {
      name: 'a failed connection shows the socket error as BIRD does',
      p: {
        state: 'Active',
        info: 'TCP connection failed (connect ECONNREFUSED 10.0.0.2:179)',
        passive: false,
      },
      want: 'Active Socket: connect ECONNREFUSED 10.0.0.2:179',
    },
    {
      name: 'a state with no detail is just the state',
      p: { state: 'Connect', info: 'ManualStart', passive: false },
      want: 'Connect',
    },
  ] as const;
  for (const row of TABLE) test(row.name, () => assert.equal(peerInfo(row.p), row.want));
});

describe('the Since column', () => {
  test('today: the time of day', () =>
    assert.equal(formatSince(new Date(2026, 10, 24, 9, 5, 7).getTime(), NOW), '09:05:07'));
  test('earlier: the date', () =>
    assert.equal(formatSince(new Date(2026, 0, 2, 9, 5, 7).getTime(), NOW), '2026-01-02'));
});

test('a bordered table as calicoctl prints it: centred headers, left-aligned cells', () => {
  assert.equal(
    formatBorderedTable(['PEER ADDRESS', 'STATE'], [['10.0.0.2', 'up']]),
    [
      '+--------------+-------+',
      '| PEER ADDRESS | STATE |',
      '+--------------+-------+',
      '| 10.0.0.2     | up    |',
      '+--------------+-------+',
      '',
    ].join('\n'),
  );
});

test('the BGP status of a node with IPv4 peers and no IPv6 peers', () => {
  const status: SpeakerStatus = {
    nodeName: 'a',
    routerId: '10.0.0.1',
    asNumber: 64512,
    listenPort: 179,
    peers: [
      peer({ address: '10.0.0.2' }),
      peer({
        address: '10.0.0.254',
        type: 'global',
        state: 'Active',
        info: 'TCP connection failed (connect ECONNREFUSED 10.0.0.254:179)',
      }),
    ],
    originated: ['10.65.0.0/26'],
    kernelRoutes: 1,
    selectionDeferred: false,
  };
  assert.equal(
    formatBgpStatus(status, NOW),
    [
      'IPv4 BGP status',
      '+--------------+-------------------+-------+----------+----------------------------------------------------+',
      '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |                        INFO                        |',
      '+--------------+-------------------+-------+----------+----------------------------------------------------+',
      '| 10.0.0.2     | node-to-node mesh | up    | 23:30:04 | Established                                        |',
      '| 10.0.0.254   | global            | start | 23:30:04 | Active Socket: connect ECONNREFUSED 10.0.0.254:179 |',
      '+--------------+-------------------+-------+----------+----------------------------------------------------+',
      '',
      'IPv6 BGP status',
      'No IPv6 peers found.',
      '',
      '',
    ].join('\n'),
  );
});
