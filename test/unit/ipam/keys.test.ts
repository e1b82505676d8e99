import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCidr, parseCidr, type Cidr } from '../../../src/net/ip.js';
import {
  affinityKey,
  blockKey,
  handleKey,
  keySegmentProblem,
  parseAffinityKey,
  parseBlockKey,
} from '../../../src/ipam/keys.js';

const cidr = (t: string): Cidr => {
  const c = parseCidr(t);
  assert.ok(c);
  return c;
};

describe("IPAM keys follow Calico's layout", () => {
  const blocks: [string, string][] = [
    ['10.0.0.0/26', '/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26'],
    ['fd00::40/122', '/calico/ipam/v2/assignment/ipv6/block/fd00::40-122'],
  ];
  for (const [c, key] of blocks)
    test(`block ${c} is stored at ${key}, and the key reads back`, () => {
      assert.equal(blockKey(cidr(c)), key);
      const back = parseBlockKey(key);
      assert.equal(back && formatCidr(back), c);
    });

  test('a host affinity key names the host and the block', () => {
    const key = affinityKey('node-1', cidr('10.0.0.64/26'));
    assert.equal(key, '/calico/ipam/v2/host/node-1/ipv4/block/10.0.0.64-26');
    const back = parseAffinityKey(key);
    assert.equal(back?.host, 'node-1');
    assert.equal(back && formatCidr(back.cidr), '10.0.0.64/26');
  });

  test('handles live under /calico/ipam/v2/handle/', () => {
    assert.equal(handleKey('k8s-pod-network.abc'), '/calico/ipam/v2/handle/k8s-pod-network.abc');
  });

  const notKeys = [
    '/calico/ipam/v2/assignment/ipv4/block/fd00::-122',
    '/calico/ipam/v2/assignment/ipv4/block/nonsense',
    '/calico/ipam/v2/host/a/ipv6/block/10.0.0.0-26',
    '/calico/ipam/v2/handle/x',
  ];
  for (const k of notKeys)
    test(`${k} is not read as a block or affinity key`, () => {
      assert.equal(parseBlockKey(k), undefined);
      assert.equal(parseAffinityKey(k), undefined);
    });

  const names: [string, string | undefined][] = [
    ['node-1', undefined],
    ['', 'host must not be empty'],
    ['a/b', 'host "a/b" must not contain "/"'],
  ];
  for (const [name, problem] of names)
    test(`host name "${name}" ${problem ? 'is refused' : 'is accepted'}`, () => {
      assert.equal(keySegmentProblem('host', name), problem);
    });
});
