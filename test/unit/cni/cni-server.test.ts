import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cniSocketPath, containerNetnsPath } from '../../../src/cni/server.js';

describe('where calico-node’s CNI server opens the container’s namespace', () => {
  // A fake /proc: the shim 4242 holds fd 5 on a namespace with inode 4026532999.
  const inodeOf = (path: string) => (path === '/proc/4242/fd/5' ? 4026532999 : undefined);
  const cases: { name: string; value: string | undefined; path: string | undefined }[] = [
    {
      name: 'the descriptor the shim holds, when its inode matches',
      value: '4242:5:4026532999',
      path: '/proc/4242/fd/5',
    },
    {
      name: 'not there when the inode differs (a shim in another PID namespace)',
      value: '4242:5:4026532000',
      path: undefined,
    },
    { name: 'not there when the descriptor is gone', value: '4242:6:4026532999', path: undefined },
    {
      name: 'not there without the variable (CNI_NETNS is used as given)',
      value: undefined,
      path: undefined,
    },
    { name: 'not there for a malformed value', value: '../../etc:5:1', path: undefined },
  ];
  for (const c of cases)
    test(c.name, () => {
      assert.equal(containerNetnsPath(c.value, inodeOf), c.path);
    });

  test('the socket is named after the network namespace inode, in the run directory', () => {
    assert.equal(cniSocketPath('/var/run/calico', 4026531840), '/var/run/calico/cni.4026531840.sock');
  });
});
