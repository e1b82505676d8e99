import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, type IPPool } from '../../../src/api/types.js';
import {
  createdPoolLine,
  DefaultPoolError,
  defaultPoolSettingsFromEnv,
  ipipPoolWarnings,
  planDefaultPools,
  randomUniqueLocalPrefix,
} from '../../../src/node/startup/index.js';

/** The random bytes behind the seed's fd80:24e2:f998:72d6::/64. */
const SEED_BYTES = Uint8Array.from([0x80, 0x24, 0xe2, 0xf9, 0x98, 0x72, 0xd6]);
const seedRandom = (n: number) => SEED_BYTES.slice(0, n);

const pool = (name: string, cidr: string, extra: Partial<IPPool['spec']> = {}): IPPool => ({
  apiVersion: API_VERSION,
  kind: 'IPPool',
  metadata: { name },
  spec: { cidr, ...extra },
});

const summary = (pools: IPPool[]) =>
  pools.map(
    (p) =>
      `${p.metadata.name} ${p.spec.cidr} nat=${p.spec.natOutgoing} ipip=${p.spec.ipipMode} vxlan=${p.spec.vxlanMode}`,
  );

describe('default pools are created per family, only when that family has none', () => {
  const cases: {
    name: string;
    existing: IPPool[];
    env: NodeJS.ProcessEnv;
    noDefault?: boolean;
    expect: string[];
  }[] = [
    {
      name: "a fresh cluster gets the seed's two pools",
      existing: [],
      env: {},
      expect: [
        'default-ipv4-ippool 192.168.0.0/16 nat=true ipip=Never vxlan=Never',
        'default-ipv6-ippool fd80:24e2:f998:72d6::/64 nat=true ipip=Never vxlan=Never',
      ],
    },
    {
      name: 'an existing IPv4 pool leaves only the IPv6 default to create',
      existing: [pool('mine', '10.0.0.0/16')],
      env: {},
      expect: ['default-ipv6-ippool fd80:24e2:f998:72d6::/64 nat=true ipip=Never vxlan=Never'],
    },
    {
      name: 'pools of both families mean nothing is created',
      existing: [pool('a', '10.0.0.0/16'), pool('b', 'fd00:1::/64')],
      env: {},
      expect: [],
    },
    { name: '--no-default-ippools creates nothing', existing: [], env: {}, noDefault: true, expect: [] },
    {
      name: 'NO_DEFAULT_POOLS=true creates nothing',
      existing: [],
      env: { NO_DEFAULT_POOLS: 'true' },
      expect: [],
    },
    {
      name: 'CALICO_IPV4POOL_CIDR and CALICO_IPV6POOL_CIDR override the CIDRs (canonicalised)',
      existing: [],
      env: { CALICO_IPV4POOL_CIDR: '172.16.5.9/16', CALICO_IPV6POOL_CIDR: 'FD00:AB::/64' },
      expect: [
        'default-ipv4-ippool 172.16.0.0/16 nat=true ipip=Never vxlan=Never',
        'default-ipv6-ippool fd00:ab::/64 nat=true ipip=Never vxlan=Never',
      ],
    },
    {
      name: 'CALICO_IPV4POOL_VXLAN and NAT_OUTGOING=false are honoured',
      existing: [pool('v6', 'fd00::/64')],
      env: { CALICO_IPV4POOL_VXLAN: 'Always', CALICO_IPV4POOL_NAT_OUTGOING: 'false' },
      expect: ['default-ipv4-ippool 192.168.0.0/16 nat=false ipip=Never vxlan=Always'],
    },
  ];
  for (const c of cases)
    test(c.name, () => {
      const settings = defaultPoolSettingsFromEnv(c.env, c.noDefault ? { noDefaultPools: true } : {});
      assert.deepEqual(summary(planDefaultPools(c.existing, settings, { ipip: true }, seedRandom)), c.expect);
    });

  const refused: { name: string; env: NodeJS.ProcessEnv; ipip: boolean; message: RegExp }[] = [
    {
      name: 'an IPIP default pool on a kernel without IPIP is refused in plain words',
      env: { CALICO_IPV4POOL_IPIP: 'Always' },
      ipip: false,
      message: /IPIP is not available on this kernel \(no ipip module\); use VXLAN/,
    },
    {
      name: 'IPIP and VXLAN together are refused',
      env: { CALICO_IPV4POOL_IPIP: 'CrossSubnet', CALICO_IPV4POOL_VXLAN: 'Always' },
      ipip: true,
      message: /cannot both be on/,
    },
    {
      name: 'a v6 CIDR for the v4 pool is refused',
      env: { CALICO_IPV4POOL_CIDR: 'fd00::/64' },
      ipip: true,
      message: /not an IPv4 CIDR/,
    },
    {
      name: 'an unknown IPIP mode is refused',
      env: { CALICO_IPV4POOL_IPIP: 'sometimes' },
      ipip: true,
      message: /not an encapsulation mode/,
    },
  ];
  for (const c of refused)
    test(c.name, () => {
      assert.throws(
        () => planDefaultPools([], defaultPoolSettingsFromEnv(c.env), { ipip: c.ipip }, seedRandom),
        (e: unknown) => e instanceof DefaultPoolError && c.message.test(e.message),
      );
    });

  test('an IPIP pool is allowed when the kernel has IPIP', () => {
    const pools = planDefaultPools(
      [],
      defaultPoolSettingsFromEnv({ CALICO_IPV4POOL_IPIP: 'cross-subnet' }),
      { ipip: true },
      seedRandom,
    );
    assert.equal(pools[0]?.spec.ipipMode, 'CrossSubnet');
  });
});

