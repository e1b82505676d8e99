import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cniSocketPath, containerNetnsPath, encodeFittingReply } from '../../../src/cni/server.js';
import { decodeReply, MAX_FIELD_BYTES } from '../../../src/cni/shim-protocol.js';

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

describe('what the CNI server sends back', () => {
  test('a result and its log as they are', () => {
    const reply = decodeReply(encodeFittingReply({ stdout: '{"ips":[]}\n', exitCode: 0 }, 'a log line\n'));
    assert.deepEqual(reply, { exitCode: 0, stdout: '{"ips":[]}\n', stderr: 'a log line\n' });
  });

  test('a log over the limit is cut and says so; the result is intact', () => {
    const reply = decodeReply(
      encodeFittingReply({ stdout: '{}\n', exitCode: 0 }, 'x'.repeat(MAX_FIELD_BYTES + 10)),
    );
    assert.equal(reply?.stdout, '{}\n');
    assert.equal(reply?.exitCode, 0);
    assert.match(reply?.stderr ?? '', /\[log truncated\]\n$/);
    assert.ok(Buffer.byteLength(reply?.stderr ?? '') <= MAX_FIELD_BYTES);
  });

  test('a result over the limit becomes CNI error 999 and exit 1, never a cut result', () => {
    const reply = decodeReply(
      encodeFittingReply({ stdout: 'y'.repeat(MAX_FIELD_BYTES + 1), exitCode: 0 }, ''),
    );
    assert.equal(reply?.exitCode, 1);
    const error = JSON.parse(reply?.stdout ?? '') as { code: number; msg: string };
    assert.equal(error.code, 999);
    assert.match(error.msg, /too large/);
  });
});
