/**
 * The parsers that turn each router's own output into `LearnedRoute`s, on output captured from
 * BIRD 2.0.12, FRR 8.4.4 and GoBGP 3.10 in these tests: if a parser drifts, the interop tests
 * would wait for routes they can no longer see, so the shapes are pinned here, without root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseBirdRoutes,
  parseFrrRoutes,
  parseGobgpRoutes,
  splitJsonDocuments,
  familyOf,
  type Family,
  type LearnedRoute,
} from '../support/bgp-peers.js';

const BIRD_SHOW_ROUTE_ALL = `Table master4:
10.65.0.0/26         unicast [n_10_0_0_10 23:20:58.161 from 10.0.0.10] * (100) [i]
\tvia 10.0.0.1 on eth1
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 
\tBGP.next_hop: 10.0.0.1
\tBGP.local_pref: 100
\tBGP.originator_id: 10.0.0.1
\tBGP.cluster_list: 244.0.0.1
                     unicast [n_10_0_0_12 23:20:59.001] (100) [AS65001i]
\tvia 10.0.0.12 on eth1
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65001 65002
\tBGP.next_hop: 10.0.0.12
\tBGP.local_pref: 100
192.168.5.0/24       blackhole [static_ipv4 23:20:55.806] * (200)
\tType: static univ
`;

const FRR_PREFIX_JSON = `{
  "prefix":"10.65.0.0/26",
  "paths":[
    {
      "aspath":{ "string":"64512", "segments":[], "length":1 },
      "bestpath":{ "overall":true, "selectionReason":"First path received" },
      "nexthops":[ { "ip":"10.0.0.1", "afi":"ipv4", "used":true } ],
      "peer":{ "peerId":"10.0.0.1", "routerId":"10.0.0.1" }
    }
  ]
}
{
  "prefix":"192.168.31.0/24",
  "paths":[
    {
      "aspath":{ "string":"Local", "segments":[], "length":0 },
      "local":true,
      "bestpath":{ "overall":true },
      "nexthops":[ { "ip":"0.0.0.0", "afi":"ipv4", "used":true } ],
      "peer":{ "peerId":"0.0.0.0", "routerId":"10.0.0.10" }
    }
  ]
}
{
  "prefix":"fd65::/122",
  "paths":[
    {
      "aspath":{ "string":"", "segments":[], "length":0 },
      "originatorId":"10.0.0.11",
      "cluster":{ "list":["244.0.0.1"] },
      "nexthops":[ { "ip":"fd00::1", "scope":"global" }, { "ip":"fe80::1", "scope":"link-local" } ],
      "peer":{ "peerId":"fd00::1", "routerId":"10.0.0.1" }
    }
  ]
}`;

const GOBGP_RIB_V4 = `{"10.65.0.0/26":[{"nlri":{"prefix":"10.65.0.0/26"},"age":1795562458,"best":true,"attrs":[{"type":1,"value":0},{"type":2,"as_paths":[]},{"type":3,"nexthop":"10.0.0.1"},{"type":5,"value":100},{"type":9,"value":"10.0.0.1"},{"type":10,"value":["244.0.0.1"]}],"stale":false,"source-id":"10.0.0.10","neighbor-ip":"10.0.0.10"}],"192.168.9.0/24":[{"nlri":{"prefix":"192.168.9.0/24"},"age":1795562456,"best":true,"attrs":[{"type":1,"value":0},{"type":3,"nexthop":"0.0.0.0"}],"stale":false,"source-id":"<nil>","neighbor-ip":"<nil>"}]}`;
const GOBGP_RIB_V6 = `{"fd65::/122":[{"nlri":{"prefix":"fd65::/122"},"age":1795562458,"best":true,"attrs":[{"type":1,"value":0},{"type":2,"as_paths":[{"segment_type":2,"num":1,"asns":[64512]}]},{"type":5,"value":100},{"type":14,"nexthop":"fd00::1","afi":2,"safi":1,"value":[{"prefix":"fd65::/122"}]}],"stale":false,"source-id":"10.0.0.1","neighbor-ip":"fd00::1"}]}`;

const CASES: { name: string; parse: () => LearnedRoute[]; expected: LearnedRoute[] }[] = [
  {
    name: 'BIRD: BGP paths (a reflected best path and a second path), static routes left out',
    parse: () => parseBirdRoutes(BIRD_SHOW_ROUTE_ALL, 'ipv4'),
    expected: [
      {
        prefix: '10.65.0.0/26',
        family: 'ipv4',
        from: 'n_10_0_0_10',
        nextHop: '10.0.0.1',
        asPath: [],
        best: true,
        originatorId: '10.0.0.1',
        clusterList: ['244.0.0.1'],
      },
      {
        prefix: '10.65.0.0/26',
        family: 'ipv4',
        from: 'n_10_0_0_12',
        nextHop: '10.0.0.12',
        asPath: [65001, 65002],
        best: false,
      },
    ],
  },
  {
    name: 'FRR: learned paths with AS path and reflection attributes, the global IPv6 next hop, local paths left out',
    parse: () => {
      const routes: Record<Family, Record<string, { paths?: never[] }>> = { ipv4: {}, ipv6: {} };
      for (const doc of splitJsonDocuments(FRR_PREFIX_JSON)) {
        const d = JSON.parse(doc) as { prefix: string; paths: never[] };
        routes[familyOf(d.prefix)][d.prefix] = d;
      }
      return [
        ...parseFrrRoutes({ routes: routes.ipv4 }, 'ipv4'),
        ...parseFrrRoutes({ routes: routes.ipv6 }, 'ipv6'),
      ];
    },
    expected: [
      {
        prefix: '10.65.0.0/26',
        family: 'ipv4',
        from: '10.0.0.1',
        nextHop: '10.0.0.1',
        asPath: [64512],
        best: true,
      },
      {
        prefix: 'fd65::/122',
        family: 'ipv6',
        from: 'fd00::1',
        nextHop: 'fd00::1',
        asPath: [],
        best: false,
        originatorId: '10.0.0.11',
        clusterList: ['244.0.0.1'],
      },
    ],
  },
  {
    name: 'GoBGP IPv4: NEXT_HOP, ORIGINATOR_ID and CLUSTER_LIST; locally injected paths left out',
    parse: () => parseGobgpRoutes(JSON.parse(GOBGP_RIB_V4) as never, 'ipv4'),
    expected: [
      {
        prefix: '10.65.0.0/26',
        family: 'ipv4',
        from: '10.0.0.10',
        nextHop: '10.0.0.1',
        asPath: [],
        best: true,
        originatorId: '10.0.0.1',
        clusterList: ['244.0.0.1'],
      },
    ],
  },
  {
    name: 'GoBGP IPv6: next hop from MP_REACH_NLRI, AS path from the segments',
    parse: () => parseGobgpRoutes(JSON.parse(GOBGP_RIB_V6) as never, 'ipv6'),
    expected: [
      {
        prefix: 'fd65::/122',
        family: 'ipv6',
        from: 'fd00::1',
        nextHop: 'fd00::1',
        asPath: [64512],
        best: true,
      },
    ],
  },
];

for (const c of CASES) {
  test(c.name, () => {
    assert.deepEqual(c.parse(), c.expected);
  });
}

test('vtysh output with several JSON documents splits into each, braces inside strings ignored', () => {
  const docs = splitJsonDocuments('{"a":"}{"}\n{"b":{"c":1}}\n');
  assert.deepEqual(
    docs.map((d) => JSON.parse(d) as unknown),
    [{ a: '}{' }, { b: { c: 1 } }],
  );
});
