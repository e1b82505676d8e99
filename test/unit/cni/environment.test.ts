import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCniArgs, parseInvocation } from '../../../src/cni/environment.js';
import { CniError } from '../../../src/cni/spec.js';

const base = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c0ffee',
  CNI_NETNS: '/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
};

describe('the CNI environment', () => {
  test('a complete ADD environment is read into an invocation', () => {
    assert.deepEqual(parseInvocation({ ...base, CNI_ARGS: 'K8S_POD_NAME=web;K8S_POD_NAMESPACE=shop' }), {
      command: 'ADD',
      containerId: 'c0ffee',
      netns: '/run/netns/x',
      ifname: 'eth0',
      cniPath: ['/opt/cni/bin', '/usr/lib/cni'],
      args: { podName: 'web', podNamespace: 'shop' },
    });
  });

  test('DEL may come without a network namespace (the container may be gone)', () => {
    assert.equal(parseInvocation({ ...base, CNI_COMMAND: 'DEL', CNI_NETNS: '' }).netns, '');
  });

  const rejected: [string, NodeJS.ProcessEnv, RegExp][] = [
    ['no command', { ...base, CNI_COMMAND: undefined }, /CNI_COMMAND is not set/],
    ['an unknown command', { ...base, CNI_COMMAND: 'UP' }, /CNI_COMMAND "UP" is not a CNI command/],
    ['no container ID', { ...base, CNI_CONTAINERID: '' }, /CNI_CONTAINERID is not set/],
    [
      'a container ID with a slash',
      { ...base, CNI_CONTAINERID: 'a/b' },
      /CNI_CONTAINERID "a\/b" is not a valid/,
    ],
    ['ADD without a namespace', { ...base, CNI_NETNS: '' }, /CNI_NETNS is not set \(ADD needs/],
    ['CHECK without a namespace', { ...base, CNI_COMMAND: 'CHECK', CNI_NETNS: '' }, /CHECK needs/],
    ['no interface name', { ...base, CNI_IFNAME: '' }, /CNI_IFNAME is not set/],
    [
      'an interface name over 15 characters',
      { ...base, CNI_IFNAME: 'a'.repeat(16) },
      /is not a valid interface name/,
    ],
    ['an unknown CNI_ARGS key', { ...base, CNI_ARGS: 'FOO=1' }, /CNI_ARGS: unknown key "FOO"/],
    ['a CNI_ARGS pair without "="', { ...base, CNI_ARGS: 'K8S_POD_NAME' }, /is not KEY=VALUE/],
  ];
  for (const [name, env, message] of rejected)
    test(`${name} is CNI error 4 naming the variable`, () => {
      assert.throws(
        () => parseInvocation(env),
        (e: unknown) => e instanceof CniError && e.code === 4 && message.test(e.message),
      );
    });

  const args: [string, string, object][] = [
    ['empty', '', {}],
    ['pod identity', 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p', { podNamespace: 'ns', podName: 'p' }],
    ['unknown keys with IgnoreUnknown=1', 'IgnoreUnknown=1;FOO=bar;K8S_POD_NAME=p', { podName: 'p' }],
    [
      'podman style',
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=c1;K8S_POD_NAME=c1;K8S_POD_INFRA_CONTAINER_ID=abc',
      {
        podNamespace: 'c1',
        podName: 'c1',
        infraContainerId: 'abc',
      },
    ],
  ];
  for (const [name, text, expected] of args)
    test(`CNI_ARGS: ${name}`, () => assert.deepEqual(parseCniArgs(text), expected));
});

describe('CNI_ARGS IP=: the addresses a container must get', () => {
  const accepted: [string, string, string[]][] = [
    ['one IPv4 address', 'IP=10.0.0.5', ['10.0.0.5']],
    ['one IPv6 address, made canonical', 'IP=FD00:0:0::05', ['fd00::5']],
    ['dual stack, in the order given', 'IP=fd00::5,10.0.0.5', ['fd00::5', '10.0.0.5']],
    ['spaces around the comma', 'IP=10.0.0.5 , fd00::5', ['10.0.0.5', 'fd00::5']],
    ['beside IgnoreUnknown and unknown keys', 'IgnoreUnknown=1;FOO=bar;IP=10.0.0.5', ['10.0.0.5']],
    ['beside pod identity', 'K8S_POD_NAME=p;IP=10.0.0.5', ['10.0.0.5']],
  ];
  for (const [name, text, ips] of accepted)
    test(`${name}: ${text} → ${ips.join(', ')}`, () => assert.deepEqual(parseCniArgs(text).ips, ips));

  const rejected: [string, string, RegExp][] = [
    ['a name, not an address', 'IP=db.local', /IP "db\.local" is not an IP address/],
    [
      'an address with a prefix length',
      'IP=10.0.0.5/24',
      /"10\.0\.0\.5\/24" is not an IP address \(a prefix length/,
    ],
    ['an octet out of range', 'IP=10.0.0.256', /"10\.0\.0\.256" is not an IP address/],
    ['an empty value', 'IP=', /IP="" has an empty address/],
    ['a trailing comma', 'IP=10.0.0.5,', /IP="10\.0\.0\.5," has an empty address/],
    ['two IPv4 addresses', 'IP=10.0.0.5,10.0.0.6', /two IPv4 addresses \(10\.0\.0\.5 and 10\.0\.0\.6\)/],
    ['two IPv6 addresses', 'IP=fd00::5,fd00::6', /two IPv6 addresses \(fd00::5 and fd00::6\)/],
    ['IP given twice', 'IP=10.0.0.5;IP=fd00::5', /IP is given twice/],
    ['a bad address even with IgnoreUnknown', 'IgnoreUnknown=1;IP=nope', /IP "nope" is not an IP address/],
  ];
  for (const [name, text, message] of rejected)
    test(`${name} (${text}) is CNI error 4 naming the value`, () => {
      assert.throws(
        () => parseCniArgs(text),
        (e: unknown) => e instanceof CniError && e.code === 4 && message.test(e.message),
      );
    });

  const byCommand: [string, string | undefined, string[] | undefined][] = [
    ['ADD', 'IP=10.0.0.5', ['10.0.0.5']],
    ['CHECK', 'IP=10.0.0.5', ['10.0.0.5']],
    // DEL releases by handle and never reads IP=; it must not fail over what ADD already refused.
    ['DEL', 'IP=not-an-address', undefined],
  ];
  for (const [command, cniArgs, ips] of byCommand)
    test(`${command} with ${cniArgs} reads IP= as ${JSON.stringify(ips)}`, () =>
      assert.deepEqual(parseInvocation({ ...base, CNI_COMMAND: command, CNI_ARGS: cniArgs }).args.ips, ips));
});
