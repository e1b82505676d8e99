import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { ctlSandbox, seedFile, tableRows, type CtlSandbox } from '../../support/calicoctl.js';

describe("calicoctl with the seed's tenant example", () => {
  let sb: CtlSandbox;
  before(() => (sb = ctlSandbox()));
  after(() => sb.cleanup());

  test('create -f endpoints.yaml reports the three workload endpoints', async () => {
    const r = await sb.ctl('create', '-f', seedFile('endpoints.yaml'));
    assert.equal(r.err, '');
    assert.equal(r.out, "Successfully created 3 'workloadEndpoint' resource(s)\n");
    assert.equal(r.code, 0);
  });

  test("get workloadEndpoint prints the seed's table", async () => {
    const r = await sb.ctl('get', 'workloadEndpoint');
    assert.equal(r.code, 0);
    const lines = r.out.trimEnd().split('\n');
    assert.deepEqual(lines[0]?.split(/\s+/), [
      'NODE',
      'ORCHESTRATOR',
      'WORKLOAD',
      'NAME',
      'NETWORKS',
      'NATS',
      'INTERFACE',
      'PROFILES',
    ]);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s+/)),
      [
        ['slave1', 'k8s', 'frontend', 'slave1-frontend1', '172.16.1.1/32', 'cali0ef24b1'],
        ['slave1', 'k8s', 'frontend', 'slave1-frontend2', '172.16.1.2/32', 'cali0ef24b2'],
        ['slave2', 'k8s', 'database', 'slave2-database', '172.16.1.3/32', 'cali0ef24b3', 'profile-database'],
      ],
    );
    // The empty NATS column keeps INTERFACE aligned under its header.
    assert.equal(lines[1]?.indexOf('cali0ef24b1'), lines[0]?.indexOf('INTERFACE'));
  });

  test('creating the same endpoints again fails, names the resource, and writes nothing', async () => {
    const r = await sb.ctl('create', '-f', seedFile('endpoints.yaml'));
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /resource already exists: WorkloadEndpoint\(default\/slave1-k8s-frontend-slave1--frontend1\)/,
    );
    assert.equal(tableRows((await sb.ctl('get', 'wep')).out).length, 4);
  });

  test('--skip-exists turns the duplicate into a skip', async () => {
    const r = await sb.ctl('create', '--skip-exists', '-f', seedFile('endpoints.yaml'));
    assert.equal(r.code, 0);
    assert.match(
      r.out,
      /Successfully created 0 'workloadEndpoint' resource\(s\) \(3 skipped: already exist\)/,
    );
  });

  test('filters: --node, --workload, --orchestrator', async () => {
    assert.equal(tableRows((await sb.ctl('get', 'wep', '--node', 'slave2')).out).length, 2);
    assert.equal(tableRows((await sb.ctl('get', 'wep', '--workload', 'frontend')).out).length, 3);
    assert.equal(tableRows((await sb.ctl('get', 'wep', '--orchestrator', 'cni')).out).length, 1);
    const bad = await sb.ctl('get', 'ippool', '--workload', 'x');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--workload does not apply to IPPool/);
  });

  test('a workload endpoint can be named by its v1 endpoint name', async () => {
    const r = await sb.ctl('get', 'wep', 'slave2-database', '-o', 'yaml');
    assert.equal(r.code, 0);
    assert.equal(YAML.parse(r.out).metadata.name, 'slave2-k8s-database-slave2--database');
  });

  test('policy and profile, then get policy -o yaml shows the v3 GlobalNetworkPolicy', async () => {
    assert.equal(
      (await sb.ctl('create', '-f', seedFile('policy.yaml'))).out,
      "Successfully created 1 'policy' resource(s)\n",
    );
    assert.equal(
      (await sb.ctl('create', '-f', seedFile('profile.yaml'))).out,
      "Successfully created 1 'profile' resource(s)\n",
    );
    const r = await sb.ctl('get', 'policy', '-o', 'yaml');
    const doc = YAML.parse(r.out);
    assert.equal(doc.kind, 'GlobalNetworkPolicyList');
    assert.equal(doc.items.length, 1);
    assert.equal(doc.items[0].metadata.name, 'namespace-default');
    assert.deepEqual(doc.items[0].spec.ingress, [
      { action: 'Allow', source: { selector: "namespace == 'default'" } },
    ]);
    assert.ok(Number(doc.items[0].metadata.resourceVersion) > 0);
  });
});

