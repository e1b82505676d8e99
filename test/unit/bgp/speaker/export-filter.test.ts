import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr, type Cidr } from '../../../../src/net/ip.js';
import {
  calicoExportPolicy,
  exportDecision,
  type ExportDecision,
} from '../../../../src/bgp/speaker/index.js';
import type { Prefix } from '../../../../src/bgp/types.js';
import { Origin } from '../../../../src/bgp/types.js';
import type { ExportTarget, Path } from '../../../../src/bgp/rib/index.js';

const cidrs = (...t: string[]) => t.map((x) => parseCidr(x) as Cidr);
const prefix = (text: string): Prefix => {
  const [address, length] = text.split('/') as [string, string];
  return { family: address.includes(':') ? 'ipv6' : 'ipv4', address, length: Number(length) };
};

describe('Calico’s export filter', () => {
  const POOLS = cidrs('10.65.0.0/16', 'fd65::/48');
  const BLOCKS = cidrs('10.65.0.0/26', 'fd65::/122');
  const TABLE: [string, string, ExportDecision][] = [
    ['our block is advertised', '10.65.0.0/26', 'own-block'],
    ['an address inside our block is not: the block covers it', '10.65.0.7/32', 'inside-own-block'],
    ['another node’s block (inside the pool) is passed on', '10.65.0.64/26', 'in-pool'],
    ['a borrowed address (in the pool, outside our blocks) is advertised', '10.65.3.9/32', 'in-pool'],
    ['a default route is not passed on', '0.0.0.0/0', 'not-in-pool'],
    ['an upstream prefix is not passed on', '192.0.2.0/24', 'not-in-pool'],
    ['a prefix wider than the pool is not passed on', '10.64.0.0/15', 'not-in-pool'],
    ['IPv6: our block', 'fd65::/122', 'own-block'],
    ['IPv6: another block in the pool', 'fd65::40/122', 'in-pool'],
    ['IPv6: outside every pool', '2001:db8::/32', 'not-in-pool'],
  ];
  for (const [name, p, want] of TABLE)
    test(name, () => assert.equal(exportDecision(prefix(p), POOLS, BLOCKS), want));

  test('as a RIB export policy: attributes through for exported prefixes, null otherwise', () => {
    const policy = calicoExportPolicy(['10.65.0.0/16'], ['10.65.0.0/26']);
    const attrs = { origin: Origin.IGP, asPath: [] };
    const local = { source: { kind: 'local' } } as unknown as Path;
    const fromIbgp = { source: { kind: 'peer', ibgp: true } } as unknown as Path;
    const fromEbgp = { source: { kind: 'peer', ibgp: false } } as unknown as Path;
    const ibgpPeer = { ibgp: true } as ExportTarget;
    const ebgpPeer = { ibgp: false } as ExportTarget;
    const TABLE: [string, string, Path, ExportTarget, boolean][] = [
      ['our block to anyone', '10.65.0.0/26', local, ebgpPeer, true],
      ['a host route inside our block, to nobody', '10.65.0.5/32', local, ibgpPeer, false],
      ['a ToR default route to another eBGP peer: no transit', '0.0.0.0/0', fromEbgp, ebgpPeer, false],
      ['a ToR default route into the AS: no', '0.0.0.0/0', fromEbgp, ibgpPeer, false],
      ['a client route we reflect, whatever its prefix', '192.168.31.0/24', fromIbgp, ibgpPeer, true],
      ['an iBGP-learned non-pool route to an eBGP peer: no', '192.168.31.0/24', fromIbgp, ebgpPeer, false],
      ['a reflected route inside our block: no', '10.65.0.9/32', fromIbgp, ibgpPeer, false],
    ];
    for (const [name, p, path, peer, exported] of TABLE) {
      assert.equal(policy({ prefix: prefix(p), attrs, path, peer }), exported ? attrs : null, name);
    }
  });
});
