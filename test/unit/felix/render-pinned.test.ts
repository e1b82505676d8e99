/**
 * The rendered dataplane is pinned, byte for byte, for inputs that exercise every part of the
 * renderer: the bench's synthetic cluster at a mid size (selector sets, net sets, the dispatch
 * tree, shared endpoint plans, policies moving under a label change) and the seed's examples on
 * each of its hosts (profiles, host endpoints, NAT-outgoing pools). The digests were taken from the
 * renderer before the pure part was optimised for bench/felix (issue 7): an optimisation must not
 * change one byte. A deliberate change of the rendered rules updates them; see the failure message.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { API_VERSION, loadResources, type Resource, type WorkloadEndpoint } from '../../../src/api/index.js';
import { FelixCalculator } from '../../../src/felix/calc/graph.js';
import { renderDataplane } from '../../../src/felix/rules/render.js';
import { relabelled, syntheticCluster } from '../../../bench/felix/cluster.js';
import { dataplaneText } from '../../../bench/felix/dataplane-text.js';

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

const HOST = 'bench-host';
const SIZE = { local: 60, remote: 300, policies: 40 };

/** Each step: the label change applied before rendering (none for the first render). */
const CLUSTER_STEPS: {
  name: string;
  change?: [endpoint: number, labels: Record<string, string>];
  digest: string;
}[] = [
  { name: 'the whole cluster, loaded', digest: '991e05b41e3f38891dc8783425082782' },
  {
    name: "a remote endpoint's role changes (ipset members move)",
    change: [SIZE.local + 17, { role: 'r99' }],
    digest: '777c619646a4af41e160296f46702c72',
  },
  {
    name: "a local endpoint's role changes",
    change: [5, { role: 'r7' }],
    digest: '633a058382a4dc2449dd6b6f8ba5a1fd',
  },
  {
    name: 'a local endpoint moves to other policies',
    change: [42, { app: 'app-1' }],
    digest: '8deaf8b6085117bd080c35190ff1d404',
  },
  { name: 'and back again', change: [42, { app: 'app-42' }], digest: '633a058382a4dc2449dd6b6f8ba5a1fd' },
];

const SEED_FILES = [
  'endpoints.yaml',
  'workloadendpoint.yaml',
  'hostendpoint.yaml',
  'policy.yaml',
  'policy-allow-tcp-6379.yaml',
  'profile.yaml',
  'profile1.yaml',
  'ippool.yaml',
];
const SEED_HOSTS: { host: string; digest: string }[] = [
  { host: 'slave1', digest: '8df15b39114c0d6dac25b429f1922f20' },
  { host: 'slave2', digest: 'a31896313b76558cdab914df70c0fb2b' },
  { host: 'rack1-host1', digest: '617a2e7e1b1b0f3f97d28f3c585fcbbc' },
  { host: 'myhost', digest: '8ed6e02347a91f0ed7a742f6c5d25e61' },
];

const UPDATE_HINT =
  'the rendered dataplane changed; if that was intended, diff `node --import tsx bench/felix/pure.ts --dump` before and after, then put the new digest here';

describe('the rendered dataplane stays byte for byte the same', () => {
  test('for the synthetic cluster, after loading and after each label change', () => {
    const resources = syntheticCluster(SIZE, HOST);
    const calc = new FelixCalculator(HOST);
    for (const resource of resources) calc.apply({ type: 'set', resource });
    const got: string[] = [];
    for (const step of CLUSTER_STEPS) {
      if (step.change) {
        const [i, labels] = step.change;
        const resource = relabelled(resources[i] as WorkloadEndpoint, labels);
        resources[i] = resource;
        calc.apply({ type: 'set', resource });
      }
      got.push(digest(dataplaneText(renderDataplane(calc.state()))));
    }
    assert.deepEqual(
      got,
      CLUSTER_STEPS.map((s) => s.digest),
      UPDATE_HINT,
    );
  });

  for (const { host, digest: expected } of SEED_HOSTS)
    test(`for the seed's examples on ${host}`, () => {
      const resources: Resource[] = SEED_FILES.flatMap((f) =>
        loadResources(
          readFileSync(new URL(`../../../examples/seed/${f}`, import.meta.url), 'utf8'),
        ).resources.map((r) => r.resource),
      );
      const calc = new FelixCalculator(host);
      for (const resource of resources) calc.apply({ type: 'set', resource });
      const got = digest(dataplaneText(renderDataplane(calc.state())));
      assert.equal(got, expected, UPDATE_HINT);
    });
});

describe('rendering only the IP versions that are programmed', () => {
  const resources = syntheticCluster(SIZE, HOST);
  const v6Pool: Resource = {
    apiVersion: API_VERSION,
    kind: 'IPPool',
    metadata: { name: 'v6' },
    spec: { cidr: 'fd00:10::/64', natOutgoing: true },
  };
  const v4Pool: Resource = {
    apiVersion: API_VERSION,
    kind: 'IPPool',
    metadata: { name: 'v4' },
    spec: { cidr: '10.0.0.0/8', natOutgoing: true },
  };
  const calc = new FelixCalculator(HOST);
  for (const resource of [...resources, v4Pool, v6Pool]) calc.apply({ type: 'set', resource });
  const both = renderDataplane(calc.state());

  for (const [version, other] of [
    [4, 6],
    [6, 4],
  ] as const)
    test(`IPv${version} alone: the same IPv${version} chains and sets as a full render, nothing of IPv${other}`, () => {
      const one = renderDataplane(calc.state(), { ipVersions: [version] });
      assert.deepEqual(one.iptables[version], both.iptables[version]);
      assert.deepEqual(one.iptables[other], {
        chains: { raw: [], mangle: [], nat: [], filter: [] },
        hooks: [],
      });
      assert.deepEqual(
        one.ipsets,
        both.ipsets.filter((s) => s.family === version),
      );
      assert.ok(one.ipsets.length > 0);
      assert.deepEqual(one.routes, both.routes);
      assert.deepEqual(one.interfaces, both.interfaces);
    });

  test('both versions by default, and when both are asked for', () => {
    assert.deepEqual(renderDataplane(calc.state(), { ipVersions: [4, 6] }), both);
    assert.ok(both.iptables[6].chains.filter.length > 0);
    assert.ok(both.ipsets.some((s) => s.family === 6));
  });
});