describe("the printed lines are the seed's", () => {
  const cases: [IPPool, string][] = [
    [
      pool('default-ipv4-ippool', '192.168.0.0/16', {
        natOutgoing: true,
        ipipMode: 'Never',
        vxlanMode: 'Never',
      }),
      'Created default IPv4 pool (192.168.0.0/16) with NAT outgoing enabled. IPIP mode: off',
    ],
    [
      pool('default-ipv6-ippool', 'fd80:24e2:f998:72d6::/64', { natOutgoing: true, ipipMode: 'Never' }),
      'Created default IPv6 pool (fd80:24e2:f998:72d6::/64) with NAT outgoing enabled. IPIP mode: off',
    ],
    [
      pool('p', '10.0.0.0/16', { natOutgoing: false, ipipMode: 'CrossSubnet' }),
      'Created default IPv4 pool (10.0.0.0/16) with NAT outgoing disabled. IPIP mode: cross-subnet',
    ],
    [
      pool('p', '10.0.0.0/16', { natOutgoing: true, vxlanMode: 'Always' }),
      'Created default IPv4 pool (10.0.0.0/16) with NAT outgoing enabled. IPIP mode: off, VXLAN mode: always',
    ],
  ];
  for (const [p, line] of cases) test(line, () => assert.equal(createdPoolLine(p), line));
});

describe('the IPv6 default is a unique local /64', () => {
  test('fd, then 40 bits of global ID and 16 bits of subnet from the random source', () => {
    assert.equal(randomUniqueLocalPrefix(seedRandom), 'fd80:24e2:f998:72d6::/64');
    assert.equal(
      randomUniqueLocalPrefix(() => new Uint8Array(7)),
      'fd00::/64',
    );
  });
});

describe('existing IPIP pools on a kernel without IPIP are called out', () => {
  const pools = [
    pool('tunnelled', '10.0.0.0/16', { ipipMode: 'Always' }),
    pool('plain', '10.1.0.0/16', { ipipMode: 'Never' }),
  ];
  test('one warning per enabled IPIP pool, none when the kernel has IPIP', () => {
    const w = ipipPoolWarnings(pools, { ipip: false });
    assert.equal(w.length, 1);
    assert.match(
      w[0] ?? '',
      /IPPool tunnelled \(10\.0\.0\.0\/16\) has IPIP mode Always, but IPIP is not available on this kernel/,
    );
    assert.deepEqual(ipipPoolWarnings(pools, { ipip: true }), []);
  });
});
