import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { WorkloadEndpoint } from '../../../src/api/types.js';
import { parseInvocation } from '../../../src/cni/environment.js';
import { parseCalicoConfig } from '../../../src/cni/network-config.js';
import {
  cniEnvironment,
  labCniAttachment,
  labCniNetworkConfig,
  withScenarioIdentity,
} from '../../../src/lab/cni.js';
import { loadScenarioFile } from '../../../src/lab/scenario.js';
import type { LabState } from '../../../src/lab/state.js';

const scenario = (name: string) =>
  loadScenarioFile(fileURLToPath(new URL(`../../../examples/lab/${name}.yaml`, import.meta.url)));

const stateWith = (datastore: LabState['datastore']): LabState => ({
  lab: 'demo',
  scenario: 'tenant',
  scenarioFile: '/x/tenant.yaml',
  prefix: 'cl-demo',
  createdAt: '2026-01-01T00:00:00.000Z',
  namespaces: [],
  processes: [],
  datastore,
  ready: false,
});

describe("the lab hands the plugin the lab's datastore as the workload's host reaches it", () => {
  const cases: { name: string; datastore: LabState['datastore']; host: string; fields: object }[] = [
    {
      name: 'SQLite: the lab file',
      datastore: { type: 'sqlite', path: '/var/lib/calico-lab/demo/datastore.sqlite' },
      host: 'slave1',
      fields: { datastore_type: 'sqlite', sqlite_path: '/var/lib/calico-lab/demo/datastore.sqlite' },
    },
    {
      // The plugin runs in the host's namespace: etcd on the host's fabric, not the root link's address.
      name: "etcd: the address on the host's first network",
      datastore: {
        type: 'etcdv3',
        endpoints: ['http://169.254.77.1:2379'],
        dataDir: '/var/lib/calico-lab/demo/etcd',
      },
      host: 'slave2',
      fields: { datastore_type: 'etcdv3', etcd_endpoints: 'http://192.168.40.254:2379' },
    },
  ];
  for (const c of cases)
    test(c.name, () => {
      const config = labCniNetworkConfig(c.datastore, scenario('tenant'), c.host);
      for (const [field, value] of Object.entries(c.fields)) assert.equal(config[field], value, field);
      assert.equal(config.nodename, c.host);
      assert.equal(config.type, 'calico');
    });

  test('the configuration passes the plugin’s own strict reader (no field it does not know)', () => {
    const config = labCniNetworkConfig({ type: 'sqlite', path: '/tmp/lab.sqlite' }, scenario('mesh'), 'h3');
    const parsed = parseCalicoConfig(JSON.parse(JSON.stringify(config)) as Record<string, unknown>);
    assert.equal(parsed.ipam.kind, 'calico-ipam');
    assert.equal(parsed.node.nodename, 'h3');
    assert.equal(parsed.datastore.kind, 'configured');
    if (parsed.datastore.kind !== 'configured') return;
    assert.equal(parsed.datastore.config.datastoreType, 'sqlite');
    assert.equal(parsed.datastore.config.sqlitePath, '/tmp/lab.sqlite');
  });
});

describe('a lab workload is one container to the plugin', () => {
  const attachment = labCniAttachment(
    stateWith({ type: 'sqlite', path: '/tmp/lab.sqlite' }),
    scenario('mesh'),
    { name: 'w-h2', host: 'h2', namespace: 'cl-demo-w-w-h2' },
    'cl-demo-h2',
  );
  const cases = [
    { command: 'ADD' as const, expected: 'ADD' },
    { command: 'DEL' as const, expected: 'DEL' },
  ];
  for (const c of cases)
    test(`${c.command}: the container ID is the workload name, the netns its namespace, eth0 inside`, () => {
      assert.deepEqual(cniEnvironment(c.command, attachment, '/lab/cni-bin', '/lab/run'), {
        CNI_COMMAND: c.expected,
        CNI_CONTAINERID: 'w-h2',
        CNI_NETNS: '/var/run/netns/cl-demo-w-w-h2',
        CNI_IFNAME: 'eth0',
        CNI_PATH: '/lab/cni-bin',
        CALICO_RUN_DIR: '/lab/run',
      });
    });
  test('the plugin runs in the host namespace with the host as node name', () => {
    assert.equal(attachment.hostNamespace, 'cl-demo-h2');
    assert.equal(attachment.network.nodename, 'h2');
  });
});

