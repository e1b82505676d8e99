import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { API_VERSION } from '../../../src/api/types.js';
import { ResourceClient } from '../../../src/datastore/resources.js';
import { SqliteDatastore } from '../../../src/datastore/sqlite.js';
import { processAlive, readPid } from '../../../src/node/startup/index.js';
import { NetnsLab, requireRootAndTools } from '../../support/netns.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

interface Ran {
  code: number;
  out: string;
  err: string;
}

/** Runs calicoctl as its own process inside a namespace, as a user on that host would. */
function calicoctlIn(ns: string, env: NodeJS.ProcessEnv, ...args: string[]): Ran {
  const r = spawnSync(
    'ip',
    ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(ROOT, 'bin/calicoctl.ts'), ...args],
    { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 },
  );
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
}

/** Whether this kernel can make an ipip tunnel in `ns` (the probe link stays; the namespace goes). */
function kernelHasIpip(lab: NetnsLab, ns: string, local: string, remote: string): boolean {
  return (
    lab.try(ns, 'ip', ['link', 'add', 'ipipprobe', 'type', 'ipip', 'local', local, 'remote', remote])
      .status === 0
  );
}

async function waitExit(pid: number, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return !processAlive(pid);
}

describe('calicoctl node run starts calico-node on a host without docker', () => {
  let lab: NetnsLab;
  let dir: string;
  let host = '';
  let env: NodeJS.ProcessEnv;
  let first: Ran;
  const logDir = () => join(dir, 'log');
  const runDir = () => join(dir, 'run');
  const pidFile = () => join(runDir(), 'calico-node.compile.pid');
  /** `calicoctl node run` for this host, its logs and pid file in the test directory, health on a free port. */
  const nodeRun = () =>
    calicoctlIn(
      host,
      env,
      'node',
      'run',
      '--name',
      'compile',
      '--log-dir',
      logDir(),
      '--run-dir',
      runDir(),
      '--health-port',
      '0',
    );

  const withStore = async <T>(f: (c: ResourceClient) => Promise<T>): Promise<T> => {
    const store = await SqliteDatastore.open(join(dir, 'store.sqlite'));
    try {
      return await f(new ResourceClient(store));
    } finally {
      await store.close();
    }
  };

  before(() => {
    requireRootAndTools([
      'ip',
      'iptables-restore',
      'ip6tables-restore',
      'ipset',
      'sysctl',
      'tar',
      'conntrack',
    ]);
    lab = new NetnsLab();
    dir = mkdtempSync(join(tmpdir(), 'calico-ts-noderun-'));
    host = lab.addNamespace('compile');
    const peer = lab.addNamespace('peer');
    // The seed's host: its second interface eth1 carries 192.168.40.2/24.
    lab.veth({ ns: host, name: 'eth1' }, { ns: peer, name: 'eth0' });
    lab.exec(host, 'ip', ['addr', 'add', '192.168.40.2/24', 'dev', 'eth1']);
    lab.exec(peer, 'ip', ['addr', 'add', '192.168.40.1/24', 'dev', 'eth0']);
    env = {
      DATASTORE_TYPE: 'sqlite',
      SQLITE_PATH: join(dir, 'store.sqlite'),
      CALICOCTL_DEFAULT_CONFIG: join(dir, 'no-such.cfg'),
    };
    first = nodeRun();
  });

  after(async () => {
    const pid = readPid(pidFile());
    if (pid !== undefined && processAlive(pid)) {
      process.kill(pid, 'SIGKILL');
      await waitExit(pid);
    }
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("prints the seed's start-up lines, in the seed's order, and succeeds", () => {
    assert.equal(first.code, 0, `${first.out}\n${first.err}`);
    const lines = first.out.split('\n');
    const expected: RegExp[] = [
      /^Checking kernel modules: \d+ of \d+ present/,
      /^Enabling IPv4 forwarding$/,
      /^Enabling IPv6 forwarding$/,
      /^Increasing conntrack limit$/,
      /^Using autodetected IPv4 address on interface eth1: 192\.168\.40\.2\/24$/,
      /^No AS number configured on node resource, using global value$/,
      /^Created default IPv4 pool \(192\.168\.0\.0\/16\) with NAT outgoing enabled\. IPIP mode: off$/,
      /^Created default IPv6 pool \(fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64\) with NAT outgoing enabled\. IPIP mode: off$/,
      /^Using node name: compile$/,
      /^Running the following command to start calico-node:$/,
      /^Process started \(pid \d+, log .*calico-node\.log, pid file .*calico-node\.compile\.pid\), checking progress logs\.$/,
      /^calico node started successfully$/,
    ];
    let at = 0;
    for (const re of expected) {
      const found = lines.findIndex((l, i) => i >= at && re.test(l));
      assert.ok(found >= 0, `missing (in order) ${re}:\n${first.out}`);
      at = found + 1;
    }
  });

  test('a kernel without ipip is named plainly in the start-up lines (and only then)', () => {
    assert.equal(
      first.out.includes('IPIP is not available on this kernel (no ipip module); use VXLAN\n'),
      !kernelHasIpip(lab, host, '192.168.40.2', '192.168.40.9'),
      first.out,
    );
  });

  test('the Node resource carries the autodetected address', async () => {
    const node = await withStore((c) => c.get('Node', 'compile'));
    assert.equal(node?.spec.bgp?.ipv4Address, '192.168.40.2/24');
    assert.equal(node?.spec.bgp?.asNumber, undefined);
  });

  test('the default pools exist, as printed', async () => {
    const pools = await withStore((c) => c.list('IPPool'));
    const v6 = /Created default IPv6 pool \((\S+)\)/.exec(first.out)?.[1];
    assert.deepEqual(
      pools.map((p) => [p.metadata.name, p.spec.cidr, p.spec.natOutgoing, p.spec.ipipMode]),
      [
        ['default-ipv4-ippool', '192.168.0.0/16', true, 'Never'],
        ['default-ipv6-ippool', v6, true, 'Never'],
      ],
    );
  });

  test('calico-node runs in the background, logs to the log dir and is ready', () => {
    const pid = readPid(pidFile());
    assert.ok(pid !== undefined, 'pid file written');
    assert.ok(processAlive(pid), `calico-node (pid ${pid}) is running`);
    const log = readFileSync(join(logDir(), 'calico-node.log'), 'utf8');
    assert.match(log, /dataplane in sync/);
    // Felix programmed the namespace calicoctl ran in, not the test's.
    assert.match(lab.exec(host, 'iptables-save', ['-t', 'filter']), /:cali-FORWARD/);
    assert.equal(lab.exec(host, 'sysctl', ['-n', 'net.ipv4.ip_forward']).trim(), '1');
  });

  test("node diags packs logs, kernel state and this node's resources into a tarball", async () => {
    await withStore(async (c) => {
      for (const [name, node] of [
        ['mine', 'compile'],
        ['theirs', 'other'],
      ] as const)
        await c.create({
          apiVersion: API_VERSION,
          kind: 'WorkloadEndpoint',
          metadata: { name, namespace: 'default' },
          spec: {
            node,
            orchestrator: 'k8s',
            workload: name,
            endpoint: 'eth0',
            interfaceName: `cali${name}`,
            ipNetworks: ['192.168.1.1/32'],
          },
        } as Parameters<ResourceClient['create']>[0]);
    });
    // A set of our own, to find in the bundle's ipset list.
    lab.exec(host, 'ipset', ['create', 'calidiagsprobe', 'hash:ip']);
    const dest = join(dir, 'diags');
    const r = calicoctlIn(
      host,
      env,
      'node',
      'diags',
      '--name',
      'compile',
      '--log-dir',
      logDir(),
      '--dest-dir',
      dest,
    );
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    const tarball = /^Diags saved to (\S+)$/m.exec(r.out)?.[1];
    assert.ok(tarball && tarball.startsWith(dest) && existsSync(tarball), r.out);
    const unpacked = join(dir, 'unpacked');
    mkdirSync(unpacked);
    const tar = spawnSync('tar', ['-xzf', tarball, '-C', unpacked], { encoding: 'utf8' });
    assert.equal(tar.status, 0, tar.stderr);
    const [bundle] = spawnSync('ls', [unpacked], { encoding: 'utf8' }).stdout.trim().split('\n');
    assert.match(bundle ?? '', /^diags-compile-\d{8}_\d{6}$/);
    const read = (f: string) => readFileSync(join(unpacked, bundle as string, f), 'utf8');
    assert.match(read('logs/calico-node.log'), /dataplane in sync/);
    assert.match(read('iptables-save.txt'), /cali-FORWARD/);
    assert.match(read('ip6tables-save.txt'), /\*filter/);
    assert.match(read('ipset-list.txt'), /^Name: calidiagsprobe$/m);
    assert.match(read('ip-addr.txt'), /192\.168\.40\.2\/24/);
    assert.match(read('ip-route.txt'), /192\.168\.40\.0\/24 dev eth1/);
    assert.match(read('ip-link.txt'), /eth1/);
    assert.match(read('ip6-route.txt'), /./);
    assert.match(read('conntrack-count.txt'), /^\d+/);
    assert.match(read('sysctl.txt'), /net\.ipv4\.ip_forward = 1/);
    const items = (f: string) =>
      (YAML.parse(read(f)) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name);
    assert.deepEqual(items('resources/nodes.yaml'), ['compile']);
    assert.deepEqual(items('resources/workloadendpoints.yaml'), ['mine']);
    assert.deepEqual(items('resources/ippools.yaml'), ['default-ipv4-ippool', 'default-ipv6-ippool']);
    assert.match(read('summary.txt'), /iptables-save\.txt: iptables-save -c \(exit 0\)/);
  });

  test('a second node run replaces the running calico-node and creates no more pools', async () => {
    const oldPid = readPid(pidFile());
    const again = nodeRun();
    assert.equal(again.code, 0, `${again.out}\n${again.err}`);
    assert.ok(again.out.includes(`Stopped calico-node (pid ${oldPid}).`), again.out);
    assert.ok(!again.out.includes('Created default'), again.out);
    assert.match(again.out, /Using IPv4 address configured on the node resource: 192\.168\.40\.2\/24/);
    const pid = readPid(pidFile());
    assert.notEqual(pid, oldPid);
    assert.ok(pid !== undefined && processAlive(pid));
    assert.equal((await withStore((c) => c.list('IPPool'))).length, 2);
  });

  test('killing the pid from the pid file stops calico-node', async () => {
    const pid = readPid(pidFile());
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGTERM');
    assert.ok(await waitExit(pid), 'calico-node exited on SIGTERM');
    assert.match(readFileSync(join(logDir(), 'calico-node.log'), 'utf8'), /calico-node stopped/);
  });
});

describe('calicoctl node run refuses what cannot work, with the reason', () => {
  let lab: NetnsLab;
  let dir: string;
  let host = '';
  before(() => {
    requireRootAndTools(['ip', 'sysctl']);
    lab = new NetnsLab();
    dir = mkdtempSync(join(tmpdir(), 'calico-ts-noderun-bad-'));
    host = lab.addNamespace('bad');
    const peer = lab.addNamespace('badpeer');
    lab.veth({ ns: host, name: 'eth1' }, { ns: peer, name: 'eth0' });
    lab.exec(host, 'ip', ['addr', 'add', '10.20.0.2/24', 'dev', 'eth1']);
  });
  after(() => {
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let runs = 0;
  const run = (env: NodeJS.ProcessEnv, ...args: string[]) =>
    calicoctlIn(
      host,
      {
        DATASTORE_TYPE: 'sqlite',
        SQLITE_PATH: join(dir, `store-${runs++}.sqlite`),
        CALICOCTL_DEFAULT_CONFIG: join(dir, 'no-such.cfg'),
        ...env,
      },
      'node',
      'run',
      '--name',
      'bad',
      '--log-dir',
      join(dir, 'log'),
      '--run-dir',
      join(dir, 'run'),
      ...args,
    );

  test('an IPIP default pool is refused when the kernel has no ipip, and says to use VXLAN', () => {
    const ipip = kernelHasIpip(lab, host, '10.20.0.2', '10.20.0.9');
    const r = run({ CALICO_IPV4POOL_IPIP: 'Always' }, '--startup-only');
    if (ipip) {
      assert.equal(r.code, 0, r.err);
      assert.match(
        r.out,
        /Created default IPv4 pool \(192\.168\.0\.0\/16\) with NAT outgoing enabled\. IPIP mode: always/,
      );
    } else {
      assert.equal(r.code, 1, r.out);
      assert.match(
        r.err,
        /calico node failed to start: CALICO_IPV4POOL_IPIP=Always asks for an IPIP pool, but IPIP is not available on this kernel \(no ipip module\); use VXLAN/,
      );
    }
  });

  test('an autodetection method that matches no interface fails and names the method', () => {
    const r = run({}, '--ip-autodetection-method', 'interface=wlan9');
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.err,
      /could not autodetect an IPv4 address: no IPv4 address found on an interface matching \/wlan9\//,
    );
  });

  test('can-reach picks the address of the interface the route leaves by; --startup-only starts nothing', () => {
    const r = run({}, '--ip-autodetection-method', 'can-reach=10.20.0.1', '--startup-only');
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    assert.match(r.out, /^Using autodetected IPv4 address on interface eth1: 10\.20\.0\.2\/24$/m);
    assert.ok(!existsSync(join(dir, 'run', 'calico-node.bad.pid')), 'no pid file');
  });
});
