import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeReply,
  decodeRequest,
  encodeReply,
  encodeRequest,
  MAX_FIELD_BYTES,
  ShimFrameError,
  type ShimReply,
  type ShimRequest,
} from '../../../src/cni/shim-protocol.js';
import { sameDatastore } from '../../../src/cni/datastore-access.js';
import type { DatastoreConfig } from '../../../src/datastore/config.js';

const field = (text: string | Buffer) => {
  const body = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
};
const frame = (magic: string, ...fields: (string | Buffer)[]) =>
  Buffer.concat([Buffer.from(magic), ...fields.map(field)]);

describe('the shim wire format', () => {
  const requests: { name: string; request: ShimRequest }[] = [
    {
      name: 'an ADD with CNI_* variables and a configuration',
      request: {
        plugin: 'calico',
        env: {
          CNI_COMMAND: 'ADD',
          CNI_CONTAINERID: 'c1',
          CNI_ARGS: 'K8S_POD_NAME=a;IgnoreUnknown=1',
          PATH: '/bin',
        },
        stdin: '{"cniVersion":"1.0.0","name":"n","type":"calico"}',
      },
    },
    {
      name: 'calico-ipam with an empty environment and stdin',
      request: { plugin: 'calico-ipam', env: {}, stdin: '' },
    },
    {
      name: 'values holding "=", newlines and non-ASCII text',
      request: {
        plugin: 'calico',
        env: { A: 'x=y=z', B: 'line1\nline2', C: 'ünï' },
        stdin: '{"name":"réseau"}',
      },
    },
  ];
  for (const r of requests)
    test(`a request round-trips: ${r.name}`, () => {
      assert.deepEqual(decodeRequest(encodeRequest(r.request)), r.request);
    });

  test('the request bytes are the documented layout: magic, then plugin, environment, stdin', () => {
    const bytes = encodeRequest({ plugin: 'calico', env: { A: '1', B: '2' }, stdin: '{}' });
    assert.deepEqual(bytes, frame('CNI1', 'calico', 'A=1\0B=2\0', '{}'));
  });

  const replies: ShimReply[] = [
    { exitCode: 0, stdout: '{"cniVersion":"1.0.0","ips":[]}\n', stderr: '' },
    { exitCode: 1, stdout: '{"code":7}\n', stderr: '{"level":50,"msg":"bad"}\n' },
    { exitCode: 255, stdout: '', stderr: '' },
  ];
  for (const r of replies)
    test(`a reply with exit ${r.exitCode} round-trips and is laid out as documented`, () => {
      const bytes = encodeReply(r);
      assert.deepEqual(bytes, frame('CNR1', String(r.exitCode), r.stdout, r.stderr));
      assert.deepEqual(decodeReply(bytes), r);
    });

  test('every proper prefix of a message is incomplete, not an error', () => {
    const bytes = encodeRequest(requests[0]!.request);
    for (let n = 0; n < bytes.length; n++)
      assert.equal(decodeRequest(bytes.subarray(0, n)), undefined, `prefix of ${n} bytes`);
    const reply = encodeReply(replies[1]!);
    for (let n = 0; n < reply.length; n++) assert.equal(decodeReply(reply.subarray(0, n)), undefined);
  });

  const refused: { name: string; bytes: Buffer; problem: ShimFrameError['problem'] }[] = [
    { name: 'another magic', bytes: Buffer.from('GET / HTTP/1.1\r\n'), problem: 'bad-magic' },
    { name: 'a wrong first byte, seen alone', bytes: Buffer.from('X'), problem: 'bad-magic' },
    { name: 'a reply sent as a request', bytes: encodeReply(replies[0]!), problem: 'bad-magic' },
    {
      name: 'a field announcing more than the limit, before its bytes arrive',
      bytes: Buffer.concat([Buffer.from('CNI1'), field('calico'), Buffer.from([0xff, 0xff, 0xff, 0xff])]),
      problem: 'oversize',
    },
    {
      name: 'an unknown plugin',
      bytes: frame('CNI1', 'bridge', '', '{}'),
      problem: 'bad-field',
    },
    {
      name: 'an environment entry without "="',
      bytes: frame('CNI1', 'calico', 'CNI_COMMAND\0', '{}'),
      problem: 'bad-field',
    },
    {
      name: 'bytes after the request',
      bytes: Buffer.concat([frame('CNI1', 'calico', '', '{}'), Buffer.from('x')]),
      problem: 'trailing-bytes',
    },
  ];
  for (const r of refused)
    test(`a request with ${r.name} is refused as ${r.problem}`, () => {
      assert.throws(
        () => decodeRequest(r.bytes),
        (e: unknown) => e instanceof ShimFrameError && e.problem === r.problem,
      );
    });

  const badReplies: { name: string; bytes: Buffer; problem: ShimFrameError['problem'] }[] = [
    { name: 'an exit code that is not a number', bytes: frame('CNR1', 'ok', '', ''), problem: 'bad-field' },
    { name: 'an exit code above 255', bytes: frame('CNR1', '256', '', ''), problem: 'bad-field' },
    { name: 'an empty exit code', bytes: frame('CNR1', '', '', ''), problem: 'bad-field' },
  ];
  for (const r of badReplies)
    test(`a reply with ${r.name} is refused`, () => {
      assert.throws(
        () => decodeReply(r.bytes),
        (e: unknown) => e instanceof ShimFrameError && e.problem === r.problem,
      );
    });

  test('a field over the limit is refused when encoding, exactly the limit is accepted', () => {
    const atLimit = 'x'.repeat(MAX_FIELD_BYTES);
    assert.equal(
      decodeRequest(encodeRequest({ plugin: 'calico', env: {}, stdin: atLimit }))?.stdin.length,
      MAX_FIELD_BYTES,
    );
    assert.throws(
      () => encodeRequest({ plugin: 'calico', env: {}, stdin: atLimit + 'x' }),
      (e: unknown) => e instanceof ShimFrameError && e.problem === 'oversize',
    );
  });
});

