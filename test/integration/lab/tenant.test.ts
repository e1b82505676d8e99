import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ResourceClient } from '../../../src/datastore/resources.js';
import type { Datastore } from '../../../src/datastore/types.js';
import { IpamClient } from '../../../src/ipam/index.js';
import { LAB_CNI_NETWORK, readLabCniAttachments } from '../../../src/lab/cni.js';
import { openLabDatastore } from '../../../src/lab/datastore.js';
import { readState, type LabState } from '../../../src/lab/state.js';
import { requireRootAndTools } from '../../support/netns.js';
import { CalicoLabCli } from './calico-lab-cli.js';

describe('calico-lab runs the seed tenant scenarios and leaves nothing behind', () => {
  let calicoLab: CalicoLabCli;
  const lab = `t${process.pid.toString(36)}`;
  /** The seed's fixed addresses, which the lab asks the CNI plugin for with IP= in CNI_ARGS. */
  const FIXED = [
    { workload: 'slave1-frontend1', host: 'slave1', ip: '172.16.1.1' },
    { workload: 'slave1-frontend2', host: 'slave1', ip: '172.16.1.2' },
    { workload: 'slave2-database', host: 'slave2', ip: '172.16.1.3' },
  ];
  let store: Datastore | undefined;

  before(() => {
    requireRootAndTools(['ip', 'iptables-restore', 'ipset', 'nc', 'ping']);
    calicoLab = new CalicoLabCli('calico-ts-lab-');
  });

  after(async () => {
    await store?.close().catch(() => undefined);
    await calicoLab?.close();
  });

  test('tenant: the matrix agrees with policy explain and 3306 is closed, as the seed teaches', async () => {
    const up = await calicoLab.run('up', 'tenant', '--name', lab);
    assert.equal(up.code, 0, up.err);
    const report = await calicoLab.run('report', lab);
    assert.equal(report.code, 0, report.err);
    assert.match(report.out, /all 18 cells agree with policy explain/);
    assert.match(report.out, /observed: tcp\/3306 from slave1-frontend1 to slave2-database is CLOSED/);
    const html = readFileSync(`${join(calicoLab.dir, lab)}-report.html`, 'utf8');
    assert.match(html, /<svg/);
    assert.match(html, /class="matrix"/);
    const routes = await calicoLab.run('routes', '--lab', lab);
    assert.match(routes.out, /^slave1 +\d+ routes$/m);
  });

  test('the fixed-address workloads are CNI containers: recorded for down, IP= in CNI_ARGS, endpoints with their container ID', async () => {
    assert.deepEqual(
      readLabCniAttachments(lab, calicoLab.env()).map((a) => ({
        workload: a.workload,
        host: a.host,
        args: a.args,
      })),
      FIXED.map((f) => ({ workload: f.workload, host: f.host, args: `IP=${f.ip}` })),
    );
    store = await openLabDatastore(readState(lab, calicoLab.env()) as LabState);
    const weps = await new ResourceClient(store).list('WorkloadEndpoint');
    const ipam = new IpamClient(store);
    for (const f of FIXED) {
      const wep = weps.find((w) => w.spec.endpoint === f.workload);
      assert.ok(wep, `an endpoint found by the scenario name ${f.workload}`);
      assert.deepEqual(
        [wep.metadata.name, wep.spec.orchestrator, wep.spec.containerID, wep.spec.node, wep.spec.ipNetworks],
        [`${f.host}-cni-${f.workload.replace(/-/g, '--')}-eth0`, 'cni', f.workload, f.host, [`${f.ip}/32`]],
      );
      assert.deepEqual(await ipam.ipsByHandle(`${LAB_CNI_NETWORK}.${f.workload}`), [f.ip]);
    }
  });

  test('down removes every namespace and process of the lab', async () => {
    const state = JSON.parse(readFileSync(join(calicoLab.dir, lab, 'state.json'), 'utf8')) as {
      processes: { pid: number }[];
    };
    const down = await calicoLab.run('down', lab);
    assert.equal(down.code, 0, down.err);
    assert.deepEqual(calicoLab.namespacesOf(lab), []);
    for (const p of state.processes)
      assert.equal(existsSync(`/proc/${p.pid}`), false, `process ${p.pid} is gone`);
    assert.equal(existsSync(join(calicoLab.dir, lab)), false);
    // The files are gone; the connection opened while the lab was up still reads them, and so sees
    // that the plugin's DELs gave the fixed addresses back and removed the endpoints.
    assert.ok(store, 'the datastore was opened by the test before');
    const ipam = new IpamClient(store);
    for (const f of FIXED) assert.equal((await ipam.lookupIP(f.ip)).state, 'free', `${f.ip} released`);
    assert.deepEqual(await new ResourceClient(store).list('WorkloadEndpoint'), []);
  });

  test('tenant-fixed: with the profile in the right order 3306 opens and 80 stays closed', async () => {
    assert.equal((await calicoLab.run('up', 'tenant-fixed', '--name', lab)).code, 0);
    const probe = await calicoLab.run('probe', lab);
    assert.match(probe.out, /all 18 cells agree with policy explain/);
    assert.match(probe.out, /observed: tcp\/3306 from slave1-frontend1 to slave2-database is OPEN/);
    assert.match(probe.out, /^slave1-frontend1 +· +✓ ✓ ✓ +✗ ✓ ✗$/m);
    assert.equal((await calicoLab.run('down', lab)).code, 0);
    assert.deepEqual(calicoLab.namespacesOf(lab), []);
  });

  test('a second up of the same lab is refused; an unknown scenario names the built-in ones', async () => {
    const bad = await calicoLab.run('up', 'no-such-scenario');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /no scenario "no-such-scenario" \(built-in: .*tenant/);
  });
});
