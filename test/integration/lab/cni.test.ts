import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostInterfaceName } from '../../../src/cni/workload-identity.js';
import { ResourceClient } from '../../../src/datastore/resources.js';
import type { Datastore } from '../../../src/datastore/types.js';
import { IpamClient } from '../../../src/ipam/index.js';
import {
  cniAdd,
  LAB_CNI_NETWORK,
  labCniAttachment,
  labCniPath,
  readLabCniAttachments,
  withScenarioIdentity,
} from '../../../src/lab/cni.js';
import { openLabDatastore } from '../../../src/lab/datastore.js';
import { loadScenarioFile } from '../../../src/lab/scenario.js';
import { readState, type LabState } from '../../../src/lab/state.js';
import { firstReply } from '../../../bench/convergence/flows.js';
import { requireRootAndTools } from '../../support/netns.js';
import { CalicoLabCli } from './calico-lab-cli.js';

/**
 * Lab workloads are containers to our `calico` CNI plugin (those with a fixed address too, through
 * `IP=`: see tenant.test.ts); here the addresses come from IPAM. `up` execs the plugin as
 * a runtime does, the endpoint it writes gets the scenario's labels and profiles, and `down` DELs
 * every one before the namespaces go. Two hosts in a BGP mesh; two workloads with the allow-all
 * profile and two with none, which keep the profile the plugin gives its network (ingress only from
 * the same network), so the matrix shows the scenario's profiles and the plugin's both at work.
 */
const ALLOW_ALL = fileURLToPath(new URL('../../../examples/lab/common/allow-all.yaml', import.meta.url));
const SCENARIO = `
name: cni-pair
description: two hosts, workloads attached through the CNI plugin
networks: [{ name: fabric, cidr: 10.30.0.0/24 }]
hosts:
  - { name: h1, networks: [fabric] }
  - { name: h2, networks: [fabric] }
pools: [{ cidr: 10.250.0.0/16, blockSize: 26 }]
workloads:
  - { name: a1, host: h1, labels: { role: web }, profiles: [allow-all] }
  - { name: b2, host: h2, profiles: [allow-all] }
  - { name: n1, host: h1 }
  - { name: n2, host: h2 }
resources: [${ALLOW_ALL}]
probe: { icmp: true, tcp: [] }
`;

