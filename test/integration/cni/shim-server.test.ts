/**
 * The installed `calico` / `calico-ipam` executables are the native shim: with calico-node running in
 * the host namespace, the shim hands each call to calico-node's CNI server; without one, it runs the
 * Node plugin installed beside it. Driven exactly as a runtime drives a plugin (environment + stdin,
 * in the host namespace), and compared with the Node plugin run directly.
 *
 * `shimOnly` holds the shim with no Node plugin beside it, so a call through it that succeeds was
 * served by calico-node: it cannot have fallen back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { IpamClient } from '../../../src/ipam/index.js';
import { createLogger } from '../../../src/log.js';
import { CniServer, cniSocketPath } from '../../../src/cni/server.js';
import { NodeProcess } from '../../support/calico-node.js';
import { requireRootAndTools, type NetnsLab } from '../../support/netns.js';
import { cniEnv, runPlugin, type ContainerRef, type PluginRun } from './cni-runtime.js';
import { openCniTestHost, type CniTestHost, type TestContainer } from './cni-test-host.js';

/** What a result says apart from the names and addresses that differ per container. */
function shapeOf(result: Record<string, unknown> | undefined): unknown {
  const r = result as
    | {
        cniVersion: string;
        interfaces: { mac: string; sandbox?: string }[];
        ips: { address: string; interface?: number }[];
        routes: unknown;
        dns: unknown;
      }
    | undefined;
  return {
    cniVersion: r?.cniVersion,
    interfaces: r?.interfaces.map((i) => ({
      hostSideMac: i.sandbox ? '(container)' : i.mac,
      sandbox: !!i.sandbox,
    })),
    ips: r?.ips.map((ip) => ({ prefix: ip.address.split('/')[1], interface: ip.interface })),
    routes: r?.routes,
    dns: r?.dns,
  };
}

