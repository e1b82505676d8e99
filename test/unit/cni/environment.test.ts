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
