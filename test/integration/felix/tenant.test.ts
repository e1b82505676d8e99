import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadResources, type Resource } from '../../../src/api/index.js';
import { SqliteDatastore } from '../../../src/datastore/sqlite.js';
import { ResourceClient } from '../../../src/datastore/resources.js';
import { explainTraffic, policyResourcesFrom } from '../../../src/policy/index.js';
import { Listeners, probeIcmp, probeTcp } from '../../../src/lab/probe.js';
import { NetnsLab, requireRootAndTools } from '../../support/netns.js';
import { attachWorkload } from '../../support/workloads.js';
import { NodeProcess } from '../../support/calico-node.js';

const WORKLOADS = [
  { name: 'slave1-frontend1', host: 'slave1', ns: 'fe1', iface: 'cali0ef24b1', ip: '172.16.1.1' },
  { name: 'slave1-frontend2', host: 'slave1', ns: 'fe2', iface: 'cali0ef24b2', ip: '172.16.1.2' },
  { name: 'slave2-database', host: 'slave2', ns: 'db', iface: 'cali0ef24b3', ip: '172.16.1.3' },
] as const;
const PROBES = [
  { protocol: 'icmp' },
  { protocol: 'tcp', port: 3306 },
  { protocol: 'tcp', port: 80 },
] as const;

const example = (f: string): Resource[] =>
  loadResources(readFileSync(new URL(`../../../examples/${f}`, import.meta.url), 'utf8')).resources.map(
    (r) => r.resource,
  );

type Cell = { from: string; to: string; probe: string; actual: boolean; predicted: boolean };

