/**
 * The acceptance test with a real runtime: podman (its CNI backend) starts two busybox containers on
 * a `calico` network. Each gets an address from our pool, calicoctl lists their endpoints, and with
 * calico-node running on the host they reach each other while the network's profile allows it and
 * stop when policy says no. Removing the containers (podman runs CNI DEL) frees everything.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResourceClient } from '../../../src/datastore/resources.js';
import { requireRootAndTools } from '../../support/netns.js';
import { NodeProcess } from '../../support/calico-node.js';
import { openCniTestHost, type CniTestHost } from './cni-test-host.js';
import { PodmanSandbox } from './podman-sandbox.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE = 'pod-host';

describe('podman starts containers on a calico network', () => {
  let host: CniTestHost;
  let resources: ResourceClient;
  let podman: PodmanSandbox;
  let node: NodeProcess | undefined;
  let env: NodeJS.ProcessEnv;
  const addressOf: Record<string, string> = {};

  const ctl = (...args: string[]) =>
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/calicoctl.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
  const ping = (from: string, to: string) => podman.exec(from, ['ping', '-c1', '-W1', to]).status === 0;
  async function eventually(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; !check(); await new Promise((r) => setTimeout(r, 300)))
      if (Date.now() > deadline) assert.fail(`not within ${timeoutMs} ms: ${what}`);
  }

  before(async () => {
    requireRootAndTools(['podman', 'crun', 'conmon', 'unshare', 'nsenter', 'busybox']);
    host = await openCniTestHost({
      tmpPrefix: 'calico-ts-podman-',
      pools: [{ name: 'podpool', cidr: '10.66.0.0/24', blockSize: 28 }],
      forwarding: ['ipv4'],
    });
    resources = host.resources;
    env = {
      DATASTORE_TYPE: 'sqlite',
      SQLITE_PATH: host.sqlitePath,
      CALICOCTL_DEFAULT_CONFIG: join(host.dir, 'none.cfg'),
    };
    podman = new PodmanSandbox(join(host.dir, 'podman'), host.hostNs, [host.bin, '/usr/lib/cni']);
    podman.addNetwork('calinet', {
      cniVersion: '0.4.0',
      name: 'calinet',
      plugins: [host.calicoPlugin(NODE)],
    });
    await podman.start();
    node = new NodeProcess(host.hostNs, NODE, env, ['--refresh-interval', '1000']);
    await node.waitReady();
  });

  after(async () => {
    podman?.stop();
    const code = await node?.stop();
    await host?.close();
    assert.equal(code, 0, 'calico-node exits cleanly');
  });

  test('two containers get addresses from the pool and appear in calicoctl get wep', async () => {
    podman.run('web', 'calinet');
    podman.run('db', 'calinet');
    for (const name of ['web', 'db']) {
      const addr = podman.exec(name, ['ip', '-o', '-4', 'addr', 'show', 'eth0']).stdout;
      const m = /inet (10\.66\.0\.\d+)\/32/.exec(addr);
      assert.ok(m, `${name} has a /32 from the pool: ${addr}`);
      addressOf[name] = m[1] as string;
    }
    assert.notEqual(addressOf.web, addressOf.db);
    const weps = ctl('get', 'wep', '-A', '-o', 'wide');
    for (const name of ['web', 'db'])
      assert.match(
        weps,
        new RegExp(`${NODE}\\s.*${(addressOf[name] as string).replace(/\./g, '\\.')}/32`),
        weps,
      );
    assert.equal((await resources.list('WorkloadEndpoint')).length, 2);
  });

  test('with calico-node running they reach each other, as the network profile allows', async () => {
    await eventually('web pings db', () => ping('web', addressOf.db as string));
    await eventually('db pings web', () => ping('db', addressOf.web as string));
  });

  test('a policy that denies ingress on the network cuts them off, and removing it restores the path', async () => {
    // `calinet` is the label the network's profile applies to its endpoints.
    await resources.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'deny-ingress-calinet' },
      spec: {
        selector: 'has(calinet)',
        order: 1,
        ingress: [{ action: 'Deny' }],
        egress: [{ action: 'Allow' }],
        types: ['Ingress', 'Egress'],
      },
    });
    await eventually('web can no longer ping db', () => !ping('web', addressOf.db as string));
    await resources.delete('GlobalNetworkPolicy', 'deny-ingress-calinet');
    await eventually('web pings db again', () => ping('web', addressOf.db as string));
  });

  test('podman rm runs CNI DEL: addresses, endpoints and interfaces are gone', async () => {
    assert.equal(podman.podman(['rm', '-f', '-t', '0', 'web', 'db']).status, 0);
    assert.deepEqual(podman.containers(), []);
    assert.deepEqual(await resources.list('WorkloadEndpoint'), []);
    assert.equal(
      (await host.ipam.usage()).pools.reduce((n, p) => n + p.inUse, 0),
      0,
    );
    assert.doesNotMatch(host.lab.exec(host.hostNs, 'ip', ['-o', 'link']), /cali[0-9a-f]{11}/);
  });
});
