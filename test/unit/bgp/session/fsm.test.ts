// The RFC 4271 section 8 FSM as a table: for each state, every event, the next state and the exact
// actions. A completeness check makes sure no (state, event) pair is left out of the table.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Origin } from '../../../../src/bgp/types.js';
import {
  BgpFsm,
  type FsmAction,
  type FsmEvent,
  type FsmEventType,
  type FsmState,
  type PeerConfig,
} from '../../../../src/bgp/session/index.js';
import { CeaseSubcode, type OpenMessage } from '../../../../src/bgp/wire/index.js';

const CONFIG: PeerConfig = {
  localAs: 65001,
  routerId: '10.0.0.1',
  peerAs: 65002,
  peerAddress: '10.0.0.2',
  holdTimeSec: 90,
  connectRetrySec: 120,
};

const PEER_OPEN: OpenMessage = {
  type: 'open',
  version: 4,
  myAs: 65002,
  holdTime: 30,
  bgpId: '10.0.0.2',
  capabilities: [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'four-octet-as', asn: 65002 },
    { kind: 'graceful-restart', restarting: false, notification: false, restartTimeSec: 120, families: [] },
  ],
};

/** One sample of every event type. */
const EVENTS: Record<FsmEventType, FsmEvent> = {
  ManualStart: { type: 'ManualStart' },
  ManualStop: { type: 'ManualStop' },
  AutomaticStart: { type: 'AutomaticStart' },
  AutomaticStop: { type: 'AutomaticStop' },
  ConnectRetryTimer_Expires: { type: 'ConnectRetryTimer_Expires' },
  HoldTimer_Expires: { type: 'HoldTimer_Expires' },
  KeepaliveTimer_Expires: { type: 'KeepaliveTimer_Expires' },
  TcpConnection_Valid: { type: 'TcpConnection_Valid' },
  Tcp_CR_Invalid: { type: 'Tcp_CR_Invalid' },
  Tcp_CR_Acked: { type: 'Tcp_CR_Acked' },
  TcpConnectionConfirmed: { type: 'TcpConnectionConfirmed' },
  TcpConnectionFails: { type: 'TcpConnectionFails' },
  BGPOpen: { type: 'BGPOpen', open: PEER_OPEN },
  BGPHeaderErr: { type: 'BGPHeaderErr', error: { code: 1, subcode: 2, data: Buffer.from([0, 18]) } },
  BGPOpenMsgErr: { type: 'BGPOpenMsgErr', error: { code: 2, subcode: 1, data: Buffer.from([0, 4]) } },
  OpenCollisionDump: { type: 'OpenCollisionDump' },
  NotifMsg: {
    type: 'NotifMsg',
    notification: { type: 'notification', code: 6, subcode: 2, data: Buffer.alloc(0) },
  },
  KeepAliveMsg: { type: 'KeepAliveMsg' },
  UpdateMsg: {
    type: 'UpdateMsg',
    update: {
      type: 'update',
      withdrawn: [],
      announced: [
        {
          attributes: { origin: Origin.IGP, asPath: [], nextHop: '10.0.0.2' },
          prefixes: [{ family: 'ipv4', address: '10.65.0.0', length: 26 }],
        },
      ],
      treatAsWithdraw: false,
      attributeErrors: [],
    },
  },
  UpdateMsgErr: { type: 'UpdateMsgErr', error: { code: 3, subcode: 11, data: Buffer.alloc(0) } },
  RouteRefreshMsg: {
    type: 'RouteRefreshMsg',
    message: { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 },
  },
  SendUpdates: { type: 'SendUpdates', messages: [Buffer.from('ff', 'hex')] },
};

/** Events that bring a fresh FSM into each state. */
const PATH: Record<FsmState, FsmEventType[]> = {
  Idle: [],
  Connect: ['ManualStart'],
  Active: ['ManualStart', 'TcpConnectionFails'],
  OpenSent: ['ManualStart', 'Tcp_CR_Acked'],
  OpenConfirm: ['ManualStart', 'Tcp_CR_Acked', 'BGPOpen'],
  Established: ['ManualStart', 'Tcp_CR_Acked', 'BGPOpen', 'KeepAliveMsg'],
};

function fsmIn(state: FsmState, config: PeerConfig = CONFIG): BgpFsm {
  const fsm = new BgpFsm(config);
  for (const e of PATH[state]) fsm.handle(EVENTS[e]);
  assert.equal(fsm.state, state);
  return fsm;
}