describe('calicoctl get for the other kinds of the seed', () => {
  let sb: CtlSandbox;
  before(async () => {
    sb = ctlSandbox();
    for (const f of ['ippool.yaml', 'bgppeer.yaml', 'node.yaml', 'hostendpoint.yaml']) {
      const r = await sb.ctl('create', '-f', seedFile(f));
      assert.equal(r.code, 0, r.err);
    }
  });
  after(() => sb.cleanup());

  test('get ipPool shows the CIDR; -o wide adds NAT and IPIP', async () => {
    assert.deepEqual(tableRows((await sb.ctl('get', 'ipPool')).out), [['CIDR'], ['10.1.0.0/16']]);
    const wide = tableRows((await sb.ctl('get', 'ipPool', '-o', 'wide')).out);
    assert.deepEqual(wide[0]?.slice(0, 3), ['CIDR', 'NAT', 'IPIP']);
    assert.deepEqual(wide[1]?.slice(0, 3), ['10.1.0.0/16', 'true', 'cross-subnet']);
  });

  test('get bgpPeer shows SCOPE PEERIP NODE ASN', async () => {
    assert.deepEqual(tableRows((await sb.ctl('get', 'bgpPeer')).out), [
      ['SCOPE', 'PEERIP', 'NODE', 'ASN'],
      ['node', '192.168.1.1', 'rack1-host1', '63400'],
    ]);
    assert.equal(tableRows((await sb.ctl('get', 'bgppeers', '--scope', 'global')).out).length, 1);
  });

  test('get node lists names; -o wide shows AS and addresses', async () => {
    assert.deepEqual(tableRows((await sb.ctl('get', 'node')).out), [['NAME'], ['node-hostname']]);
    assert.deepEqual(tableRows((await sb.ctl('get', 'nodes', '-o', 'wide')).out)[1], [
      'node-hostname',
      '64512',
      '10.244.0.1/24',
      '2001:db8:85a3::8a2e:370:7334/120',
    ]);
  });

  test('kind names are case-insensitive, singular, plural or short', async () => {
    for (const k of ['IPPOOL', 'ippools', 'ipp', 'IPPool']) {
      assert.deepEqual(tableRows((await sb.ctl('get', k)).out)[1], ['10.1.0.0/16'], k);
    }
    for (const k of ['hep', 'hostEndpoint', 'hostendpoints']) {
      assert.equal((await sb.ctl('get', k)).code, 0, k);
    }
    const bad = await sb.ctl('get', 'gadgets');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /resource type 'gadgets' is not supported/);
  });

  test('-o json prints a list', async () => {
    const doc = JSON.parse((await sb.ctl('get', 'hep', '-o', 'json')).out);
    assert.equal(doc.kind, 'HostEndpointList');
    assert.equal(doc.items[0].spec.interfaceName, 'eth0');
  });
});

describe('calicoctl config', () => {
  let sb: CtlSandbox;
  before(() => (sb = ctlSandbox()));
  after(() => sb.cleanup());

  const cases: [string, string, string][] = [
    // name, value on a new store, value to set
    ['asNumber', '64512', '64513'],
    ['nodeTonodeMesh', 'on', 'off'],
    ['logLevel', 'info', 'debug'],
    ['ipip', 'off', 'on'],
  ];
  for (const [name, initial, next] of cases) {
    test(`${name}: ${initial} on a new store, then set and get round-trip`, async () => {
      assert.deepEqual(await sb.ctl('config', 'get', name), { code: 0, out: `${initial}\n`, err: '' });
      assert.equal((await sb.ctl('config', 'set', name, next)).code, 0);
      assert.equal((await sb.ctl('config', 'get', name)).out, `${next}\n`);
    });
  }

  test('the dotted AS form is accepted and stored as a number', async () => {
    assert.equal((await sb.ctl('config', 'set', 'asNumber', '1.10')).code, 0);
    assert.equal((await sb.ctl('config', 'get', 'asNumber')).out, '65546\n');
  });

  test('bad values are refused and change nothing', async () => {
    for (const [name, value, msg] of [
      ['asNumber', '0', /invalid value "0" for asNumber/],
      ['nodeTonodeMesh', 'maybe', /use on or off/],
      ['logLevel', 'loud', /invalid value "loud" for logLevel/],
      ['colour', 'red', /unknown config name "colour"/],
    ] as const) {
      const r = await sb.ctl('config', 'set', name, value);
      assert.equal(r.code, 1, name);
      assert.match(r.err, msg);
    }
    assert.equal((await sb.ctl('config', 'get', 'asNumber')).out, '65546\n');
  });
});

