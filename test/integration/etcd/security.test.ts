// TLS and password auth against a real etcd: the right credentials work, and each wrong one fails
// within 5 s with an error that names the endpoint and the problem.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EtcdDatastore, type EtcdDatastoreOptions } from '../../../src/datastore/etcd.js';
import { EtcdUnavailableError, type EtcdProblem } from '../../../src/datastore/etcd-errors.js';
import { EtcdServer, STANDARD_USERS, freePort } from '../../support/etcd.js';
import { etcdOptions } from './etcd-datastore-subject.js';

const USERS = [
  ...STANDARD_USERS,
  { name: 'nobody', password: 'nobody-secret', grants: [] },
  { name: 'narrow', password: 'narrow-secret', grants: [{ prefix: '/calico/', access: 'read' as const }] },
];
const CALICO = { name: 'calico', password: 'calico-secret' };
const CALICO_AUTH = { username: CALICO.name, password: CALICO.password };

let server: EtcdServer;
before(async () => {
  server = await EtcdServer.start({ tls: true, users: USERS });
});
after(() => server?.close());

describe('etcd over TLS with auth', () => {
  test('the right CA, client certificate and password: writes, reads and watches work', async () => {
    const store = await EtcdDatastore.open(etcdOptions(server, CALICO));
    try {
      const watch = store.watch('/security/')[Symbol.asyncIterator]();
      const kv = await store.create('/security/ok', 'yes');
      assert.deepEqual(await store.get('/security/ok'), kv);
      assert.deepEqual((await watch.next()).value, { type: 'added', kv });
      await watch.return?.();
    } finally {
      await store.close();
    }
  });

  test('a watch on keys the user may not read ends with a permission-denied error, not silence', async () => {
    const store = await EtcdDatastore.open(
      etcdOptions(server, { name: 'narrow', password: 'narrow-secret' }),
    );
    try {
      const watch = store.watch('/security/')[Symbol.asyncIterator]();
      const started = Date.now();
      await assert.rejects(watch.next(), (error: unknown) => {
        assert.ok(error instanceof EtcdUnavailableError, String(error));
        assert.equal(error.problem, 'permission-denied');
        assert.match(error.message, /permission denied during watch \/security\/ from revision \d+/);
        return true;
      });
      assert.ok(Date.now() - started < 5_000);
      assert.deepEqual(await watch.next(), { value: undefined, done: true });
    } finally {
      await store.close();
    }
  });

  type Case = {
    name: string;
    options: () => Promise<EtcdDatastoreOptions>;
    /** What to do once open; undefined when open itself must fail. */
    act?: (store: EtcdDatastore) => Promise<unknown>;
    problem: EtcdProblem;
    message: RegExp;
  };
  const cases: Case[] = [
    {
      name: 'a wrong password',
      options: async () => etcdOptions(server, { name: 'calico', password: 'wrong' }),
      problem: 'authentication',
      message: /authentication failed.*check ETCD_USERNAME and ETCD_PASSWORD/,
    },
    {
      name: 'an unknown user',
      options: async () => etcdOptions(server, { name: 'mallory', password: 'x' }),
      problem: 'authentication',
      message: /authentication failed/,
    },
    {
      name: 'a CA that did not sign the server certificate',
      options: async () => ({ ...etcdOptions(server, CALICO), caFile: server.tls?.otherCaFile }),
      problem: 'tls',
      message: /certificate verify failed.*unable to verify the first certificate.*ETCD_CA_CERT_FILE/,
    },
    {
      name: 'no client certificate where the server requires one',
      options: async () => ({ endpoints: [server.endpoint], caFile: server.tls?.caFile, ...CALICO_AUTH }),
      problem: 'tls',
      message: /TLS failed.*ETCD_CERT_FILE/,
    },
    {
      name: 'a user whose role may not read our keys',
      options: async () => etcdOptions(server, { name: 'nobody', password: 'nobody-secret' }),
      problem: 'permission-denied',
      message: /permission denied during read the current revision/,
    },
    {
      name: 'a read-only user writing',
      options: async () => etcdOptions(server, { name: 'reader', password: 'reader-secret' }),
      act: (store) => store.create('/security/forbidden', 'x'),
      problem: 'permission-denied',
      message: /permission denied during create \/security\/forbidden.*grant-permission/,
    },
    {
      name: 'nothing listening at the endpoint (default timeout)',
      options: async () => ({ endpoints: [`http://127.0.0.1:${await freePort()}`] }),
      problem: 'unreachable',
      message: /is unreachable \(gave up after \d+ ms\).*ECONNREFUSED/,
    },
    {
      name: 'two endpoints, neither listening',
      options: async () => ({
        endpoints: [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`],
        timeoutMs: 1_500,
      }),
      problem: 'unreachable',
      message: /is unreachable \(gave up after \d+ ms\).*ECONNREFUSED/,
    },
  ];
  for (const { name, options, act, problem, message } of cases) {
    test(`${name}: fails within 5 s with "${problem}" naming the endpoint`, async () => {
      const resolved = await options();
      const started = Date.now();
      let store: EtcdDatastore | undefined;
      try {
        await assert.rejects(
          async () => {
            store = await EtcdDatastore.open(resolved);
            if (!act) return;
            await act(store);
          },
          (error: unknown) => {
            assert.ok(error instanceof EtcdUnavailableError, String(error));
            assert.equal(error.problem, problem, error.message);
            assert.ok(error.message.startsWith(`etcd ${resolved.endpoints.join(',')}: `), error.message);
            assert.match(error.message, message);
            return true;
          },
        );
        if (act) assert.ok(store, 'open succeeded before the refused operation');
        else assert.equal(store, undefined, 'open itself must fail');
        const elapsed = Date.now() - started;
        assert.ok(elapsed < 5_000, `took ${elapsed} ms`);
      } finally {
        await store?.close();
      }
    });
  }
});
