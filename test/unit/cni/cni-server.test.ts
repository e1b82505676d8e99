import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CniServer,
  cniSocketPath,
  containerNetnsPath,
  encodeFittingReply,
  NETNS_FD_VARIABLE,
} from '../../../src/cni/server.js';
import type { PluginEnvironment } from '../../../src/cni/run-plugin.js';
import {
  decodeReply,
  encodeRequest,
  MAX_FIELD_BYTES,
  type ShimReply,
} from '../../../src/cni/shim-protocol.js';
import type { DatastoreConfig } from '../../../src/datastore/config.js';
import { SqliteDatastore } from '../../../src/datastore/sqlite.js';
import { createLogger } from '../../../src/log.js';

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

describe('calico-node’s CNI server, with the plugin replaced by a recorder', () => {
  const logger = createLogger('test', 'none');
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'calico-ts-cni-server-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function send(path: string, bytes: Buffer): Promise<ShimReply | undefined> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', reject);
      socket.on('end', () => resolve(decodeReply(Buffer.concat(chunks))));
      socket.end(bytes);
    });
  }
  const request = (containerId: string, extra: Record<string, string> = {}): Buffer =>
    encodeRequest({
      plugin: 'calico',
      env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: containerId, CNI_IFNAME: 'eth0', ...extra },
      stdin: '{"cniVersion":"1.0.0"}',
    });

  test('calls for one container run one at a time in arrival order; calls for others run beside them', async () => {
    const events: string[] = [];
    const server = await CniServer.listen({
      socketPath: join(dir, 'order.sock'),
      logger,
      runCall: async (_plugin, pe) => {
        const tag = `${pe.env.CNI_CONTAINERID}/${pe.env.TAG}`;
        events.push(`start ${tag}`);
        await new Promise((r) => setTimeout(r, 40));
        events.push(`end ${tag}`);
        return { stdout: `${tag}\n`, exitCode: 0 };
      },
    });
    try {
      const replies = await Promise.all([
        send(server.path, request('a', { TAG: '1' })),
        send(server.path, request('a', { TAG: '2' })),
        send(server.path, request('b', { TAG: '1' })),
      ]);
      assert.deepEqual(
        replies.map((r) => r?.stdout),
        ['a/1\n', 'a/2\n', 'b/1\n'],
      );
      assert.ok(events.indexOf('end a/1') < events.indexOf('start a/2'), events.join(', '));
      assert.ok(events.indexOf('start b/1') < events.indexOf('end a/1'), events.join(', '));
    } finally {
      await server.close();
    }
  });

  test('the plugin sees the request’s environment and stdin, not the shim’s namespace descriptor variable', async () => {
    let seen: PluginEnvironment | undefined;
    const server = await CniServer.listen({
      socketPath: join(dir, 'env.sock'),
      logger,
      runCall: async (_plugin, pe) => {
        seen = pe;
        return { stdout: '', exitCode: 0 };
      },
    });
    try {
      await send(server.path, request('c', { [NETNS_FD_VARIABLE]: '1:2:3', CNI_NETNS: '/run/netns/x' }));
      assert.deepEqual(seen?.env, {
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: 'c',
        CNI_IFNAME: 'eth0',
        CNI_NETNS: '/run/netns/x',
      });
      assert.equal(seen?.stdin, '{"cniVersion":"1.0.0"}');
      assert.equal(seen?.containerNetnsPath, undefined, 'no such descriptor: CNI_NETNS is used');
    } finally {
      await server.close();
    }
  });

  test('a call naming calico-node’s store gets its open handle; another store is opened for the call', async () => {
    const shared = await SqliteDatastore.open(join(dir, 'shared.sqlite'));
    const sharedConfig: DatastoreConfig = {
      datastoreType: 'sqlite',
      sqlitePath: join(dir, 'shared.sqlite'),
      source: 'test',
    };
    const leases: { same: boolean; shared: boolean }[] = [];
    const server = await CniServer.listen({
      socketPath: join(dir, 'store.sock'),
      logger,
      sharedDatastore: { datastore: shared, config: sharedConfig },
      runCall: async (_plugin, pe) => {
        for (const path of ['shared.sqlite', 'other.sqlite']) {
          const lease = await pe.datastores!.open({ ...sharedConfig, sqlitePath: join(dir, path) });
          leases.push({ same: lease.datastore === shared, shared: lease.shared });
          if (!lease.shared) await lease.datastore.close();
        }
        return { stdout: '', exitCode: 0 };
      },
    });
    try {
      await send(server.path, request('d'));
      assert.deepEqual(leases, [
        { same: true, shared: true },
        { same: false, shared: false },
      ]);
    } finally {
      await server.close();
      await shared.close();
    }
  });

  test('bytes that are not a request get CNI error 999 and exit 1', async () => {
    const server = await CniServer.listen({ socketPath: join(dir, 'garbage.sock'), logger });
    try {
      const reply = await send(server.path, Buffer.from('GET / HTTP/1.0\r\n\r\n'));
      assert.equal(reply?.exitCode, 1);
      assert.equal((JSON.parse(reply?.stdout ?? '') as { code: number }).code, 999);
    } finally {
      await server.close();
    }
  });
});