describe('calicoctl bad input changes nothing', () => {
  let sb: CtlSandbox;
  before(() => (sb = ctlSandbox()));
  after(() => sb.cleanup());

  test('a file with one invalid document writes none of them', async () => {
    const file = join(sb.dir, 'mixed.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: good}\nspec: {cidr: 10.10.0.0/16}',
        'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: bad}\nspec: {cidr: 10.20.0.0/16, blockSize: 99}',
      ].join('\n---\n'),
    );
    const r = await sb.ctl('create', '-f', file);
    assert.equal(r.code, 1);
    assert.match(r.err, /1 of 2 document\(s\) .* is invalid, so nothing was written/);
    assert.match(r.err, /document 2 \(line 6\), IPPool "bad":\n {2}spec.blockSize: "99" is out of range/);
    assert.deepEqual(tableRows((await sb.ctl('get', 'ippool')).out), [['CIDR']]);
  });

  test('malformed YAML names the line and column', async () => {
    const r = await sb.ctlIn('kind: [unclosed\n', 'create', '-f', '-');
    assert.equal(r.code, 1);
    assert.match(r.err, /malformed YAML: line \d+, column \d+/);
  });

  test('overlapping pools are refused', async () => {
    assert.equal(
      (
        await sb.ctlIn(
          'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: a}\nspec: {cidr: 10.0.0.0/16}\n',
          'create',
          '-f',
          '-',
        )
      ).code,
      0,
    );
    const r = await sb.ctlIn(
      'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: b}\nspec: {cidr: 10.0.128.0/17}\n',
      'create',
      '-f',
      '-',
    );
    assert.equal(r.code, 1);
    assert.match(r.err, /overlaps with IPPool\(a\)/);
  });

  test('delete of a missing resource fails with its name', async () => {
    const r = await sb.ctl('delete', 'ippool', 'nope');
    assert.equal(r.code, 1);
    assert.match(r.err, /resource does not exist: IPPool\(nope\)/);
    assert.equal((await sb.ctl('delete', 'ippool', 'nope', '--skip-not-exists')).code, 0);
  });

  test('replace needs the resource to exist; apply creates or replaces', async () => {
    const doc =
      'apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: p}\nspec: {labelsToApply: {a: "1"}}\n';
    const r = await sb.ctlIn(doc, 'replace', '-f', '-');
    assert.equal(r.code, 1);
    assert.match(r.err, /resource does not exist: Profile\(p\)/);
    assert.equal(
      (await sb.ctlIn(doc, 'apply', '-f', '-')).out,
      "Successfully applied 1 'Profile' resource(s)\n",
    );
    const changed = doc.replace('"1"', '"2"');
    assert.equal(
      (await sb.ctlIn(changed, 'replace', '-f', '-')).out,
      "Successfully replaced 1 'Profile' resource(s)\n",
    );
    assert.equal(
      YAML.parse((await sb.ctl('get', 'profile', 'p', '-o', 'yaml')).out).spec.labelsToApply.a,
      '2',
    );
  });

  test('replace with a stale resourceVersion is a conflict', async () => {
    const current = YAML.parse((await sb.ctl('get', 'profile', 'p', '-o', 'yaml')).out);
    const stale = { ...current, metadata: { ...current.metadata, resourceVersion: '1' } };
    const r = await sb.ctlIn(YAML.stringify(stale), 'replace', '-f', '-');
    assert.equal(r.code, 1);
    assert.match(r.err, /update conflict: Profile\(p\)/);
  });

  test('label sets, refuses to overwrite without --overwrite, and removes', async () => {
    assert.equal((await sb.ctl('label', 'profile', 'p', 'tier=db')).code, 0);
    const refused = await sb.ctl('label', 'profile', 'p', 'tier=web');
    assert.equal(refused.code, 1);
    assert.match(refused.err, /use --overwrite/);
    assert.equal((await sb.ctl('label', 'profile', 'p', 'tier=web', '--overwrite')).code, 0);
    assert.equal(
      YAML.parse((await sb.ctl('get', 'profile', 'p', '-o', 'yaml')).out).metadata.labels.tier,
      'web',
    );
    assert.equal((await sb.ctl('label', 'profile', 'p', 'tier-')).code, 0);
    assert.equal(
      YAML.parse((await sb.ctl('get', 'profile', 'p', '-o', 'yaml')).out).metadata.labels?.tier,
      undefined,
    );
  });

  test('delete -f removes what the file names', async () => {
    const r = await sb.ctl('delete', '-f', seedFile('profile1.yaml'));
    assert.equal(r.code, 1, 'profile1 was never created');
    await sb.ctl('create', '-f', seedFile('profile1.yaml'));
    assert.equal(
      (await sb.ctl('delete', '-f', seedFile('profile1.yaml'))).out,
      "Successfully deleted 1 'profile' resource(s)\n",
    );
  });
});

