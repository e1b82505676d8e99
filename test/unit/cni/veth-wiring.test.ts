import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandResult, CommandRunner, RunOptions } from '../../../src/kernel/runner.js';
import {
  containerBatch,
  hostBatch,
  IpWorkloadDataplane,
  type VethWiring,
} from '../../../src/cni/veth-wiring.js';
import { CniError } from '../../../src/cni/spec.js';

const wiring: VethWiring = {
  hostIface: 'cali0123456789a',
  containerIface: 'eth0',
  netns: '/run/netns/c1',
  containerMac: '02:00:00:00:00:01',
  mtu: 1450,
  addresses: ['10.0.0.5/32', 'fd00::5/128'],
};

/** Answers each command from a script and records what ran. */
class ScriptedRunner implements CommandRunner {
  readonly ran: string[] = [];
  constructor(private readonly answer: (line: string) => Partial<CommandResult>) {}
  async run(cmd: string, args: readonly string[], options?: RunOptions): Promise<CommandResult> {
    const line = [cmd, ...args].join(' ') + (options?.input ? ` <<${options.input.split('\n')[0]}` : '');
    this.ran.push(line);
    return { code: 0, stdout: '', stderr: '', ...this.answer(line) };
  }
}

const sysctls: string[] = [];
const recordSysctl = {
  write: (path: readonly string[], value: string) => void sysctls.push(`${path.join('.')}=${value}`),
};

describe('wiring a workload veth', () => {
  test('the host batch creates the pair with the peer inside the container namespace, named, addressed and sized', () => {
    assert.equal(
      hostBatch(wiring),
      [
        'link add cali0123456789a mtu 1450 address ee:ee:ee:ee:ee:ee type veth peer name eth0 mtu 1450 address 02:00:00:00:00:01 netns /run/netns/c1',
        'link set cali0123456789a up',
        'route replace 10.0.0.5/32 dev cali0123456789a scope link',
        'route replace fd00::5/128 dev cali0123456789a scope link',
        '',
      ].join('\n'),
    );
  });

  test('the container batch adds the /32 and /128, the gateway routes and permanent neighbour entries', () => {
    assert.equal(
      containerBatch(wiring),
      [
        'link set eth0 up',
        'addr add 10.0.0.5/32 dev eth0',
        'route add 169.254.1.1 dev eth0 scope link',
        'route add default via 169.254.1.1 dev eth0',
        'neigh replace 169.254.1.1 lladdr ee:ee:ee:ee:ee:ee dev eth0 nud permanent',
        'addr add fd00::5/128 dev eth0 nodad',
        'route add default via fe80::ecee:eeff:feee:eeee dev eth0',
        'neigh replace fe80::ecee:eeff:feee:eeee lladdr ee:ee:ee:ee:ee:ee dev eth0 nud permanent',
        '',
      ].join('\n'),
    );
  });

  test('attach: two processes, one per namespace, and the host sysctls Calico sets', async () => {
    sysctls.length = 0;
    const runner = new ScriptedRunner(() => ({}));
    await new IpWorkloadDataplane(runner, recordSysctl, () => true).attach(wiring);
    assert.deepEqual(
      runner.ran.map((l) => l.split(' <<')[0]),
      ['ip -batch -', 'nsenter --net=/run/netns/c1 ip -batch -'],
    );
    assert.deepEqual(sysctls, [
      'net.ipv4.conf.cali0123456789a.proxy_arp=1',
      'net.ipv4.neigh.cali0123456789a.proxy_delay=0',
      'net.ipv4.conf.cali0123456789a.forwarding=1',
      'net.ipv6.conf.cali0123456789a.proxy_ndp=1',
      'net.ipv6.conf.cali0123456789a.forwarding=1',
    ]);
  });

  const failures: [string, (line: string) => Partial<CommandResult>, string[], RegExp][] = [
    [
      'the container side fails: the pair is deleted again',
      (l) => (l.startsWith('nsenter') ? { code: 1, stderr: 'RTNETLINK answers: Invalid argument' } : {}),
      ['ip -batch -', 'nsenter --net=/run/netns/c1 ip -batch -', 'ip link del cali0123456789a'],
      /cannot configure eth0 inside \/run\/netns\/c1/,
    ],
    [
      'the host side fails half way: what was made is deleted',
      (l) => (l.startsWith('ip -batch') ? { code: 1, stderr: 'Command failed -:2' } : {}),
      ['ip -batch -', 'ip link del cali0123456789a'],
      /cannot create veth/,
    ],
    [
      'the name is taken: nothing is deleted (it is not ours) and the error says which name',
      (l) => (l.startsWith('ip -batch') ? { code: 2, stderr: 'RTNETLINK answers: File exists' } : {}),
      ['ip -batch -'],
      /cannot create veth/,
    ],
  ];
  for (const [name, answer, ran, message] of failures)
    test(`attach: ${name}`, async () => {
      const runner = new ScriptedRunner(answer);
      await assert.rejects(
        new IpWorkloadDataplane(runner, recordSysctl, () => true).attach(wiring),
        (e: unknown) => e instanceof CniError && e.code === 102 && message.test(e.message),
      );
      assert.deepEqual(
        runner.ran.map((l) => l.split(' <<')[0]),
        ran,
      );
    });

  test('attach into a namespace that does not exist is error 3 and runs nothing', async () => {
    const runner = new ScriptedRunner(() => ({}));
    await assert.rejects(
      new IpWorkloadDataplane(runner, recordSysctl, () => false).attach(wiring),
      (e: unknown) => e instanceof CniError && e.code === 3,
    );
    assert.deepEqual(runner.ran, []);
  });

  test('detach of an interface that is gone succeeds; another failure is reported', async () => {
    const gone = new ScriptedRunner(() => ({ code: 1, stderr: 'Cannot find device "cali0123456789a"' }));
    await new IpWorkloadDataplane(gone).detach('cali0123456789a');
    const busy = new ScriptedRunner(() => ({
      code: 2,
      stderr: 'RTNETLINK answers: Operation not permitted',
    }));
    await assert.rejects(
      new IpWorkloadDataplane(busy).detach('cali0123456789a'),
      /cannot delete cali0123456789a/,
    );
  });
});
