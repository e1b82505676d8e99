import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sessionNextHops, socketAddressFamily } from '../../../../src/bgp/speaker/next-hop-self.js';

const NODE = { ipv4: '10.31.0.1', ipv6: 'fd00:31::1' } as const;

describe('next hop self is the local address of the session', () => {
  const ROWS = [
    {
      name: 'a session on plane 2 advertises our plane 2 address, the IPv6 one stays the node’s',
      socket: '10.32.0.1',
      want: { ipv4: '10.32.0.1', ipv6: 'fd00:31::1' },
    },
    {
      name: 'an IPv4 connection accepted on a dual-stack listener (IPv4-mapped) counts as IPv4',
      socket: '::ffff:10.33.0.4',
      want: { ipv4: '10.33.0.4', ipv6: 'fd00:31::1' },
    },
    {
      name: 'an IPv6 session advertises its own IPv6 address, canonical',
      socket: 'FD00:32:0:0::0001',
      want: { ipv4: '10.31.0.1', ipv6: 'fd00:32::1' },
    },
    {
      name: 'with no socket address (not connected) the node’s addresses are used',
      socket: undefined,
      want: NODE,
    },
    {
      name: 'a socket address that does not parse leaves the node’s addresses',
      socket: 'not-an-address',
      want: NODE,
    },
  ] as const;
  for (const row of ROWS) {
    test(row.name, () => {
      assert.deepEqual(sessionNextHops(NODE, row.socket), row.want);
    });
  }

  test('a node without an IPv4 address still gets one from an IPv4 session', () => {
    assert.deepEqual(sessionNextHops({ ipv6: 'fd00::1' }, '10.0.0.9'), { ipv4: '10.0.0.9', ipv6: 'fd00::1' });
  });

  test('socketAddressFamily names the family of mapped and plain addresses', () => {
    assert.deepEqual(socketAddressFamily('::ffff:1.2.3.4'), { family: 'ipv4', address: '1.2.3.4' });
    assert.deepEqual(socketAddressFamily('::1'), { family: 'ipv6', address: '::1' });
    assert.equal(socketAddressFamily(''), undefined);
  });
});