describe("Felix enforces the seed's tenant example on real packets", () => {
  let lab: NetnsLab;
  let dir: string;
  let store: SqliteDatastore;
  let client: ResourceClient;
  const ns: Record<string, string> = {};
  const nodes: NodeProcess[] = [];
  const listeners: Listeners[] = [];

  async function setPolicy(files: string[]): Promise<Resource[]> {
    for (const kind of ['GlobalNetworkPolicy', 'Profile'] as const)
      for (const r of await client.list(kind)) await client.delete(kind, r.metadata.name);
    for (const f of files)
      for (const r of example(f)) if (r.kind !== 'WorkloadEndpoint') await client.create(r);
    return [
      ...(await client.list('WorkloadEndpoint')),
      ...(await client.list('GlobalNetworkPolicy')),
      ...(await client.list('Profile')),
    ];
  }

  /** Probes every ordered pair, retrying briefly so a just-changed policy has time to land. */
  async function matrix(resources: Resource[], settleMs = 10_000): Promise<Cell[]> {
    const policy = policyResourcesFrom(resources);
    const deadline = Date.now() + settleMs;
    for (;;) {
      const cells = await Promise.all(
        WORKLOADS.flatMap((src) =>
          WORKLOADS.filter((d) => d !== src).flatMap((dst) =>
            PROBES.map(async (p): Promise<Cell> => {
              const predicted =
                explainTraffic(policy, {
                  from: src.name,
                  to: dst.name,
                  protocol: p.protocol,
                  ...('port' in p ? { port: p.port } : {}),
                }).verdict === 'allow';
              const actual =
                'port' in p
                  ? await probeTcp(ns[src.ns] as string, dst.ip, p.port)
                  : await probeIcmp(ns[src.ns] as string, dst.ip);
              return {
                from: src.name,
                to: dst.name,
                probe: 'port' in p ? `tcp/${p.port}` : 'icmp',
                actual,
                predicted,
              };
            }),
          ),
        ),
      );
      if (cells.every((c) => c.actual === c.predicted) || Date.now() > deadline) return cells;
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  const disagreements = (cells: Cell[]) =>
    cells
      .filter((c) => c.actual !== c.predicted)
      .map((c) => `${c.from} → ${c.to} ${c.probe}: saw ${c.actual}, explain says ${c.predicted}`);
  const cell = (cells: Cell[], from: string, to: string, probe: string) =>
    cells.find((c) => c.from === from && c.to === to && c.probe === probe);

  before(async () => {
    requireRootAndTools(['ip', 'iptables-restore', 'ipset', 'nc', 'ping']);
    lab = new NetnsLab();
    dir = mkdtempSync(join(tmpdir(), 'calico-ts-felix-'));
    for (const n of ['slave1', 'slave2', 'fe1', 'fe2', 'db']) ns[n] = lab.addNamespace(n);
    lab.veth({ ns: ns.slave1 as string, name: 'eth1' }, { ns: ns.slave2 as string, name: 'eth1' });
    lab.exec(ns.slave1 as string, 'ip', ['addr', 'add', '10.0.0.1/24', 'dev', 'eth1']);
    lab.exec(ns.slave2 as string, 'ip', ['addr', 'add', '10.0.0.2/24', 'dev', 'eth1']);
    for (const w of WORKLOADS) attachWorkload(lab, ns[w.host] as string, ns[w.ns] as string, w.iface, w.ip);
    // Until BGP lands in this test, the hosts know each other's workloads from static routes.
    lab.exec(ns.slave1 as string, 'ip', ['route', 'add', '172.16.1.3/32', 'via', '10.0.0.2']);
    lab.exec(ns.slave2 as string, 'ip', ['route', 'add', '172.16.1.0/30', 'via', '10.0.0.1']);
    for (const w of WORKLOADS) listeners.push(new Listeners(ns[w.ns] as string, [3306, 80]));
    store = await SqliteDatastore.open(join(dir, 'store.sqlite'));
    client = new ResourceClient(store);
    for (const r of example('seed/endpoints.yaml')) await client.create(r);
    await setPolicy(['seed/policy.yaml', 'seed/profile.yaml']);
    const env = {
      DATASTORE_TYPE: 'sqlite',
      SQLITE_PATH: join(dir, 'store.sqlite'),
      CALICOCTL_DEFAULT_CONFIG: join(dir, 'none.cfg'),
    };
    for (const host of ['slave1', 'slave2'])
      nodes.push(new NodeProcess(ns[host] as string, host, env, ['--refresh-interval', '1000']));
    await Promise.all(nodes.map((n) => n.waitReady()));
  });

  after(async () => {
    for (const l of listeners) l.stop();
    const codes = await Promise.all(nodes.map((n) => n.stop()));
    await store?.close();
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(codes, [0, 0], 'calico-node exits cleanly on SIGTERM');
  });

  test('as the seed wrote it: the namespace policy decides, and every cell matches explain', async () => {
    const cells = await matrix(await setPolicy(['seed/policy.yaml', 'seed/profile.yaml']));
    assert.deepEqual(disagreements(cells), []);
    assert.equal(cell(cells, 'slave1-frontend1', 'slave2-database', 'tcp/3306')?.actual, true);
  });

  test("the tenant scenario: the profile's deny-first rule closes 3306 to the frontends", async () => {
    const cells = await matrix(await setPolicy(['tenant/policy.yaml', 'tenant/profile-database.yaml']));
    assert.deepEqual(disagreements(cells), []);
    assert.equal(cell(cells, 'slave1-frontend1', 'slave2-database', 'tcp/3306')?.actual, false);
    assert.equal(cell(cells, 'slave1-frontend1', 'slave1-frontend2', 'tcp/80')?.actual, true);
  });

  test('with the fixed profile (allow before deny) 3306 opens and 80 stays closed', async () => {
    const cells = await matrix(await setPolicy(['tenant/policy.yaml', 'tenant/fixed/profile-database.yaml']));
    assert.deepEqual(disagreements(cells), []);
    assert.equal(cell(cells, 'slave1-frontend1', 'slave2-database', 'tcp/3306')?.actual, true);
    assert.equal(cell(cells, 'slave1-frontend1', 'slave2-database', 'tcp/80')?.actual, false);
  });

  test("iptables-save on slave2 shows the seed's chains, policy before profile, and the marks", async () => {
    await setPolicy(['seed/policy.yaml', 'seed/profile.yaml']);
    let save = '';
    for (
      const deadline = Date.now() + 10_000;
      Date.now() < deadline;
      await new Promise((r) => setTimeout(r, 100))
    ) {
      save = lab.exec(ns.slave2 as string, 'iptables-save', ['-t', 'filter']);
      if (save.includes('-j cali-pi-namespace-default') && save.includes('-j cali-pri-profile-database'))
        break;
    }
    assert.match(save, /^-A FORWARD -m comment --comment "cali:[\w-]+" -j cali-FORWARD$/m);
    assert.match(save, /^-A cali-FORWARD -o cali\+ .*-j cali-to-wl-dispatch$/m);
    assert.match(save, /^-A cali-to-wl-dispatch -o cali0ef24b3 .*-g cali-tw-cali0ef24b3$/m);
    const tw = save.split('\n').filter((l) => l.startsWith('-A cali-tw-cali0ef24b3 '));
    const order = [
      '--set-xmark 0x0/0x1000000',
      'Start of policy',
      '-j cali-pi-namespace-default',
      'Return if policy matches',
      'Drop if no policy matches',
      '-j cali-pri-profile-database',
      'Return if profile matches',
      'Drop if no profile matches',
    ];
    assert.deepEqual(
      order.map((needle) => tw.findIndex((l) => l.includes(needle))),
      order.map((_, i) => i),
      `cali-tw-cali0ef24b3 in the seed's order:\n${tw.join('\n')}`,
    );
  });

  test('a label change moves a workload out of the allowed set within a second', async () => {
    await setPolicy(['tenant/policy.yaml', 'tenant/fixed/profile-database.yaml']);
    // setPolicy deletes and re-creates the policy and profiles; a fast Felix may briefly program the
    // state between the two (no profile: 3306 closed). Wait until the re-created state is in force.
    // (nc takes whole seconds for -w: a fractional timeout is rejected, which reads as "closed".)
    const settled = Date.now() + 10_000;
    let open = false;
    while (!open && Date.now() < settled) open = await probeTcp(ns.fe2 as string, '172.16.1.3', 3306, 1);
    assert.equal(open, true, 'frontend2 reaches the database on 3306 before the label change');
    const fe2 = (await client.list('WorkloadEndpoint')).find((w) => w.spec.endpoint === 'slave1-frontend2');
    assert.ok(fe2);
    const started = Date.now();
    await client.update({
      ...fe2,
      metadata: { ...fe2.metadata, labels: { ...fe2.metadata.labels, service: 'batch' } },
    });
    // A probe that starts at t and is refused shows the drop was in force at t (its 1 s timeout
    // is how long it takes to notice, not when the change landed).
    let closedAt: number | undefined;
    while (closedAt === undefined && Date.now() - started < 1000) {
      const t = Date.now() - started;
      if (!(await probeTcp(ns.fe2 as string, '172.16.1.3', 3306, 1))) closedAt = t;
    }
    assert.ok(closedAt !== undefined, 'frontend2 lost access to 3306 within 1 s of its label change');
    const back = (await client.list('WorkloadEndpoint')).find((w) => w.spec.endpoint === 'slave1-frontend2');
    assert.ok(back);
    await client.update({
      ...back,
      metadata: { ...back.metadata, labels: { ...back.metadata.labels, service: 'frontend' } },
    });
  });

  test('deleting the policy leaves the profile alone in charge', async () => {
    const resources = await setPolicy(['tenant/policy.yaml', 'tenant/fixed/profile-database.yaml']);
    await client.delete('GlobalNetworkPolicy', 'namespace-default');
    const cells = await matrix(resources.filter((r) => r.kind !== 'GlobalNetworkPolicy'));
    assert.deepEqual(disagreements(cells), []);
    // Frontends have no profile: with no policy either, everything to and from them is denied.
    assert.equal(cell(cells, 'slave1-frontend1', 'slave1-frontend2', 'icmp')?.actual, false);
  });

  test('drift: a flushed cali-FORWARD and a deleted FORWARD jump come back; a foreign rule stays', async () => {
    const host = ns.slave1 as string;
    lab.exec(host, 'iptables', ['-A', 'FORWARD', '-s', '192.0.2.7', '-j', 'DROP']);
    lab.exec(host, 'iptables', ['-F', 'cali-FORWARD']);
    const jump = /^-A FORWARD (-m comment --comment "cali:[\w-]+" -j cali-FORWARD)$/m.exec(
      lab.exec(host, 'iptables-save', ['-t', 'filter']),
    );
    assert.ok(jump?.[1]);
    lab.exec(host, 'sh', ['-c', `iptables -D FORWARD ${jump[1]}`]);
    const deadline = Date.now() + 3000;
    let save = '';
    while (Date.now() < deadline) {
      save = lab.exec(host, 'iptables-save', ['-t', 'filter']);
      if (/-A FORWARD .*-j cali-FORWARD/.test(save) && /-A cali-FORWARD .*INVALID -j DROP/.test(save)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(save, /-A FORWARD .*-j cali-FORWARD/);
    assert.match(save, /-A cali-FORWARD .*INVALID -j DROP/);
    assert.match(save, /-A FORWARD -s 192\.0\.2\.7\/32 -j DROP/);
  });
});