describe('the CNI shim hands calls to calico-node, and runs the Node plugin when there is none', () => {
  let host: CniTestHost;
  let lab: NetnsLab;
  let dir: string;
  let bin: string;
  let shimOnly: string;
  let hostNs: string;
  let runDir: string;
  let ipam: IpamClient;
  let node: NodeProcess | undefined;
  let network: Record<string, unknown>;

  const newContainer = (): TestContainer => host.newContainer('shim');
  /** Runs `plugin` from `dir` as a runtime would; CALICO_RUN_DIR as calico-node has it unless given. */
  const call = (
    from: string,
    command: string,
    c: ContainerRef,
    config: object = network,
    plugin = 'calico',
    env: Record<string, string> = {},
  ): Promise<PluginRun> =>
    runPlugin(
      hostNs,
      join(from, plugin),
      { ...cniEnv(command, c, [from]), CALICO_RUN_DIR: runDir, ...env },
      JSON.stringify(config),
    );
  const direct = () => join(bin, 'calico-cni-direct');
  const hostInode = () => statSync(`/run/netns/${hostNs}`).ino;

  before(async () => {
    requireRootAndTools(['ip', 'nsenter', 'cc', 'unshare']);
    host = await openCniTestHost({
      tmpPrefix: 'calico-ts-cni-shim-',
      pools: [{ name: 'shimpool', cidr: '10.46.0.0/24', blockSize: 28 }],
    });
    ({ lab, dir, bin, hostNs, ipam } = host);
    shimOnly = join(dir, 'shim-only');
    mkdirSync(shimOnly);
    for (const p of ['calico', 'calico-ipam']) copyFileSync(join(bin, p), join(shimOnly, p));
    execFileSync('chmod', ['755', join(shimOnly, 'calico'), join(shimOnly, 'calico-ipam')]);
    runDir = join(dir, 'run');
    network = host.network('shimnet', 'shim-node');
    node = new NodeProcess(
      hostNs,
      'shim-node',
      { DATASTORE_TYPE: 'sqlite', SQLITE_PATH: host.sqlitePath, CALICO_RUN_DIR: runDir },
      ['--no-felix', '--no-bgp'],
    );
    await node.waitForLog('CNI server listening', 30_000);
  });

  after(async () => {
    await node?.stop();
    await host?.close();
    assert.deepEqual(lab.leftovers(), []);
  });

  test('calico-node listens on cni.<inode of its network namespace>.sock, readable by root only', () => {
    const path = cniSocketPath(runDir, hostInode());
    assert.ok(statSync(path).isSocket(), `${path} is a socket`);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  test('ADD, CHECK and DEL through calico-node answer as the Node plugin does', async () => {
    const viaServer = newContainer();
    const viaNode = newContainer();
    const added = await call(shimOnly, 'ADD', viaServer);
    assert.equal(added.code, 0, added.stdout + added.stderr);
    const reference = await call(direct(), 'ADD', viaNode);
    assert.equal(reference.code, 0, reference.stdout + reference.stderr);
    assert.deepEqual(shapeOf(added.json), shapeOf(reference.json));
    const address = String((added.json?.ips as { address: string }[])[0]?.address);
    assert.match(address, /^10\.46\.0\.\d+\/32$/);
    assert.deepEqual(await ipam.ipsByHandle(`shimnet.${viaServer.id}`), [address.replace('/32', '')]);
    assert.match(lab.exec(viaServer.ns, 'ip', ['-o', 'addr', 'show', 'eth0']), /inet 10\.46\.0\./);

    const check = await call(shimOnly, 'CHECK', viaServer, { ...network, prevResult: added.json });
    assert.deepEqual([check.code, check.stdout], [0, ''], check.stdout);
    for (const c of [viaServer, viaNode]) {
      const del = await call(c === viaServer ? shimOnly : direct(), 'DEL', c);
      assert.deepEqual([del.code, del.stdout], [0, ''], del.stdout);
    }
    assert.deepEqual(await ipam.ipsByHandle(`shimnet.${viaServer.id}`), []);
  });

  test('ADD twice through calico-node gives the same result and holds one address', async () => {
    const c = newContainer();
    const first = await call(shimOnly, 'ADD', c);
    const second = await call(shimOnly, 'ADD', c);
    assert.equal(second.code, 0, second.stdout);
    assert.deepEqual(second.json, first.json);
    assert.equal((await ipam.ipsByHandle(`shimnet.${c.id}`)).length, 1);
    assert.equal((await call(shimOnly, 'DEL', c)).code, 0);
  });

  test('a namespace file mounted only in the caller’s mount namespace (as podman keeps them) is wired all the same', async () => {
    const c = newContainer();
    const privatePath = join(dir, `private-${c.ns}`);
    writeFileSync(privatePath, '');
    // The runtime's view: CNI_NETNS is a bind mount that exists only in its own mount namespace;
    // in calico-node's, the same path is an empty file.
    const script = `mount --bind ${c.netns} ${privatePath} && exec ip netns exec ${hostNs} ${join(shimOnly, 'calico')}`;
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      input: JSON.stringify(network),
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        ...cniEnv('ADD', { ...c, netns: privatePath }, [shimOnly]),
        CALICO_RUN_DIR: runDir,
      },
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const result = JSON.parse(r.stdout) as { interfaces: { sandbox?: string }[]; ips: { address: string }[] };
    assert.equal(
      result.interfaces[1]?.sandbox,
      privatePath,
      'the result names CNI_NETNS as the runtime gave it',
    );
    const inside = lab.exec(c.ns, 'ip', ['-o', 'addr', 'show', 'eth0']);
    assert.match(inside, new RegExp(`inet ${result.ips[0]?.address.replace(/\./g, '\\.')}`));
    assert.equal((await call(shimOnly, 'DEL', c)).code, 0);
  });

  const namings = [
    {
      name: 'any file name with --plugin calico-ipam',
      file: 'my-shim',
      args: ['--plugin', 'calico-ipam'],
      code: 0,
    },
    { name: 'a file name that is neither plugin, without --plugin', file: 'my-shim', args: [], code: 1 },
  ];
  for (const n of namings)
    test(`the shim under ${n.name}: exit ${n.code}`, () => {
      const path = join(dir, n.file);
      copyFileSync(join(shimOnly, 'calico'), path);
      execFileSync('chmod', ['755', path]);
      const r = spawnSync('ip', ['netns', 'exec', hostNs, path, ...n.args], {
        input: '{"cniVersion":"0.4.0"}',
        encoding: 'utf8',
        env: { PATH: process.env.PATH, CNI_COMMAND: 'VERSION', CALICO_RUN_DIR: runDir },
      });
      assert.equal(r.status, n.code, r.stdout + r.stderr);
      const out = JSON.parse(r.stdout) as { supportedVersions?: string[]; code?: number };
      if (n.code === 0) assert.deepEqual(out.supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0']);
      else assert.equal(out.code, 4);
    });

  test('DEL of a container that was never added succeeds with no output', async () => {
    const r = await call(shimOnly, 'DEL', newContainer());
    assert.deepEqual([r.code, r.stdout], [0, '']);
  });

  const errorCases: { name: string; config: object; env: Record<string, string>; code: number }[] = [
    { name: 'an unknown field', config: { log_file_path: '/tmp/x' }, env: {}, code: 2 },
    { name: 'a bad mtu', config: { mtu: 'big' }, env: {}, code: 7 },
    { name: 'a bad CNI_IFNAME', config: {}, env: { CNI_IFNAME: 'a/b' }, code: 4 },
    { name: 'CHECK without prevResult', config: {}, env: { CNI_COMMAND: 'CHECK' }, code: 7 },
  ];
  for (const e of errorCases)
    test(`${e.name}: the same CNI error ${e.code} as the Node plugin, exit 1`, async () => {
      const c = newContainer();
      const config = { ...network, ...e.config };
      const served = await call(shimOnly, 'ADD', c, config, 'calico', e.env);
      const reference = await call(direct(), 'ADD', c, config, 'calico', e.env);
      assert.equal(served.json?.code, e.code, served.stdout);
      assert.deepEqual([served.code, served.stdout], [reference.code, reference.stdout]);
      assert.equal(served.code, 1);
    });

  test('VERSION through calico-node is the Node plugin’s answer', async () => {
    const c = newContainer();
    const served = await call(shimOnly, 'VERSION', c, { cniVersion: '0.4.0' });
    const reference = await call(direct(), 'VERSION', c, { cniVersion: '0.4.0' });
    assert.deepEqual([served.code, served.stdout], [0, reference.stdout]);
  });

  test('calico-ipam through calico-node: ADD gives an address from the pool, DEL gives it back', async () => {
    const c = newContainer();
    const ipamConf = {
      cniVersion: '1.0.0',
      name: 'shimnet',
      type: 'bridge',
      ...pick(network),
      ipam: { type: 'calico-ipam' },
    };
    const added = await call(shimOnly, 'ADD', c, ipamConf, 'calico-ipam');
    assert.equal(added.code, 0, added.stdout + added.stderr);
    assert.match(String((added.json?.ips as { address: string }[])[0]?.address), /^10\.46\.0\.\d+\/32$/);
    assert.equal((await call(shimOnly, 'DEL', c, ipamConf, 'calico-ipam')).code, 0);
    assert.deepEqual(await ipam.ipsByHandle(`shimnet.${c.id}`), []);
  });

  test('calico with the reference host-local IPAM through calico-node: host-local is exec’d from CNI_PATH, DEL gives the address back', async () => {
    const c = newContainer();
    const hostLocal = {
      ...network,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.98.0.0/24' }]], dataDir: join(dir, 'host-local') },
    };
    const cniPath = { CNI_PATH: `${shimOnly}:/usr/lib/cni` };
    const added = await call(shimOnly, 'ADD', c, hostLocal, 'calico', cniPath);
    assert.equal(added.code, 0, added.stdout + added.stderr);
    const address = String((added.json?.ips as { address: string }[])[0]?.address);
    assert.match(address, /^10\.98\.0\.\d+\/32$/);
    assert.ok(
      existsSync(join(dir, 'host-local', 'shimnet', address.replace('/32', ''))),
      'host-local holds it',
    );
    assert.equal((await call(shimOnly, 'DEL', c, hostLocal, 'calico', cniPath)).code, 0);
    assert.equal(existsSync(join(dir, 'host-local', 'shimnet', address.replace('/32', ''))), false);
  });

  test('six ADDs at once through calico-node get six different addresses', async () => {
    const cs = Array.from({ length: 6 }, () => newContainer());
    const results = await Promise.all(cs.map((c) => call(shimOnly, 'ADD', c)));
    for (const r of results) assert.equal(r.code, 0, r.stdout + r.stderr);
    const addresses = results.map((r) => String((r.json?.ips as { address: string }[])[0]?.address));
    assert.equal(new Set(addresses).size, 6, addresses.join(' '));
    const dels = await Promise.all(cs.map((c) => call(shimOnly, 'DEL', c)));
    assert.deepEqual(
      dels.map((d) => d.code),
      [0, 0, 0, 0, 0, 0],
    );
  });

  test('with no calico-node for the namespace, the shim runs the Node plugin installed beside it', async () => {
    const c = newContainer();
    const elsewhere = { CALICO_RUN_DIR: join(dir, 'no-server') };
    const added = await call(bin, 'ADD', c, network, 'calico', elsewhere);
    assert.equal(added.code, 0, added.stdout + added.stderr);
    assert.equal((await call(bin, 'DEL', c, network, 'calico', elsewhere)).code, 0);
  });

  test('a socket file nobody listens on counts as no server: the Node plugin runs', async () => {
    const stale = join(dir, 'stale');
    mkdirSync(stale);
    const path = cniSocketPath(stale, hostInode());
    // A process that listens and exits without closing leaves its socket file behind.
    execFileSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`,
    ]);
    assert.ok(existsSync(path));
    const r = await call(bin, 'VERSION', newContainer(), { cniVersion: '1.0.0' }, 'calico', {
      CALICO_RUN_DIR: stale,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  test('with neither calico-node nor the Node plugin, the shim prints CNI error 11 naming both and exits 1', async () => {
    const r = await call(shimOnly, 'ADD', newContainer(), network, 'calico', {
      CALICO_RUN_DIR: join(dir, 'none'),
    });
    assert.equal(r.code, 1);
    assert.equal(r.json?.code, 11, r.stdout);
    assert.equal(r.json?.cniVersion, '1.0.0');
    assert.match(String(r.json?.details), /no calico-node CNI server listens at .*cni\.\d+\.sock/);
  });

  /** A stand-in server at the socket the shim looks for, answering with `answer`. */
  async function withFakeServer(
    answer: (socket: net.Socket) => void,
    body: (runDir: string) => Promise<void>,
  ): Promise<void> {
    const fakeRun = mkdtempSync(join(dir, 'fake-'));
    const server = net.createServer({ allowHalfOpen: true }, answer);
    await new Promise<void>((r) => server.listen(cniSocketPath(fakeRun, hostInode()), r));
    try {
      await body(fakeRun);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  const brokenServers = [
    {
      name: 'closes the connection mid-call',
      answer: (s: net.Socket) => s.once('data', () => s.destroy()),
      code: 11,
      msg: /closed the connection without answering/,
    },
    {
      name: 'stops in the middle of its reply',
      answer: (s: net.Socket) =>
        s.once('end', () => s.end(Buffer.from('CNR1\0\0\0\x010\0\0\0\x40{"ips"'))).resume(),
      code: 11,
      msg: /in the middle of its reply/,
    },
    {
      name: 'never answers (CALICO_CNI_TIMEOUT=1)',
      answer: (s: net.Socket) => {
        s.resume();
        setTimeout(() => s.destroy(), 3_000).unref();
      },
      code: 11,
      msg: /did not answer in time/,
    },
    {
      name: 'answers something that is not a reply',
      answer: (s: net.Socket) => s.once('end', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n')).resume(),
      code: 999,
      msg: /cannot read/,
    },
  ];
  for (const b of brokenServers)
    test(`a server that ${b.name}: CNI error ${b.code} on stdout, exit 1, never a success`, async () => {
      await withFakeServer(b.answer, async (fakeRun) => {
        const r = await call(shimOnly, 'ADD', newContainer(), { ...network, cniVersion: '0.4.0' }, 'calico', {
          CALICO_RUN_DIR: fakeRun,
          CALICO_CNI_TIMEOUT: '1',
        });
        assert.equal(r.code, 1, r.stdout);
        assert.deepEqual([r.json?.code, r.json?.cniVersion], [b.code, '0.4.0'], r.stdout);
        assert.match(String(r.json?.msg), b.msg);
      });
    });

  test('a new server replaces a stale socket file, refuses to start over a live one, and removes its file on close', async () => {
    const serverDir = mkdtempSync(join(dir, 'srv-'));
    const path = join(serverDir, 'cni.1.sock');
    execFileSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`,
    ]);
    const logger = createLogger('test', 'none');
    const first = await CniServer.listen({ socketPath: path, logger });
    await assert.rejects(
      CniServer.listen({ socketPath: path, logger }),
      /another CNI server already listens/,
    );
    await first.close();
    assert.equal(existsSync(path), false);
  });

  test('calico-node removes its socket when it stops', async () => {
    const path = cniSocketPath(runDir, hostInode());
    assert.ok(existsSync(path));
    assert.equal(await node?.stop(), 0);
    node = undefined;
    assert.equal(existsSync(path), false);
    // And the shim, finding no server any more, runs the Node plugin.
    const r = await call(bin, 'DEL', newContainer());
    assert.deepEqual([r.code, r.stdout], [0, '']);
  });
});

/** The datastore and node fields of the network, which calico-ipam reads. */
function pick(network: Record<string, unknown>): Record<string, unknown> {
  const { nodename, datastore_type, sqlite_path } = network;
  return { nodename, datastore_type, sqlite_path };
}