describe('whether a CNI call can use the datastore calico-node has open', () => {
  const sqlite = (path: string): DatastoreConfig => ({
    datastoreType: 'sqlite',
    sqlitePath: path,
    source: 'test',
  });
  const etcd = (extra: Partial<DatastoreConfig> = {}): DatastoreConfig => ({
    datastoreType: 'etcdv3',
    etcdEndpoints: ['https://a:2379', 'https://b:2379'],
    source: 'test',
    ...extra,
  });
  // Paths resolved through a fake "file system" where /link points to /data.
  const pathOf = (p: string) => p.replace(/^\/link\//, '/data/');
  const cases: { name: string; a: DatastoreConfig; b: DatastoreConfig; same: boolean }[] = [
    { name: 'the same SQLite file', a: sqlite('/data/s.db'), b: sqlite('/data/s.db'), same: true },
    {
      name: 'the same SQLite file through a link',
      a: sqlite('/link/s.db'),
      b: sqlite('/data/s.db'),
      same: true,
    },
    { name: 'another SQLite file', a: sqlite('/data/s.db'), b: sqlite('/data/t.db'), same: false },
    {
      name: 'etcd endpoints in another order',
      a: etcd(),
      b: etcd({ etcdEndpoints: ['https://b:2379', 'https://a:2379'] }),
      same: true,
    },
    { name: 'etcd with another user', a: etcd({ etcdUsername: 'x' }), b: etcd(), same: false },
    {
      name: 'etcd with another client certificate',
      a: etcd({ etcdCertFile: '/c1' }),
      b: etcd({ etcdCertFile: '/c2' }),
      same: false,
    },
    { name: 'SQLite and etcd', a: sqlite('/data/s.db'), b: etcd(), same: false },
    {
      name: 'two memory stores',
      a: { datastoreType: 'memory', source: 'test' },
      b: { datastoreType: 'memory', source: 'test' },
      same: false,
    },
  ];
  for (const c of cases)
    test(`${c.name}: ${c.same ? 'shared' : 'opened per call'}`, () => {
      assert.equal(sameDatastore(c.a, c.b, pathOf), c.same);
    });
});
