import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checksystemExitCode, runChecksystem, type CheckResult } from '../../../src/node/startup/index.js';
import { FakeKernel, type Answer } from './fake-kernel.js';

const NS = 'calico-checksystem-test';
const inNs = (cmd: string) => `ip netns exec ${NS} ${cmd}`;

/** A healthy host without IPIP. */
const HEALTHY: Record<string, Answer> = {
  'sysctl -n net.ipv4.ip_forward': { stdout: '1\n' },
  'sysctl -n net.ipv6.conf.all.forwarding': { stdout: '0\n' },
  'iptables -V': { stdout: 'iptables v1.8.9 (nf_tables)\n' },
  'iptables-restore --test --noflush': {},
  'iptables-save -t filter': { stdout: '*filter\nCOMMIT\n' },
  'ip6tables -V': { stdout: 'ip6tables v1.8.9 (legacy)\n' },
  'ip6tables-restore --test --noflush': {},
  'ip6tables-save -t filter': { stdout: '*filter\nCOMMIT\n' },
  'ipset version': { stdout: 'ipset v7.17, protocol version: 7\n' },
  'conntrack -C': { stdout: '12\n' },
  'sysctl -n net.netfilter.nf_conntrack_max': { stdout: '262144\n' },
  [`ip netns add ${NS}`]: {},
  [`ip netns del ${NS}`]: {},
  [`ip -n ${NS} link add calivxchk type vxlan id 4096 dstport 4789`]: {},
  [`ip -n ${NS} link add calitunchk type ipip local 192.0.2.1 remote 192.0.2.2`]: {
    code: 2,
    stderr: 'Error: Unknown device type.\n',
  },
  [inNs('ipset create cali-chk-hash-ip hash:ip family inet')]: {},
  [inNs('ipset destroy cali-chk-hash-ip')]: {},
  [inNs('ipset create cali-chk-hash-net hash:net family inet')]: {},
  [inNs('ipset destroy cali-chk-hash-net')]: {},
};

const byName = (rs: CheckResult[]) => new Map(rs.map((r) => [r.name, r]));

describe('checksystem probes, on a fake kernel', () => {
  test('a healthy host without IPIP passes; IPIP says so plainly; forwarding off is a warning', async () => {
    const kernel = new FakeKernel(HEALTHY);
    const rs = byName(await runChecksystem({ runner: kernel, modules: {}, probeNamespace: NS }));
    assert.equal(checksystemExitCode([...rs.values()]), 0);
    assert.deepEqual(rs.get('IPIP'), {
      name: 'IPIP',
      status: 'FAIL',
      required: false,
      detail:
        'IPIP is not available on this kernel (no ipip module); use VXLAN (ip link: Error: Unknown device type.)',
    });
    assert.equal(rs.get('VXLAN')?.status, 'OK');
    assert.equal(rs.get('IPv6 forwarding')?.status, 'WARN');
    assert.equal(rs.get('iptables')?.detail, 'iptables v1.8.9 (nf_tables); save and restore work');
    assert.equal(rs.get('ip6tables')?.detail, 'ip6tables v1.8.9 (legacy); save and restore work');
    assert.equal(
      rs.get('kernel module xt_set')?.status,
      'WARN',
      'no module source: cannot tell, not a failure',
    );
    assert.equal(kernel.calls.at(-1), `ip netns del ${NS}`, 'the probe namespace is removed');
  });

  const failing: { name: string; change: Record<string, Answer>; check: string; detail: RegExp }[] = [
    {
      name: 'ipset not installed',
      change: { 'ipset version': undefined as unknown as Answer },
      check: 'ipset',
      detail: /ipset is not installed/,
    },
    {
      name: 'iptables-restore broken',
      change: { 'iptables-restore --test --noflush': { code: 1, stderr: 'iptables-restore: line 1 failed' } },
      check: 'iptables',
      detail: /iptables-restore does not work: iptables-restore: line 1 failed/,
    },
    {
      name: 'no hash:net support',
      change: {
        [inNs('ipset create cali-chk-hash-net hash:net family inet')]: {
          code: 1,
          stderr: 'ipset v7: Kernel error received: set type not supported',
        },
      },
      check: 'ipset hash:net',
      detail: /set type not supported/,
    },
    {
      name: 'namespaces cannot be made',
      change: {
        [`ip netns add ${NS}`]: {
          code: 1,
          stderr: 'mount --make-shared /run/netns failed: Operation not permitted',
        },
      },
      check: 'network namespaces',
      detail: /run as root/,
    },
  ];
  for (const f of failing)
    test(`${f.name}: ${f.check} FAILs and the exit code is 1`, async () => {
      const answers = { ...HEALTHY, ...f.change };
      for (const [k, v] of Object.entries(answers)) if (v === undefined) delete answers[k];
      const rs = await runChecksystem({ runner: new FakeKernel(answers), modules: {}, probeNamespace: NS });
      const r = byName(rs).get(f.check);
      assert.equal(r?.status, 'FAIL');
      assert.match(r?.detail ?? '', f.detail);
      assert.equal(checksystemExitCode(rs), 1);
    });
});
