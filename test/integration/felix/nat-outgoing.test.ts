import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION } from '../../../src/api/index.js';
import { SqliteDatastore } from '../../../src/datastore/sqlite.js';
import { ResourceClient } from '../../../src/datastore/resources.js';
import { probeTcp } from '../../../src/lab/probe.js';
import { NetnsLab, requireRootAndTools } from '../../support/netns.js';
import { attachWorkload } from '../../support/workloads.js';
import { NodeProcess } from '../../support/calico-node.js';

/** A TCP server in a namespace that records the source address of every connection. */
function sourceRecorder(ns: string, port: number): { child: ChildProcess; seen: () => string[] } {
  const child = spawn('ip', [
    'netns',
    'exec',
    ns,
    process.execPath,
    '-e',
    `require('net').createServer((s) => { console.log(s.remoteAddress); s.end(); }).listen(${port}, '0.0.0.0')`,
  ]);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, seen: () => out.split('\n').filter(Boolean) };
}

describe('NAT outgoing: workloads in a natOutgoing pool leave with the host address', () => {
  let lab: NetnsLab;
  let dir: string;
  let store: SqliteDatastore;
  let client: ResourceClient;
  let node: NodeProcess;
  let server: ReturnType<typeof sourceRecorder>;
  let host = '';
  let work = '';
  let internet = '';

  before(async () => {
    requireRootAndTools(['ip', 'iptables-restore', 'ipset', 'nc']);
    lab = new NetnsLab();
    dir = mkdtempSync(join(tmpdir(), 'calico-ts-nat-'));
    host = lab.addNamespace('host');
    work = lab.addNamespace('wl');
    internet = lab.addNamespace('inet');
    lab.veth({ ns: host, name: 'uplink' }, { ns: internet, name: 'eth0' });
    lab.exec(host, 'ip', ['addr', 'add', '192.0.2.1/24', 'dev', 'uplink']);
    lab.exec(internet, 'ip', ['addr', 'add', '192.0.2.2/24', 'dev', 'eth0']);
    // The "internet" can route back to the pool, so only NAT decides which source it sees.
    lab.exec(internet, 'ip', ['route', 'add', '10.244.0.0/16', 'via', '192.0.2.1']);
    attachWorkload(lab, host, work, 'cali1234567890', '10.244.1.1');
    server = sourceRecorder(internet, 8080);
    store = await SqliteDatastore.open(join(dir, 'store.sqlite'));
    client = new ResourceClient(store);
    await client.create({
      apiVersion: API_VERSION,
      kind: 'Profile',
      metadata: { name: 'open' },
      spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
    });
    await client.create({
      apiVersion: API_VERSION,
      kind: 'WorkloadEndpoint',
      metadata: { name: 'host-cni-w1-eth0', namespace: 'default' },
      spec: {
        node: 'host',
        orchestrator: 'cni',
        workload: 'w1',
        endpoint: 'eth0',
        interfaceName: 'cali1234567890',
        ipNetworks: ['10.244.1.1/32'],
        profiles: ['open'],
      },
    });
    await client.create({
      apiVersion: API_VERSION,
      kind: 'IPPool',
      metadata: { name: 'pool' },
      spec: { cidr: '10.244.0.0/16', natOutgoing: true },
    });
    node = new NodeProcess(
      host,
      'host',
      { DATASTORE_TYPE: 'sqlite', SQLITE_PATH: join(dir, 'store.sqlite') },
      ['--refresh-interval', '1000'],
    );
    await node.waitReady();
  });

  after(async () => {
    server?.child.kill('SIGKILL');
    await node?.stop();
    await store?.close();
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function connectUntilSeen(expected: string): Promise<string[]> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      await probeTcp(work, '192.0.2.2', 8080);
      if (server.seen().at(-1) === expected) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    return server.seen();
  }

  test('with natOutgoing the internet sees the host address', async () => {
    assert.equal((await connectUntilSeen('192.0.2.1')).at(-1), '192.0.2.1');
    assert.match(
      lab.exec(host, 'iptables-save', ['-t', 'nat']),
      /-A cali-nat-outgoing .*cali40masq-ipam-pools src .*! --match-set cali40all-ipam-pools dst .*-j MASQUERADE/,
    );
  });

  test('health and metrics answer on loopback inside the host namespace', async () => {
    const port = /"port":(\d+),"msg":"health endpoint listening"/.exec(node.output)?.[1];
    assert.ok(port, 'calico-node logged its health port');
    assert.equal(lab.exec(host, 'curl', ['-s', `http://127.0.0.1:${port}/readiness`]), 'ok\n');
    const metrics = lab.exec(host, 'curl', ['-s', `http://127.0.0.1:${port}/metrics`]);
    assert.match(metrics, /^felix_int_dataplane_apply_total [1-9]\d*$/m);
    assert.match(metrics, /^felix_iptables_rules [1-9]\d*$/m);
  });

  test('the log level follows FelixConfiguration', async () => {
    await client.create({
      apiVersion: API_VERSION,
      kind: 'FelixConfiguration',
      metadata: { name: 'default' },
      spec: { logSeverityScreen: 'Debug' },
    });
    const deadline = Date.now() + 5000;
    while (!node.output.includes('"logLevel":"debug","msg":"log level changed"') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(node.output, /"logLevel":"debug","msg":"log level changed"/);
  });

  test('without natOutgoing it sees the workload address', async () => {
    const pool = await client.get('IPPool', 'pool');
    assert.ok(pool);
    await client.update({ ...pool, spec: { ...pool.spec, natOutgoing: false } });
    assert.equal((await connectUntilSeen('10.244.1.1')).at(-1), '10.244.1.1');
    assert.doesNotMatch(lab.exec(host, 'iptables-save', ['-t', 'nat']), /MASQUERADE/);
  });
});
