// calicoctl end to end against a real etcd (TLS + auth), with the seed's examples, side by side with
// the same commands on the embedded SQLite store; and `datastore migrate` between the two backends.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import { KINDS } from '../../../src/api/kinds.js';
import { SqliteDatastore } from '../../../src/datastore/sqlite.js';
import { ctlSandbox, seedFile, type CtlSandbox } from '../../support/calicoctl.js';
import { EtcdServer, STANDARD_USERS } from '../../support/etcd.js';

const CALICO = { name: 'calico', password: 'calico-secret' };
const SEED_FILES = readdirSync(new URL('../../../examples/seed/', import.meta.url))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** A calicoctl sandbox whose datastore is this etcd, configured through ETCD_* variables. */
function etcdSandbox(server: EtcdServer, user?: { name: string; password: string }): CtlSandbox {
  const sandbox = ctlSandbox();
  delete sandbox.env.SQLITE_PATH;
  Object.assign(sandbox.env, server.env(user));
  return sandbox;
}

/** What differs between two stores by nature: uid, creation time and resourceVersion. */
function withoutStoreIdentity(yaml: string): string {
  return yaml.replace(/^(\s*)(resourceVersion|uid|creationTimestamp): .*$/gm, '$1$2: <store-specific>');
}

/** Only resourceVersion may differ after a migration: uid and creation time travel with the value. */
function withoutResourceVersion(yaml: string): string {
  return yaml.replace(/^(\s*)resourceVersion: .*$/gm, '$1resourceVersion: <revision>');
}

async function applySeed(sandbox: CtlSandbox): Promise<void> {
  for (const file of SEED_FILES) {
    const r = await sandbox.ctl('apply', '-f', seedFile(file));
    assert.equal(r.code, 0, `${file}: ${r.err}`);
  }
  for (const [name, value] of [
    ['asNumber', '64513'],
    ['logLevel', 'debug'],
    ['ipip', 'on'],
  ] as const) {
    const r = await sandbox.ctl('config', 'set', name, value);
    assert.equal(r.code, 0, r.err);
  }
}

