// The parts of the etcd backend that need no server: error classification, key ranges, the timeout
// setting, watch event translation; and the migration file format.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IEvent, IKeyValue } from 'etcd3';
import { parseEtcdTimeout } from '../../../src/datastore/etcd-connection.js';
import { classifyEtcdFailure, etcdFailure, type EtcdProblem } from '../../../src/datastore/etcd-errors.js';
import { keyAfter, prefixRange } from '../../../src/datastore/etcd-keys.js';
import { toWatchEvent } from '../../../src/datastore/etcd-watch.js';
import { MigrationError, parseExport } from '../../../src/datastore/migration.js';

describe('classifyEtcdFailure: what etcd3/gRPC messages mean', () => {
  const cases: ReadonlyArray<{ message: string; problem: EtcdProblem }> = [
    {
      message: '3 INVALID_ARGUMENT: etcdserver: authentication failed, invalid user ID or password',
      problem: 'authentication',
    },
    { message: '7 PERMISSION_DENIED: etcdserver: permission denied', problem: 'permission-denied' },
    {
      message:
        '14 UNAVAILABLE: No connection established. Last error: Error: unable to verify the first certificate. Resolution note: ',
      problem: 'tls',
    },
    {
      message:
        '14 UNAVAILABLE: No connection established. Last error: 80ACCD0F0C7F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate',
      problem: 'tls',
    },
    {
      message:
        '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1.',
      problem: 'unreachable',
    },
    { message: '14 UNAVAILABLE: Connection dropped', problem: 'unreachable' },
    { message: '4 DEADLINE_EXCEEDED: Deadline exceeded after 4.001s', problem: 'timeout' },
    {
      message: '14 UNAVAILABLE: etcdserver: request timed out, possibly due to previous leader failure',
      problem: 'timeout',
    },
    { message: '14 UNAVAILABLE: etcdserver: leader changed', problem: 'timeout' },
    { message: '14 UNAVAILABLE: etcdserver: no leader', problem: 'unreachable' },
    { message: '8 RESOURCE_EXHAUSTED: etcdserver: too many requests', problem: 'refused' },
  ];
  for (const { message, problem } of cases) {
    test(`"${message.replace(/^.*Last error: /, '').slice(0, 60)}" is ${problem}`, () => {
      assert.equal(classifyEtcdFailure(message), problem);
    });
  }

  test('the user-facing message names the endpoint, the problem, the operation, the cause and the fix', () => {
    const error = etcdFailure(
      'unreachable',
      '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379. Resolution note: ',
      { endpoints: ['http://127.0.0.1:2379'], operation: 'get /calico/x', timeoutMs: 4_000 },
      4_012,
    );
    assert.equal(
      error.message,
      'etcd http://127.0.0.1:2379: is unreachable (gave up after 4012 ms) during get /calico/x: connect ECONNREFUSED 127.0.0.1:2379; check that etcd is running and that ETCD_ENDPOINTS names it (scheme, host and port)',
    );
  });
});

describe('prefixRange and keyAfter: prefixes as etcd byte ranges', () => {
  const cases: ReadonlyArray<{ prefix: string; end: number[] }> = [
    { prefix: '/a/', end: [...Buffer.from('/a0')] },
    { prefix: 'a', end: [0x62] },
    // U+00FF is c3 bf in UTF-8: the last byte is incremented, not the code point.
    { prefix: '\u00ff', end: [0xc3, 0xc0] },
    // U+FFFF is ef bf bf; U+10FFFF is f4 8f bf bf: trailing 0xff bytes never occur in UTF-8.
    { prefix: '\u{10ffff}', end: [0xf4, 0x8f, 0xbf, 0xc0] },
    // The empty prefix is every key: etcd spells "to the end" as a single zero byte.
    { prefix: '', end: [0] },
  ];
  for (const { prefix, end } of cases) {
    test(`"${prefix}" ends at [${end.map((b) => b.toString(16)).join(' ')}]`, () => {
      const range = prefixRange(prefix);
      assert.deepEqual([...range.key], [...Buffer.from(prefix, 'utf8')]);
      assert.deepEqual([...range.range_end], end);
    });
  }

  test('the next page starts at the last key plus a zero byte', () => {
    assert.deepEqual([...keyAfter(Buffer.from('/k'))], [0x2f, 0x6b, 0]);
  });
});