/** Compact text for an action, state changes left out (the next state is checked on its own). */
function summarize(actions: FsmAction[]): string[] {
  return actions.flatMap((a): string[] => {
    switch (a.type) {
      case 'connect':
      case 'disconnect':
      case 'established':
        return [a.type];
      case 'send':
        return a.message.type === 'notification'
          ? [`send notification ${a.message.code}/${a.message.subcode}`]
          : [`send ${a.message.type}`];
      case 'sendEncoded':
        return [`send ${a.messages.length} encoded`];
      case 'startTimer':
        return [`start ${a.timer} ${a.ms}`];
      case 'stopTimer':
        return [`stop ${a.timer}`];
      case 'stateChange':
        return [];
      case 'deliverUpdate':
        return ['deliver update'];
      case 'deliverRouteRefresh':
        return ['deliver route-refresh'];
      case 'sessionDown':
        return [a.down.retainStaleRoutes ? 'session down, keep stale routes' : 'session down'];
      default: {
        const unreachable: never = a;
        return [String(unreachable)];
      }
    }
  });
}

const STOP_ALL = ['stop ConnectRetry', 'stop Hold', 'stop Keepalive', 'disconnect'];
const notify = (code: number, subcode: number): string[] => [
  `send notification ${code}/${subcode}`,
  ...STOP_ALL,
];
const DOWN = 'session down';
const DOWN_KEEP = 'session down, keep stale routes';

interface Row {
  events: FsmEventType[];
  next: FsmState;
  actions: string[];
}