describe('calico-lab attaches workloads through the calico CNI plugin', () => {
  let calicoLab: CalicoLabCli;
  const lab = `k${process.pid.toString(36)}`;
  let state: LabState;
  let store: Datastore;
  let client: ResourceClient;

  before(async () => {
    requireRootAndTools(['ip', 'iptables-restore', 'ipset', 'ping']);
    calicoLab = new CalicoLabCli('calico-ts-lab-cni-');
    const file = join(calicoLab.dir, 'cni-pair.yaml');
    writeFileSync(file, SCENARIO);
    const up = await calicoLab.run('up', file, '--name', lab);
    assert.equal(up.code, 0, `${up.out}\n${up.err}`);
    state = readState(lab, calicoLab.env()) as LabState;
    store = await openLabDatastore(state);
    client = new ResourceClient(store);
  });

  after(async () => {
    await store?.close().catch(() => undefined);
    await calicoLab?.close();
  });

  const expected = [
    { name: 'a1', host: 'h1', labels: { role: 'web' }, profiles: ['allow-all'] },
    { name: 'b2', host: 'h2', labels: {}, profiles: ['allow-all'] },
    { name: 'n1', host: 'h1', labels: {}, profiles: [LAB_CNI_NETWORK] },
    { name: 'n2', host: 'h2', labels: {}, profiles: [LAB_CNI_NETWORK] },
  ];
  for (const w of expected)
    test(`${w.name}: the plugin's endpoint on ${w.host}, its address held in IPAM, profiles ${w.profiles.join(',')}`, async () => {
      const weps = await client.list('WorkloadEndpoint');
      const wep = weps.find((x) => x.spec.endpoint === w.name);
      assert.ok(wep, `an endpoint found by the scenario name ${w.name}`);
      assert.equal(wep.metadata.name, `${w.host}-cni-${w.name.replace(/-/g, '--')}-eth0`);
      assert.equal(wep.spec.orchestrator, 'cni');
      assert.equal(wep.spec.containerID, w.name);
      assert.equal(wep.spec.node, w.host);
      assert.deepEqual(wep.spec.profiles, w.profiles);
      assert.deepEqual(wep.metadata.labels, {
        'projectcalico.org/namespace': 'default',
        'projectcalico.org/orchestrator': 'cni',
        ...w.labels,
      });
      const iface = hostInterfaceName(w.name);
      assert.equal(wep.spec.interfaceName, iface);
      const link = spawnSync('ip', ['-n', `cl-${lab}-${w.host}`, 'link', 'show', iface], {
        encoding: 'utf8',
      });
      assert.equal(link.status, 0, `the plugin made ${iface} in ${w.host}'s namespace: ${link.stderr}`);
      const held = await new IpamClient(store).ipsByHandle(`${LAB_CNI_NETWORK}.${w.name}`);
      assert.deepEqual(
        held.map((ip) => `${ip}/32`),
        wep.spec.ipNetworks,
      );
    });

  test('the matrix agrees with policy explain: the network profile admits only its own network', async () => {
    const probe = await calicoLab.run('probe', lab);
    assert.equal(probe.code, 0, probe.err);
    assert.match(probe.out, /all 12 cells agree with policy explain/, probe.out);
    const header =
      probe.out
        .split('\n')
        .find((l) => /^\s+a1\s/.test(l))
        ?.trim()
        .split(/\s+/) ?? [];
    const cell = (from: string, to: string) =>
      probe.out
        .split('\n')
        .find((l) => l.startsWith(`${from} `))
        ?.trim()
        .split(/\s+/)[header.indexOf(to) + 1];
    const cases = [
      { from: 'n2', to: 'n1', delivered: true },
      { from: 'a1', to: 'n2', delivered: false },
      { from: 'n1', to: 'b2', delivered: true },
      { from: 'a1', to: 'b2', delivered: true },
    ];
    for (const c of cases)
      assert.equal(cell(c.from, c.to), c.delivered ? '✓' : '✗', `${c.from} → ${c.to}\n${probe.out}`);
  });

  test('a container added later through CNI ADD answers pings from the other host within 30 s', async () => {
    // Without the shim's Node fallback, only the host's calico-node (its CNI server in the lab's run
    // directory) can serve this ADD and the DELs at `down`.
    const cniPath = labCniPath(lab, calicoLab.env());
    rmSync(join(cniPath, 'calico-cni-direct'), { recursive: true });
    const namespace = `cl-${lab}-w-late`;
    execFileSync('ip', ['netns', 'add', namespace]);
    const scenario = loadScenarioFile(state.scenarioFile);
    const a = labCniAttachment(state, scenario, { name: 'late', host: 'h1', namespace }, `cl-${lab}-h1`);
    const added = await cniAdd(lab, a, cniPath, calicoLab.env());
    const wep = await client.get('WorkloadEndpoint', added.endpointName, added.endpointNamespace);
    assert.ok(wep);
    await client.update(withScenarioIdentity(wep, { name: 'late', host: 'h1', profiles: ['allow-all'] }));
    const ip = added.addresses[0]?.split('/')[0] as string;
    const reply = await firstReply(`cl-${lab}-w-b2`, ip, 30_000);
    assert.notEqual(reply, undefined, `b2 on h2 reaches ${ip}`);
    assert.ok(
      readLabCniAttachments(lab, calicoLab.env()).some((x) => x.containerId === 'late'),
      'recorded for down',
    );
  });

  test('down DELs every workload through the plugin: no address stays held, no endpoint stays', async () => {
    const containers = readLabCniAttachments(lab, calicoLab.env()).map((a) => a.containerId);
    assert.deepEqual(containers.sort(), ['a1', 'b2', 'late', 'n1', 'n2']);
    const down = await calicoLab.run('down', lab);
    assert.equal(down.code, 0, down.err);
    // The lab's SQLite files are removed by now; this connection, opened before, still reads them
    // (an open file outlives its name), so it sees what the plugin's DELs left behind.
    const ipam = new IpamClient(store);
    for (const c of containers)
      assert.deepEqual(await ipam.ipsByHandle(`${LAB_CNI_NETWORK}.${c}`), [], `${c}'s address released`);
    assert.deepEqual(await client.list('WorkloadEndpoint'), []);
  });
});