describe('parseEtcdTimeout (ETCD_TIMEOUT)', () => {
  const cases: ReadonlyArray<{ raw: string; ms: number | 'error' }> = [
    { raw: '5', ms: 5_000 },
    { raw: '5s', ms: 5_000 },
    { raw: '1500ms', ms: 1_500 },
    { raw: '0.5s', ms: 500 },
    { raw: '2m', ms: 120_000 },
    { raw: '0', ms: 'error' },
    { raw: 'soon', ms: 'error' },
    { raw: '-1s', ms: 'error' },
  ];
  for (const { raw, ms } of cases) {
    test(`"${raw}" is ${ms === 'error' ? 'refused' : `${ms} ms`}`, () => {
      if (ms === 'error') assert.throws(() => parseEtcdTimeout(raw), /ETCD_TIMEOUT/);
      else assert.equal(parseEtcdTimeout(raw), ms);
    });
  }
});

describe('toWatchEvent: etcd watch events as ours', () => {
  const kv = (key: string, value: string, mod: number, version: number): IKeyValue => ({
    key: Buffer.from(key),
    value: Buffer.from(value),
    mod_revision: String(mod),
    create_revision: String(mod - version + 1),
    version: String(version),
    lease: '0',
  });
  const cases: ReadonlyArray<{ name: string; event: IEvent; expected: unknown }> = [
    {
      name: 'a put at version 1 is an add',
      event: { type: 'Put', kv: kv('/k', 'a', 5, 1), prev_kv: null as unknown as IKeyValue },
      expected: { type: 'added', kv: { key: '/k', value: 'a', revision: 5 } },
    },
    {
      name: 'a later put is a modification carrying the previous value',
      event: { type: 'Put', kv: kv('/k', 'b', 7, 2), prev_kv: kv('/k', 'a', 5, 1) },
      expected: {
        type: 'modified',
        kv: { key: '/k', value: 'b', revision: 7 },
        prev: { key: '/k', value: 'a', revision: 5 },
      },
    },
    {
      name: 'a later put whose previous value was compacted is still a modification',
      event: { type: 'Put', kv: kv('/k', 'c', 9, 3), prev_kv: null as unknown as IKeyValue },
      expected: { type: 'modified', kv: { key: '/k', value: 'c', revision: 9 } },
    },
    {
      name: 'a delete carries its own revision and what was deleted',
      event: { type: 'Delete', kv: kv('/k', '', 11, 0), prev_kv: kv('/k', 'c', 9, 3) },
      expected: { type: 'deleted', key: '/k', revision: 11, prev: { key: '/k', value: 'c', revision: 9 } },
    },
  ];
  for (const { name, event, expected } of cases) {
    test(name, () => assert.deepEqual(toWatchEvent(event), expected));
  }
});

describe('parseExport: the migration file', () => {
  const header = (count: number, extra: object = {}) =>
    JSON.stringify({
      kind: 'CalicoDatastoreExport',
      version: 1,
      source: 'sqlite',
      revision: 9,
      prefix: '/calico/',
      count,
      ...extra,
    });
  const entry = (key: string) => JSON.stringify({ key, value: '{}' });

  test('reads the header and the entries', () => {
    const parsed = parseExport([header(2), entry('/calico/a'), entry('/calico/b'), ''].join('\n'));
    assert.equal(parsed.header.revision, 9);
    assert.deepEqual(
      parsed.entries.map((e) => e.key),
      ['/calico/a', '/calico/b'],
    );
  });

  const broken: ReadonlyArray<{ name: string; text: string; message: RegExp }> = [
    { name: 'an empty file', text: '', message: /is empty/ },
    { name: 'YAML instead of an export', text: 'kind: IPPool\n', message: /line 1: not JSON/ },
    { name: 'another JSON document', text: '{"kind":"List"}\n', message: /line 1: not a datastore export/ },
    { name: 'a newer format', text: header(0, { version: 2 }) + '\n', message: /version 2 is not supported/ },
    {
      name: 'a truncated file',
      text: [header(3), entry('/calico/a')].join('\n'),
      message: /holds 1 entries but its header says 3/,
    },
    {
      name: 'a key outside the prefix',
      text: [header(1), entry('/other/a')].join('\n'),
      message: /line 2: key \/other\/a is outside the exported prefix/,
    },
    {
      name: 'an entry without a value',
      text: [header(1), '{"key":"/calico/a"}'].join('\n'),
      message: /line 2: expected \{"key": string, "value": string\}/,
    },
  ];
  for (const { name, text, message } of broken) {
    test(`${name} is refused with the line named`, () => {
      assert.throws(
        () => parseExport(text, 'export.jsonl'),
        (error: unknown) => error instanceof MigrationError && message.test(error.message),
      );
    });
  }
});