const TABLE: Record<FsmState, Row[]> = {
  Idle: [
    {
      events: ['ManualStart', 'AutomaticStart'],
      next: 'Connect',
      actions: ['start ConnectRetry 120000', 'connect'],
    },
    {
      events: [
        'ManualStop',
        'AutomaticStop',
        'ConnectRetryTimer_Expires',
        'HoldTimer_Expires',
        'KeepaliveTimer_Expires',
        'TcpConnection_Valid',
        'Tcp_CR_Invalid',
        'Tcp_CR_Acked',
        'TcpConnectionConfirmed',
        'TcpConnectionFails',
        'BGPOpen',
        'BGPHeaderErr',
        'BGPOpenMsgErr',
        'OpenCollisionDump',
        'NotifMsg',
        'KeepAliveMsg',
        'UpdateMsg',
        'UpdateMsgErr',
        'RouteRefreshMsg',
        'SendUpdates',
      ],
      next: 'Idle',
      actions: [],
    },
  ],
  Connect: [
    {
      events: ['ManualStart', 'AutomaticStart', 'TcpConnection_Valid', 'Tcp_CR_Invalid', 'SendUpdates'],
      next: 'Connect',
      actions: [],
    },
    { events: ['ManualStop'], next: 'Idle', actions: STOP_ALL },
    {
      events: ['ConnectRetryTimer_Expires'],
      next: 'Connect',
      actions: ['disconnect', 'start ConnectRetry 120000', 'connect'],
    },
    {
      events: ['Tcp_CR_Acked', 'TcpConnectionConfirmed'],
      next: 'OpenSent',
      actions: ['stop ConnectRetry', 'send open', 'start Hold 240000'],
    },
    { events: ['TcpConnectionFails'], next: 'Active', actions: ['disconnect', 'start ConnectRetry 120000'] },
    {
      events: [
        'AutomaticStop',
        'HoldTimer_Expires',
        'KeepaliveTimer_Expires',
        'BGPOpen',
        'BGPHeaderErr',
        'BGPOpenMsgErr',
        'OpenCollisionDump',
        'NotifMsg',
        'KeepAliveMsg',
        'UpdateMsg',
        'UpdateMsgErr',
        'RouteRefreshMsg',
      ],
      next: 'Idle',
      actions: STOP_ALL,
    },
  ],
  Active: [
    {
      events: ['ManualStart', 'AutomaticStart', 'TcpConnection_Valid', 'Tcp_CR_Invalid', 'SendUpdates'],
      next: 'Active',
      actions: [],
    },
    { events: ['ManualStop'], next: 'Idle', actions: STOP_ALL },
    {
      events: ['ConnectRetryTimer_Expires'],
      next: 'Connect',
      actions: ['start ConnectRetry 120000', 'connect'],
    },
    {
      events: ['Tcp_CR_Acked', 'TcpConnectionConfirmed'],
      next: 'OpenSent',
      actions: ['stop ConnectRetry', 'send open', 'start Hold 240000'],
    },
    {
      events: [
        'TcpConnectionFails',
        'AutomaticStop',
        'HoldTimer_Expires',
        'KeepaliveTimer_Expires',
        'BGPOpen',
        'BGPHeaderErr',
        'BGPOpenMsgErr',
        'OpenCollisionDump',
        'NotifMsg',
        'KeepAliveMsg',
        'UpdateMsg',
        'UpdateMsgErr',
        'RouteRefreshMsg',
      ],
      next: 'Idle',
      actions: STOP_ALL,
    },
  ],
  OpenSent: [
    {
      events: [
        'ManualStart',
        'AutomaticStart',
        'TcpConnection_Valid',
        'Tcp_CR_Invalid',
        'Tcp_CR_Acked',
        'TcpConnectionConfirmed',
        'SendUpdates',
      ],
      next: 'OpenSent',
      actions: [],
    },
    { events: ['ManualStop'], next: 'Idle', actions: notify(6, 2) },
    { events: ['AutomaticStop'], next: 'Idle', actions: notify(6, 4) },
    { events: ['HoldTimer_Expires'], next: 'Idle', actions: notify(4, 0) },
    { events: ['ConnectRetryTimer_Expires', 'KeepaliveTimer_Expires'], next: 'Idle', actions: notify(5, 0) },
    {
      events: ['TcpConnectionFails'],
      next: 'Active',
      actions: [
        'stop ConnectRetry',
        'stop Hold',
        'stop Keepalive',
        'disconnect',
        'start ConnectRetry 120000',
      ],
    },
    {
      events: ['BGPOpen'],
      next: 'OpenConfirm',
      actions: ['stop ConnectRetry', 'send keepalive', 'start Keepalive 10000', 'start Hold 30000'],
    },
    { events: ['BGPHeaderErr'], next: 'Idle', actions: notify(1, 2) },
    { events: ['BGPOpenMsgErr'], next: 'Idle', actions: notify(2, 1) },
    { events: ['OpenCollisionDump'], next: 'Idle', actions: notify(6, 7) },
    { events: ['NotifMsg'], next: 'Idle', actions: STOP_ALL },
    {
      events: ['KeepAliveMsg', 'UpdateMsg', 'UpdateMsgErr', 'RouteRefreshMsg'],
      next: 'Idle',
      actions: notify(5, 1),
    },
  ],
  OpenConfirm: [
    {
      events: [
        'ManualStart',
        'AutomaticStart',
        'TcpConnection_Valid',
        'Tcp_CR_Invalid',
        'Tcp_CR_Acked',
        'TcpConnectionConfirmed',
        'SendUpdates',
      ],
      next: 'OpenConfirm',
      actions: [],
    },
    { events: ['ManualStop'], next: 'Idle', actions: notify(6, 2) },
    { events: ['AutomaticStop'], next: 'Idle', actions: notify(6, 4) },
    { events: ['HoldTimer_Expires'], next: 'Idle', actions: notify(4, 0) },
    {
      events: ['KeepaliveTimer_Expires'],
      next: 'OpenConfirm',
      actions: ['send keepalive', 'start Keepalive 10000'],
    },
    { events: ['ConnectRetryTimer_Expires'], next: 'Idle', actions: notify(5, 0) },
    { events: ['TcpConnectionFails', 'NotifMsg'], next: 'Idle', actions: STOP_ALL },
    {
      events: ['BGPOpen', 'UpdateMsg', 'UpdateMsgErr', 'RouteRefreshMsg'],
      next: 'Idle',
      actions: notify(5, 2),
    },
    { events: ['BGPHeaderErr'], next: 'Idle', actions: notify(1, 2) },
    { events: ['BGPOpenMsgErr'], next: 'Idle', actions: notify(2, 1) },
    { events: ['OpenCollisionDump'], next: 'Idle', actions: notify(6, 7) },
    { events: ['KeepAliveMsg'], next: 'Established', actions: ['start Hold 30000', 'established'] },
  ],
  Established: [
    {
      events: [
        'ManualStart',
        'AutomaticStart',
        'TcpConnection_Valid',
        'Tcp_CR_Invalid',
        'Tcp_CR_Acked',
        'TcpConnectionConfirmed',
      ],
      next: 'Established',
      actions: [],
    },
    { events: ['ManualStop'], next: 'Idle', actions: [...notify(6, 2), DOWN] },
    { events: ['AutomaticStop'], next: 'Idle', actions: [...notify(6, 4), DOWN] },
    { events: ['HoldTimer_Expires'], next: 'Idle', actions: [...notify(4, 0), DOWN] },
    {
      events: ['KeepaliveTimer_Expires'],
      next: 'Established',
      actions: ['send keepalive', 'start Keepalive 10000'],
    },
    { events: ['ConnectRetryTimer_Expires'], next: 'Idle', actions: [...notify(5, 0), DOWN] },
    { events: ['TcpConnectionFails'], next: 'Idle', actions: [...STOP_ALL, DOWN_KEEP] },
    { events: ['NotifMsg'], next: 'Idle', actions: [...STOP_ALL, DOWN] },
    { events: ['BGPOpen'], next: 'Idle', actions: [...notify(5, 3), DOWN] },
    { events: ['BGPHeaderErr'], next: 'Idle', actions: [...notify(1, 2), DOWN] },
    { events: ['BGPOpenMsgErr'], next: 'Idle', actions: [...notify(2, 1), DOWN] },
    { events: ['UpdateMsgErr'], next: 'Idle', actions: [...notify(3, 11), DOWN] },
    { events: ['OpenCollisionDump'], next: 'Idle', actions: [...notify(6, 7), DOWN] },
    { events: ['KeepAliveMsg'], next: 'Established', actions: ['start Hold 30000'] },
    { events: ['UpdateMsg'], next: 'Established', actions: ['start Hold 30000', 'deliver update'] },
    {
      events: ['RouteRefreshMsg'],
      next: 'Established',
      actions: ['start Hold 30000', 'deliver route-refresh'],
    },
    { events: ['SendUpdates'], next: 'Established', actions: ['send 1 encoded', 'start Keepalive 10000'] },
  ],
};