describe('calicoctl convert and configuration', () => {
  let sb: CtlSandbox;
  before(() => (sb = ctlSandbox()));
  after(() => sb.cleanup());

  test('convert prints the v3 form of a v1 file and writes nothing', async () => {
    const r = await sb.ctl('convert', '-f', seedFile('ippool.yaml'));
    assert.equal(r.code, 0);
    const doc = YAML.parse(r.out);
    assert.equal(doc.apiVersion, 'projectcalico.org/v3');
    assert.equal(doc.kind, 'IPPool');
    assert.equal(doc.spec.ipipMode, 'CrossSubnet');
    assert.deepEqual(tableRows((await sb.ctl('get', 'ippool')).out), [['CIDR']]);
  });

  test('a v1 calicoApiConfig file with a sqlitePath is used', async () => {
    const cfg = join(sb.dir, 'calicoctl.cfg');
    writeFileSync(
      cfg,
      `apiVersion: v1\nkind: calicoApiConfig\nmetadata:\nspec:\n  datastoreType: "sqlite"\n  sqlitePath: "${join(sb.dir, 'other.sqlite')}"\n`,
    );
    assert.equal((await sb.ctl('--config', cfg, 'create', '-f', seedFile('node.yaml'))).code, 0);
    assert.deepEqual(tableRows((await sb.ctl('--config', cfg, 'get', 'node')).out), [
      ['NAME'],
      ['node-hostname'],
    ]);
    // The environment's store is untouched.
    assert.deepEqual(tableRows((await sb.ctl('get', 'node')).out), [['NAME']]);
  });

  test("the seed's etcdv2 gets a message that says to use etcdv3", async () => {
    const cfg = join(sb.dir, 'v2.cfg');
    writeFileSync(
      cfg,
      'apiVersion: v1\nkind: calicoApiConfig\nmetadata:\nspec:\n  datastoreType: "etcdv2"\n  etcdEndpoints: "http://127.0.0.1:2379"\n',
    );
    const r = await sb.ctl('--config', cfg, 'get', 'node');
    assert.equal(r.code, 1);
    assert.match(r.err, /"etcdv2" is not supported.*use "etcdv3"/);
  });

  test('a missing --config file is an error', async () => {
    const r = await sb.ctl('--config', join(sb.dir, 'absent.cfg'), 'get', 'node');
    assert.equal(r.code, 1);
    assert.match(r.err, /absent\.cfg does not exist/);
  });

  test('-f may be repeated; one bad file refuses them all', async () => {
    const bad = join(sb.dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: profile\nmetadata: {name: Bad_Name}\nspec: {}\n');
    const refused = await sb.ctl('create', '-f', seedFile('policy.yaml'), '-f', bad);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /bad\.yaml: document 1 \(line 1\), profile "Bad_Name"/);
    assert.deepEqual(tableRows((await sb.ctl('get', 'policy')).out), [['NAME']]);
    const r = await sb.ctl('create', '-f', seedFile('policy.yaml'), '-f', seedFile('profile.yaml'));
    assert.equal(r.out, 'Successfully created 2 resource(s)\n');
  });

  test('version prints the client version', async () => {
    assert.match((await sb.ctl('version')).out, /^Client Version: +v\d+\.\d+\.\d+/);
  });
});
