import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResourceClient } from '../../../src/datastore/resources.js';
import { openLabDatastore } from '../../../src/lab/datastore.js';
import { loadScenarioFile } from '../../../src/lab/scenario.js';
import { readState, type LabState } from '../../../src/lab/state.js';
import { layoutScenario } from '../../../src/lab/topology.js';
import { pingAcrossRestart } from '../../../bench/convergence/restart.js';
import { requireRootAndTools } from '../../support/netns.js';
import { CalicoLabCli } from './calico-lab-cli.js';

/**
 * The acceptance: "a node restart (calico-node killed and started again) loses no ping on an
 * established flow (graceful restart)". Zero is asserted, not a bound: during the restart no packet
 * of the flow depends on a running daemon (the kernel keeps the routes and rules; the peers keep the
 * stopped speaker's routes as stale), so machine load can slow the restart but cannot drop a ping.
 */
describe('calico-node restart in the mesh lab', () => {
  let calicoLab: CalicoLabCli;
  const lab = `r${process.pid.toString(36)}`;

  before(async () => {
    requireRootAndTools(['ip', 'iptables-restore', 'ipset', 'ping']);
    calicoLab = new CalicoLabCli('calico-ts-lab-restart-');
    const up = await calicoLab.run('up', 'mesh', '--name', lab);
    assert.equal(up.code, 0, `${up.out}\n${up.err}`);
  });

  after(() => calicoLab?.close());

  test('an established ping from w-h1 to w-h2 loses no reply while the calico-node of h2 stops and starts again', async () => {
    const state = readState(lab, calicoLab.env()) as LabState;
    const scenario = loadScenarioFile(state.scenarioFile);
    const layout = layoutScenario(scenario, lab);
    const before = state.processes.find((p) => p.kind === 'calico-node' && p.name === 'h2')?.pid;
    const toIp = await addressOf(lab, 'w-h2');
    const from = layout.workloads.find((w) => w.name === 'w-h1')?.namespace as string;

    const r = await pingAcrossRestart(state, scenario, 'h2', from, toIp, calicoLab.env());

    assert.ok(r.received >= 40, `the flow ran across the restart (${r.received} replies)`);
    assert.deepEqual(r.lost, [], `lost icmp_seq ${r.lost.join(', ')} of ${r.sent}`);
    const after = readState(lab, calicoLab.env())?.processes.find(
      (p) => p.kind === 'calico-node' && p.name === 'h2',
    )?.pid;
    assert.notEqual(after, before, 'a new calico-node runs for h2, recorded in the state file');
    const log = readFileSync(join(calicoLab.dir, lab, 'logs', 'h2.log'), 'utf8');
    assert.match(log, /keeping BGP routes in the kernel \(graceful restart\)/, 'the stop kept the routes');
    assert.match(log, /restarting gracefully \(forwarding preserved\)/, 'the start saw them and said so');
    assert.notEqual(r.bgpRestartMs, undefined, 'every peer sent End-of-RIB to the restarted node');
  });

  /** The workload's address as the lab's matrix finds it (its endpoint by scenario name). */
  async function addressOf(labName: string, workload: string): Promise<string> {
    const store = await openLabDatastore(readState(labName, calicoLab.env()) as LabState);
    try {
      const weps = await new ResourceClient(store).list('WorkloadEndpoint');
      const ip = weps.find((w) => w.spec.endpoint === workload)?.spec.ipNetworks?.[0]?.split('/')[0];
      assert.ok(ip, `${workload} has an endpoint with an address`);
      return ip;
    } finally {
      await store.close();
    }
  }
});
