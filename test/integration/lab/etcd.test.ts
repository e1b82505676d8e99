import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { etcdNamespace, etcdRootLinkName } from '../../../src/lab/etcd.js';
import type { LabState } from '../../../src/lab/state.js';
import { requireRootAndTools } from '../../support/netns.js';
import { CalicoLabCli } from './calico-lab-cli.js';
import { requireEtcdBinaries } from '../../support/etcd.js';

describe('calico-lab up --etcd runs the tenant lab on a throwaway etcd and takes it away again', () => {
  let calicoLab: CalicoLabCli;
  const lab = `e${process.pid.toString(36)}`;
  const alive = (pid: number) => existsSync(`/proc/${pid}`);
  let state: LabState;

  before(async () => {
    requireRootAndTools(['ip', 'iptables-restore', 'ipset', 'nc', 'ping']);
    requireEtcdBinaries();
    calicoLab = new CalicoLabCli('calico-ts-lab-etcd-');
    const up = await calicoLab.run('up', 'tenant', '--name', lab, '--etcd');
    assert.equal(up.code, 0, `${up.out}\n${up.err}`);
    state = JSON.parse(readFileSync(join(calicoLab.dir, lab, 'state.json'), 'utf8')) as LabState;
  });

  after(() => calicoLab?.close());

  test('the state file records etcd as the datastore, its process and its data directory in the lab', () => {
    assert.equal(state.datastore.type, 'etcdv3');
    if (state.datastore.type !== 'etcdv3') return;
    assert.equal(state.datastore.dataDir, join(calicoLab.dir, lab, 'etcd'));
    assert.ok(existsSync(join(state.datastore.dataDir, 'member')), 'etcd wrote its data where recorded');
    assert.match(state.datastore.endpoints[0] ?? '', /^http:\/\/169\.254\.\d+\.\d+:2379$/);
    const etcd = state.processes.filter((p) => p.kind === 'etcd');
    assert.equal(etcd.length, 1);
    assert.ok(alive(etcd[0]?.pid ?? 0), 'etcd runs');
    assert.ok(state.namespaces.includes(etcdNamespace(`cl-${lab}`)));
    assert.equal(existsSync(join(calicoLab.dir, lab, 'datastore.sqlite')), false, 'no SQLite file is made');
  });

  test('every calico-node reads its datastore from etcd on the fabric, not from a file', () => {
    for (const p of state.processes.filter((x) => x.kind === 'calico-node')) {
      const environ = readFileSync(`/proc/${p.pid}/environ`, 'utf8').split('\0');
      assert.ok(environ.includes('DATASTORE_TYPE=etcdv3'), `${p.name} uses etcd`);
      // The tenant's fabric is 192.168.40.0/24; the datastore sits at its last usable address.
      assert.ok(environ.includes('ETCD_ENDPOINTS=http://192.168.40.254:2379'), `${p.name}'s endpoint`);
    }
  });

  test('the lab data is in etcd: etcdctl through the root link lists the workload endpoints', () => {
    if (state.datastore.type !== 'etcdv3') assert.fail('not an etcd lab');
    const r = spawnSync(
      'etcdctl',
      [
        `--endpoints=${state.datastore.endpoints.join(',')}`,
        'get',
        '--prefix',
        '--keys-only',
        '/calico/resources/v3/projectcalico.org/workloadendpoints/',
      ],
      { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.split('\n').filter((l) => l.trim()).length, 3, r.stdout);
  });

  test('probe agrees with policy explain in every cell, and 3306 is closed as the seed teaches', async () => {
    const probe = await calicoLab.run('probe', lab);
    assert.equal(probe.code, 0, probe.err);
    assert.match(probe.out, /all 18 cells agree with policy explain/);
    assert.match(probe.out, /observed: tcp\/3306 from slave1-frontend1 to slave2-database is CLOSED/);
    const explain = await calicoLab.run(
      'explain',
      'slave1-frontend1',
      'slave2-database',
      '--port',
      '3306',
      '--lab',
      lab,
    );
    assert.equal(explain.code, 0, explain.err);
    // explain reads the same etcd: the profile's first rule decides, as the probe observed.
    assert.match(explain.out, /profile-database/);
    assert.match(explain.out, /^verdict: deny$/m);
  });

  test('status names the etcd datastore and its running process', async () => {
    const status = await calicoLab.run('status', lab);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, /datastore +etcd http:\/\/169\.254\./);
    assert.match(status.out, /^ {2}etcd +etcd +pid \d+ +running$/m);
  });

  test('down leaves no namespace, process, root link or etcd data behind', async () => {
    if (state.datastore.type !== 'etcdv3') assert.fail('not an etcd lab');
    const dataDir = state.datastore.dataDir;
    const down = await calicoLab.run('down', lab);
    assert.equal(down.code, 0, down.err);
    assert.deepEqual(calicoLab.namespacesOf(lab), []);
    for (const p of state.processes)
      assert.equal(alive(p.pid), false, `${p.kind} ${p.name} (${p.pid}) is gone`);
    const link = spawnSync('ip', ['link', 'show', etcdRootLinkName(lab)], { encoding: 'utf8' });
    assert.notEqual(link.status, 0, 'the root link to the datastore namespace is gone');
    assert.equal(existsSync(dataDir), false, 'etcd data removed');
    assert.equal(existsSync(join(calicoLab.dir, lab)), false, 'lab directory removed');
  });
});
