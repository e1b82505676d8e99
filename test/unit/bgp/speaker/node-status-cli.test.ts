/**
 * `calicoctl node status` against a status socket served by this test (the calico-node side is
 * the real StatusSocketServer with a made-up report), read as a transcript.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  StatusSocketServer,
  statusSocketPath,
  type NodeStatusReply,
  type PeerStatus,
} from '../../../../src/bgp/speaker/index.js';
import { ctlSandbox, type CtlSandbox } from '../../../support/calicoctl.js';

const SINCE = new Date();
SINCE.setHours(0, 0, 7, 0);

const PEER: PeerStatus = {
  address: '10.0.0.2',
  family: 'ipv4',
  type: 'node-to-node mesh',
  name: 'Mesh_10_0_0_2',
  asNumber: 64512,
  state: 'Established',
  passive: true,
  since: SINCE.getTime(),
  info: 'KEEPALIVE received',
  routesReceived: 1,
  routesAccepted: 1,
  routesStale: 0,
  routesAdvertised: 1,
  updatesReceived: 2,
  updatesSent: 2,
};

describe('calicoctl node status', () => {
  let sandbox: CtlSandbox;
  let runDir: string;
  const servers: StatusSocketServer[] = [];
  let reply: NodeStatusReply;

  before(async () => {
    sandbox = ctlSandbox();
    runDir = join(sandbox.dir, 'run');
    mkdirSync(runDir);
    sandbox.env.CALICO_RUN_DIR = runDir;
    reply = {
      nodeName: 'host-a',
      bgp: {
        nodeName: 'host-a',
        routerId: '10.0.0.1',
        asNumber: 64512,
        listenPort: 179,
        peers: [PEER],
        originated: ['10.65.0.0/26'],
        kernelRoutes: 1,
        selectionDeferred: false,
      },
    };
    servers.push(
      await StatusSocketServer.listen(statusSocketPath('host-a', runDir), {
        status: () => reply,
        routes: (peer) =>
          peer === '10.0.0.2'
            ? {
                peer,
                received: [
                  { prefix: '10.65.0.64/26', nextHop: '10.0.0.2', asPath: '', stale: false, accepted: true },
                ],
                advertised: [{ prefix: '10.65.0.0/26', nextHop: '10.0.0.1', asPath: '' }],
              }
            : undefined,
      }),
    );
  });

  after(async () => {
    for (const s of servers) await s.close();
    sandbox.cleanup();
  });

  test('prints the process line and the IPv4 and IPv6 peer tables, finding the only local node by itself', async () => {
    const r = await sandbox.ctl('node', 'status');
    assert.equal(r.err, '');
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      [
        'Calico process is running.',
        '',
        'IPv4 BGP status',
        '+--------------+-------------------+-------+----------+-------------+',
        '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |',
        '+--------------+-------------------+-------+----------+-------------+',
        '| 10.0.0.2     | node-to-node mesh | up    | 00:00:07 | Established |',
        '+--------------+-------------------+-------+----------+-------------+',
        '',
        'IPv6 BGP status',
        'No IPv6 peers found.',
        '',
        '',
      ].join('\n'),
    );
  });

  test('--routes adds what was received from and advertised to the peer', async () => {
    const r = await sandbox.ctl('node', 'status', '--node', 'host-a', '--routes', '10.0.0.2');
    assert.equal(r.code, 0);
    assert.match(
      r.out,
      /Routes received from 10\.0\.0\.2\n.*\n.*PREFIX.*NEXT HOP.*\n.*\n\| 10\.65\.0\.64\/26 \| 10\.0\.0\.2 +\| +\| accepted \|/,
    );
    assert.match(r.out, /Routes advertised to 10\.0\.0\.2\n[\s\S]*\| 10\.65\.0\.0\/26 \| 10\.0\.0\.1 +\|/);
  });

  test('--routes for an unknown peer is an error that names it', async () => {
    const r = await sandbox.ctl('node', 'status', '--node', 'host-a', '--routes', '10.9.9.9');
    assert.equal(r.code, 1);
    assert.match(r.err, /no BGP peer 10\.9\.9\.9 on this node/);
  });

  test('a node without BGP says so', async () => {
    reply = { nodeName: 'host-a', bgpDisabled: 'the BGP speaker is not running (--no-bgp)' };
    const r = await sandbox.ctl('node', 'status', '--node', 'host-a');
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      'Calico process is running.\n\nBGP is not running: the BGP speaker is not running (--no-bgp).\n',
    );
  });

  test('with no calico-node on the socket: "not running", exit 1, and a hint on stderr', async () => {
    const r = await sandbox.ctl('node', 'status', '--node', 'host-z');
    assert.equal(r.code, 1);
    assert.equal(r.out, 'Calico process is not running.\n');
    assert.match(r.err, /node "host-z".*calico-node\.host-z\.ctl/);
  });
});