describe('a workload with a fixed address asks the plugin for it with IP= in CNI_ARGS', () => {
  const tenant = scenario('tenant');
  const fixed = tenant.workloads.filter((w) => w.ip);
  test('the tenant scenario fixes the seed’s 172.16.1.x for all three workloads', () =>
    assert.deepEqual(
      fixed.map((w) => w.ip),
      ['172.16.1.1', '172.16.1.2', '172.16.1.3'],
    ));
  for (const w of fixed)
    for (const command of ['ADD', 'DEL'] as const)
      test(`${command} of ${w.name}: CNI_ARGS IP=${w.ip}, which the plugin reads as that address`, () => {
        const a = labCniAttachment(
          stateWith({ type: 'sqlite', path: '/tmp/lab.sqlite' }),
          tenant,
          { name: w.name, host: w.host, namespace: `cl-demo-w-${w.name}`, ...(w.ip ? { ip: w.ip } : {}) },
          `cl-demo-${w.host}`,
        );
        const env = cniEnvironment(command, a, '/lab/cni-bin', '/lab/run');
        assert.equal(env.CNI_ARGS, `IP=${w.ip}`);
        // DEL ignores IP= (it releases by handle); ADD must get exactly the scenario's address.
        assert.deepEqual(parseInvocation(env).args.ips, command === 'ADD' ? [w.ip] : undefined);
      });
  test('a workload without a fixed address passes no CNI_ARGS', () => {
    const a = labCniAttachment(
      stateWith({ type: 'sqlite', path: '/tmp/lab.sqlite' }),
      scenario('mesh'),
      { name: 'w-h2', host: 'h2', namespace: 'cl-demo-w-w-h2' },
      'cl-demo-h2',
    );
    assert.equal(a.args, undefined);
    assert.equal('CNI_ARGS' in cniEnvironment('ADD', a, '/lab/cni-bin', '/lab/run'), false);
  });
});

describe("after ADD the endpoint carries the scenario's labels, profiles and name", () => {
  const fromPlugin: WorkloadEndpoint = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'WorkloadEndpoint',
    metadata: {
      name: 'h1-cni-w--h1-eth0',
      namespace: 'default',
      labels: { 'projectcalico.org/namespace': 'default', 'projectcalico.org/orchestrator': 'cni' },
    },
    spec: {
      orchestrator: 'cni',
      workload: 'w-h1',
      node: 'h1',
      containerID: 'w-h1',
      endpoint: 'eth0',
      interfaceName: 'cali0123456789a',
      ipNetworks: ['10.244.0.1/32'],
      profiles: ['calico-lab'],
    },
  };
  const cases = [
    {
      name: 'listed profiles replace the network profile; labels are added to the plugin’s',
      workload: { name: 'w-h1', host: 'h1', labels: { app: 'web' }, profiles: ['allow-all'] },
      labels: {
        'projectcalico.org/namespace': 'default',
        'projectcalico.org/orchestrator': 'cni',
        app: 'web',
      },
      profiles: ['allow-all'],
    },
    {
      name: 'no profiles in the scenario: the network profile the plugin gave stays',
      workload: { name: 'w-h1', host: 'h1' },
      labels: { 'projectcalico.org/namespace': 'default', 'projectcalico.org/orchestrator': 'cni' },
      profiles: ['calico-lab'],
    },
  ];
  for (const c of cases)
    test(c.name, () => {
      const wep = withScenarioIdentity(fromPlugin, c.workload);
      assert.deepEqual(wep.metadata.labels, c.labels);
      assert.deepEqual(wep.spec.profiles, c.profiles);
      assert.equal(wep.spec.endpoint, 'w-h1', 'the matrix and explain find it by its scenario name');
      assert.equal(wep.metadata.name, 'h1-cni-w--h1-eth0', 'the name the plugin chose is kept');
      assert.equal(wep.spec.containerID, 'w-h1', 'DEL still recognises its own endpoint');
    });
});
