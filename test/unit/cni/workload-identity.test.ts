import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { containerMacFor, workloadIdentity } from '../../../src/cni/workload-identity.js';
import type { CniInvocation } from '../../../src/cni/environment.js';

const inv = (over: Partial<CniInvocation>): CniInvocation => ({
  command: 'ADD',
  containerId: 'abc123',
  netns: '/run/netns/x',
  ifname: 'eth0',
  cniPath: [],
  args: {},
  ...over,
});

describe('the names a container gets', () => {
  const cases: [string, CniInvocation, Record<string, unknown>][] = [
    [
      'a plain CNI container is workload <container ID>, orchestrator cni, in namespace default',
      inv({}),
      {
        handle: 'net1.abc123',
        orchestrator: 'cni',
        workload: 'abc123',
        namespace: 'default',
        endpointName: 'node--a-cni-abc123-eth0',
        // sha1("abc123") = 6367c48dd193...
        hostIface: 'cali6367c48dd19',
        ipamAttributes: { namespace: 'default', containerID: 'abc123' },
      },
    ],
    [
      'a Kubernetes pod is workload <pod>, orchestrator k8s, host side from sha1("<namespace>.<pod>") as Calico does',
      inv({ args: { podName: 'nginx', podNamespace: 'default' } }),
      {
        handle: 'net1.abc123',
        orchestrator: 'k8s',
        workload: 'nginx',
        pod: 'nginx',
        namespace: 'default',
        endpointName: 'node--a-k8s-nginx-eth0',
        // sha1("default.nginx") = c440f455693b...
        hostIface: 'calic440f455693',
        ipamAttributes: { namespace: 'default', pod: 'nginx', containerID: 'abc123' },
      },
    ],
  ];
  for (const [name, invocation, expected] of cases)
    test(name, () => {
      const id = workloadIdentity(invocation, 'net1', 'node-a');
      const picked = Object.fromEntries(
        Object.keys(expected).map((k) => [k, (id as unknown as Record<string, unknown>)[k]]),
      );
      assert.deepEqual(picked, expected);
    });

  test('a second interface of the same container gets its own host side and MAC', () => {
    const a = workloadIdentity(inv({}), 'net1', 'n');
    const b = workloadIdentity(inv({ ifname: 'net1' }), 'net1', 'n');
    assert.notEqual(a.hostIface, b.hostIface);
    assert.notEqual(a.containerMac, b.containerMac);
    assert.equal(b.endpoint, 'net1');
  });

  test('host interface names fit the 15-character limit', () => {
    assert.equal(workloadIdentity(inv({ containerId: 'x'.repeat(64) }), 'n', 'n').hostIface.length, 15);
  });

  test('the container MAC is stable, unicast and locally administered', () => {
    for (const key of ['a', 'b', 'default.nginx', 'abc123']) {
      const mac = containerMacFor(key);
      assert.equal(mac, containerMacFor(key));
      assert.match(mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      const first = parseInt(mac.slice(0, 2), 16);
      assert.equal(first & 0x01, 0, 'unicast');
      assert.equal(first & 0x02, 0x02, 'locally administered');
    }
  });
});