describe('RFC 4271 FSM transition table', () => {
  for (const [state, rows] of Object.entries(TABLE) as [FsmState, Row[]][]) {
    for (const row of rows) {
      for (const e of row.events) {
        test(`${state} + ${e} → ${row.next} [${row.actions.join(', ') || 'no action'}]`, () => {
          const fsm = fsmIn(state);
          const actions = fsm.handle(EVENTS[e]);
          assert.equal(fsm.state, row.next);
          assert.deepEqual(summarize(actions), row.actions);
          const change = actions.find((a) => a.type === 'stateChange');
          if (row.next === state) assert.equal(change, undefined, 'no state change reported');
          else assert.deepEqual(change && [change.from, change.to], [state, row.next]);
        });
      }
    }
  }

  test('the table covers every event in every state exactly once', () => {
    const all = Object.keys(EVENTS).sort();
    for (const [state, rows] of Object.entries(TABLE)) {
      const covered = rows.flatMap((r) => r.events).sort();
      assert.deepEqual(covered, all, `state ${state}`);
    }
  });
});

describe('FSM details', () => {
  test('a passive peer goes to Active on start and never starts the ConnectRetryTimer', () => {
    const fsm = new BgpFsm({ ...CONFIG, passive: true });
    assert.deepEqual(summarize(fsm.handle(EVENTS.ManualStart)), []);
    assert.equal(fsm.state, 'Active');
    assert.deepEqual(
      summarize(fsm.handle(EVENTS.ConnectRetryTimer_Expires)),
      [],
      'a stray expiry does not dial out',
    );
    assert.equal(fsm.state, 'Active');
    assert.deepEqual(summarize(fsm.handle(EVENTS.TcpConnectionConfirmed)), [
      'stop ConnectRetry',
      'send open',
      'start Hold 240000',
    ]);
  });

  test('ConnectRetry uses the configured interval', () => {
    const fsm = new BgpFsm({ ...CONFIG, connectRetrySec: 0.25 });
    assert.deepEqual(summarize(fsm.handle(EVENTS.ManualStart)), ['start ConnectRetry 250', 'connect']);
  });

  test('the ConnectRetryCounter counts failures and a manual start resets it', () => {
    const fsm = fsmIn('OpenSent');
    fsm.handle(EVENTS.HoldTimer_Expires);
    assert.equal(fsm.connectRetryCounter, 1);
    fsm.handle(EVENTS.AutomaticStart);
    fsm.handle(EVENTS.Tcp_CR_Acked);
    fsm.handle(EVENTS.NotifMsg);
    assert.equal(fsm.connectRetryCounter, 2);
    fsm.handle(EVENTS.ManualStart);
    assert.equal(fsm.connectRetryCounter, 0);
  });

  test('the OPEN carries our AS, hold time, identifier and capabilities', () => {
    const fsm = fsmIn('Connect', {
      ...CONFIG,
      families: ['ipv4', 'ipv6'],
      gracefulRestart: { restartTimeSec: 90 },
    });
    const send = fsm.handle(EVENTS.Tcp_CR_Acked).find((a) => a.type === 'send');
    assert.deepEqual(send?.type === 'send' ? send.message : undefined, {
      type: 'open',
      version: 4,
      myAs: 65001,
      holdTime: 90,
      bgpId: '10.0.0.1',
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'multiprotocol', afi: 2, safi: 1 },
        { kind: 'route-refresh' },
        { kind: 'four-octet-as', asn: 65001 },
        {
          kind: 'graceful-restart',
          restarting: false,
          notification: false,
          restartTimeSec: 90,
          families: [
            { afi: 1, safi: 1, forwardingPreserved: false },
            { afi: 2, safi: 1, forwardingPreserved: false },
          ],
        },
      ],
    });
  });

  test('an OPEN from the wrong AS is refused with Bad Peer AS', () => {
    const fsm = fsmIn('OpenSent');
    const actions = fsm.handle({ type: 'BGPOpen', open: { ...PEER_OPEN, myAs: 65003, capabilities: [] } });
    assert.equal(fsm.state, 'Idle');
    assert.deepEqual(summarize(actions)[0], 'send notification 2/2');
  });

  test('a hold time of 0 runs with neither hold nor keepalive timer', () => {
    const fsm = fsmIn('OpenSent');
    assert.deepEqual(summarize(fsm.handle({ type: 'BGPOpen', open: { ...PEER_OPEN, holdTime: 0 } })), [
      'stop ConnectRetry',
      'send keepalive',
      'stop Hold',
    ]);
    assert.deepEqual(summarize(fsm.handle(EVENTS.KeepAliveMsg)), ['established']);
    assert.deepEqual(summarize(fsm.handle(EVENTS.UpdateMsg)), ['deliver update']);
  });

  const stale: { name: string; peerN: boolean; ourN: boolean; event: FsmEvent; keep: boolean }[] = [
    {
      name: 'TCP loss without NOTIFICATION',
      peerN: false,
      ourN: false,
      event: EVENTS.TcpConnectionFails,
      keep: true,
    },
    {
      name: 'hold timer expiry (NOTIFICATION sent)',
      peerN: false,
      ourN: false,
      event: EVENTS.HoldTimer_Expires,
      keep: false,
    },
    {
      name: 'Cease received, both sides set the N bit',
      peerN: true,
      ourN: true,
      event: EVENTS.NotifMsg,
      keep: true,
    },
    {
      name: 'Cease received, only the peer set the N bit',
      peerN: true,
      ourN: false,
      event: EVENTS.NotifMsg,
      keep: false,
    },
    {
      name: 'Hard Reset sent even with the N bit',
      peerN: true,
      ourN: true,
      event: { type: 'ManualStop', subcode: CeaseSubcode.HardReset },
      keep: false,
    },
  ];
  for (const c of stale) {
    test(`graceful restart: ${c.name} → ${c.keep ? 'keep' : 'flush'} the peer's routes`, () => {
      const config: PeerConfig = {
        ...CONFIG,
        gracefulRestart: { restartTimeSec: 120, notification: c.ourN },
      };
      const fsm = new BgpFsm(config);
      const open: OpenMessage = {
        ...PEER_OPEN,
        capabilities: [
          {
            kind: 'graceful-restart',
            restarting: false,
            notification: c.peerN,
            restartTimeSec: 120,
            families: [],
          },
        ],
      };
      for (const e of [
        EVENTS.ManualStart,
        EVENTS.Tcp_CR_Acked,
        { type: 'BGPOpen', open } as FsmEvent,
        EVENTS.KeepAliveMsg,
      ]) {
        fsm.handle(e);
      }
      const down = fsm.handle(c.event).find((a) => a.type === 'sessionDown');
      assert.equal(down?.type === 'sessionDown' && down.down.retainStaleRoutes, c.keep);
    });
  }
});

describe('FSM invariants under random event sequences (fast-check)', () => {
  const eventTypes = Object.keys(EVENTS) as FsmEventType[];
  test('never throws; entering Idle always stops every timer and drops the connection; Established implies a negotiated session', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...eventTypes), { maxLength: 60 }),
        fc.boolean(),
        (events, passive) => {
          const fsm = new BgpFsm({ ...CONFIG, passive });
          for (const e of events) {
            const before = fsm.state;
            const actions = fsm.handle(EVENTS[e]);
            if (fsm.state === 'Idle' && before !== 'Idle') {
              const summary = summarize(actions);
              for (const must of STOP_ALL)
                assert.ok(summary.includes(must), `${before} + ${e}: ${summary.join(', ')}`);
              assert.ok(!actions.some((a) => a.type === 'startTimer'), 'no timer started on the way to Idle');
            }
            if (fsm.state === 'Established') assert.ok(fsm.negotiated !== undefined);
            if (passive)
              assert.ok(!actions.some((a) => a.type === 'connect'), 'a passive FSM never dials out');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