describe('calicoctl against etcd with TLS and auth', () => {
  let server: EtcdServer;
  let onEtcd: CtlSandbox;
  let onSqlite: CtlSandbox;
  before(async () => {
    server = await EtcdServer.start({ tls: true, users: STANDARD_USERS });
    onEtcd = etcdSandbox(server, CALICO);
    onSqlite = ctlSandbox();
    await applySeed(onEtcd);
    await applySeed(onSqlite);
  });
  after(async () => {
    onEtcd?.cleanup();
    onSqlite?.cleanup();
    await server?.close();
  });

  test('every seed file applies, and the keys are in etcd under /calico/resources/v3/', () => {
    const keys = server.etcdctl('get', '--prefix', '--keys-only', '/calico/resources/v3/projectcalico.org/');
    for (const plural of [
      'workloadendpoints',
      'ippools',
      'bgppeers',
      'nodes',
      'profiles',
      'globalnetworkpolicies',
    ])
      assert.match(keys, new RegExp(`/calico/resources/v3/projectcalico.org/${plural}/`), plural);
  });

  for (const { kind } of KINDS) {
    test(`get ${kind} (table, wide and yaml) prints what it prints on SQLite`, async () => {
      for (const format of [[], ['-o', 'wide'], ['-o', 'yaml']]) {
        const [etcd, sqlite] = [
          await onEtcd.ctl('get', kind, ...format),
          await onSqlite.ctl('get', kind, ...format),
        ];
        assert.equal(etcd.code, sqlite.code, `${kind} ${format}: ${etcd.err}`);
        assert.equal(withoutStoreIdentity(etcd.out), withoutStoreIdentity(sqlite.out), `${kind} ${format}`);
        assert.equal(etcd.err, sqlite.err);
      }
    });
  }

  test('config get reads back what config set wrote', async () => {
    assert.equal((await onEtcd.ctl('config', 'get', 'asNumber')).out, '64513\n');
    assert.equal((await onEtcd.ctl('config', 'get', 'logLevel')).out, 'debug\n');
  });

  test('replace with a stale resourceVersion is refused as a conflict; label and delete work', async () => {
    const current = await onEtcd.ctl('get', 'ippool', '-o', 'yaml');
    assert.equal(current.code, 0, current.err);
    assert.equal((await onEtcd.ctl('label', 'nodes', 'node-hostname', 'rack=r1')).code, 0);
    const labelled = await onEtcd.ctl('get', 'node', 'node-hostname', '-o', 'yaml');
    assert.match(labelled.out, /rack: r1/);
    const stale = current.out.replace(/resourceVersion: .*/, 'resourceVersion: "1"');
    const file = join(onEtcd.dir, 'stale.yaml');
    writeFileSync(file, stale);
    const replaced = await onEtcd.ctl('replace', '-f', file);
    assert.equal(replaced.code, 1);
    assert.match(replaced.err, /conflict/);
    const peers = YAML.parse((await onEtcd.ctl('get', 'bgppeer', '-o', 'yaml')).out) as {
      items: Array<{ metadata: { name: string } }>;
    };
    const victim = peers.items[0]?.metadata.name;
    assert.ok(victim, 'the seed has a BGP peer');
    const deleted = await onEtcd.ctl('delete', 'bgppeer', victim);
    assert.equal(deleted.code, 0, deleted.err);
    assert.equal((await onEtcd.ctl('get', 'bgppeer', victim)).code, 1);
    assert.equal(
      server
        .etcdctl('get', '--prefix', '--keys-only', '/calico/resources/v3/projectcalico.org/bgppeers/')
        .trim(),
      '',
    );
  });

  test('a calicoctl.cfg naming etcd (the seed example, pointed at this server) works like the environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'calico-cfg-'));
    try {
      const tls = server.tls;
      assert.ok(tls);
      const cfg = join(dir, 'calicoctl.cfg');
      writeFileSync(
        cfg,
        [
          'apiVersion: projectcalico.org/v3',
          'kind: CalicoAPIConfig',
          'metadata:',
          'spec:',
          '  datastoreType: "etcdv3"',
          `  etcdEndpoints: "${server.endpoint}"`,
          `  etcdUsername: ${CALICO.name}`,
          `  etcdPassword: ${CALICO.password}`,
          `  etcdCACertFile: ${tls.caFile}`,
          `  etcdCertFile: ${tls.certFile}`,
          `  etcdKeyFile: ${tls.keyFile}`,
          '',
        ].join('\n'),
      );
      const bare = ctlSandbox();
      try {
        const viaFile = await bare.ctl('--config', cfg, 'get', 'ippool', '-o', 'wide');
        assert.equal(viaFile.code, 0, viaFile.err);
        assert.equal(viaFile.out, (await onEtcd.ctl('get', 'ippool', '-o', 'wide')).out);
      } finally {
        bare.cleanup();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a wrong password: exit code 1 within 5 s, and the message names the endpoint and the problem', async () => {
    const wrong = etcdSandbox(server, { name: 'calico', password: 'not-it' });
    try {
      const started = Date.now();
      const r = await wrong.ctl('get', 'ippool');
      assert.ok(Date.now() - started < 5_000);
      assert.equal(r.code, 1);
      assert.match(r.err, new RegExp(`^etcd ${server.endpoint}: authentication failed.*ETCD_PASSWORD`));
    } finally {
      wrong.cleanup();
    }
  });
});

describe('calicoctl datastore migrate', () => {
  let server: EtcdServer;
  let source: CtlSandbox;
  let target: CtlSandbox;
  let exportFile: string;
  const ipamKeys = [
    [
      '/calico/ipam/v2/assignment/ipv4/block/10.1.0.0-26',
      '{"cidr":"10.1.0.0/26","affinity":"host:node-hostname"}',
    ],
    ['/calico/ipam/v2/host/node-hostname/ipv4/block/10.1.0.0-26', '{"state":"confirmed"}'],
    ['/calico/ipam/v2/handle/k8s-pod-network.abc', '{"block":{"10.1.0.0/26":1}}'],
  ] as const;

  before(async () => {
    server = await EtcdServer.start();
    source = ctlSandbox();
    target = etcdSandbox(server);
    await applySeed(source);
    // IPAM state written at the key level, as the IPAM module stores it, whatever its layout.
    const sqlite = await SqliteDatastore.open(source.env.SQLITE_PATH as string);
    try {
      for (const [key, value] of ipamKeys) await sqlite.create(key, value);
    } finally {
      await sqlite.close();
    }
    const exported = await source.ctl('datastore', 'migrate', 'export');
    assert.equal(exported.code, 0, exported.err);
    exportFile = join(source.dir, 'export.jsonl');
    writeFileSync(exportFile, exported.out);
  });
  after(async () => {
    source?.cleanup();
    target?.cleanup();
    await server?.close();
  });

  test('export from SQLite, import into etcd: every key arrives', async () => {
    const imported = await target.ctl('datastore', 'migrate', 'import', '-f', exportFile);
    assert.equal(imported.code, 0, imported.err);
    const lines = (await source.ctl('datastore', 'migrate', 'export')).out.trim().split('\n');
    assert.match(imported.out, new RegExp(`^imported ${lines.length - 1} keys from a sqlite export`));
    for (const [key, value] of ipamKeys)
      assert.equal(server.etcdctl('get', '--print-value-only', key).trim(), value);
  });

  for (const { kind } of KINDS) {
    test(`get ${kind} -o yaml is identical after the migration, but for resourceVersion`, async () => {
      const [before, after] = [
        await source.ctl('get', kind, '-o', 'yaml'),
        await target.ctl('get', kind, '-o', 'yaml'),
      ];
      assert.equal(after.code, before.code, after.err);
      assert.equal(withoutResourceVersion(after.out), withoutResourceVersion(before.out));
      if (/uid: /.test(before.out))
        assert.notEqual(after.out, before.out, 'revisions are the new store`s own');
    });
  }

  test('importing into a datastore that already holds data is refused and names what is there', async () => {
    const again = await target.ctl('datastore', 'migrate', 'import', '-f', exportFile);
    assert.equal(again.code, 1);
    assert.match(
      again.err,
      /already holds \d+ keys under \/calico\/ \(\/calico\/.*\); import only into an empty datastore/,
    );
  });

  test('and back: an export from etcd imported into a new SQLite store gives the same output', async () => {
    const fromEtcd = await target.ctl('datastore', 'migrate', 'export');
    assert.equal(fromEtcd.code, 0, fromEtcd.err);
    const back = ctlSandbox();
    try {
      const imported = await back.ctlIn(fromEtcd.out, 'datastore', 'migrate', 'import', '-f', '-');
      assert.equal(imported.code, 0, imported.err);
      for (const { kind } of KINDS) {
        const [original, roundTrip] = [
          await source.ctl('get', kind, '-o', 'yaml'),
          await back.ctl('get', kind, '-o', 'yaml'),
        ];
        assert.equal(withoutResourceVersion(roundTrip.out), withoutResourceVersion(original.out), kind);
      }
    } finally {
      back.cleanup();
    }
  });

  test('a truncated export file is refused before anything is written', async () => {
    const empty = ctlSandbox();
    try {
      const lines = (await source.ctl('datastore', 'migrate', 'export')).out.split('\n');
      const truncated = join(empty.dir, 'truncated.jsonl');
      writeFileSync(truncated, lines.slice(0, 3).join('\n') + '\n');
      const r = await empty.ctl('datastore', 'migrate', 'import', '-f', truncated);
      assert.equal(r.code, 1);
      assert.match(r.err, /truncated\.jsonl holds 2 entries but its header says \d+; the file is truncated/);
      assert.equal(
        (await empty.ctl('datastore', 'migrate', 'export')).out.split('\n').length,
        2,
        'nothing written',
      );
    } finally {
      empty.cleanup();
    }
  });
});
