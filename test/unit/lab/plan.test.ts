import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { blocksPerHost, planTopology, TOPOLOGIES, type Topology } from '../../../src/lab/plan.js';

describe('the route-scale planner', () => {
  test('blocks per host round up and never fall below one', () => {
    const cases: [number, number, number][] = [
      [30, 26, 1],
      [64, 26, 1],
      [65, 26, 2],
      [0, 26, 1],
      [300, 24, 2],
      [5, 32, 5],
    ];
    for (const [workloads, size, blocks] of cases)
      assert.equal(blocksPerHost(workloads, size), blocks, `${workloads}@/${size}`);
  });

  // 2000 hosts, 50 racks (40 per rack), 30 workloads each in one /26 block each.
  const input = { hosts: 2000, racks: 50, workloadsPerHost: 30, blockSize: 26 };
  const table: [Topology, string, number, number][] = [
    // topology, device, routes each, sessions each
    ['mesh', 'host', 30 + 1 + 1999, 1999],
    ['route-reflector', 'host', 2030, 2],
    ['route-reflector', 'route reflector', 2000, 2001],
    ['as-per-rack', 'host', 2030, 1],
    ['as-per-rack', 'ToR', 2000, 41],
    ['as-per-rack', 'core', 2000, 50],
    ['downward-default', 'host', 30 + 1 + 1, 1],
    ['downward-default', 'ToR', 40 + 1, 41],
    ['downward-default', 'core', 2000, 50],
    ['l2-planes', 'host', 2030, 4],
    ['l2-planes', 'plane reflector', 2000, 2000],
  ];
  for (const [topology, device, routes, sessions] of table) {
    test(`${topology}: a ${device} holds ${routes} routes and ${sessions} sessions`, () => {
      const d = planTopology(topology, input).devices.find((x) => x.device === device);
      assert.ok(d, `${topology} has a ${device}`);
      assert.equal(d.routes, routes);
      assert.equal(d.sessions, sessions);
    });
  }

  test('the mesh grows as n(n-1)/2 sessions; every other topology linearly', () => {
    for (const t of TOPOLOGIES) {
      const small = planTopology(t, { ...input, hosts: 100 }).totalSessions;
      const large = planTopology(t, { ...input, hosts: 1000 }).totalSessions;
      if (t === 'mesh') assert.equal(large / small, (1000 * 999) / (100 * 99));
      else assert.ok(large / small < 11, `${t}: ${small} → ${large}`);
    }
  });

  test('downward default keeps hosts and ToRs far below the full table', () => {
    const full = planTopology('as-per-rack', input).devices.find((d) => d.device === 'host')?.routes ?? 0;
    const dd = planTopology('downward-default', input).devices.find((d) => d.device === 'host')?.routes ?? 0;
    assert.ok(dd * 50 < full);
  });
});
