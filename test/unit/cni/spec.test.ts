import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CniError, decodeResult, encodeResult, errorObject, type CniResult } from '../../../src/cni/spec.js';

const result: CniResult = {
  interfaces: [
    { name: 'cali0', mac: 'ee:ee:ee:ee:ee:ee' },
    { name: 'eth0', sandbox: '/run/netns/x' },
  ],
  ips: [
    { address: '10.0.0.1/32', interface: 1 },
    { address: 'fd00::1/128', interface: 1 },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
  dns: {},
};

describe('CNI results and errors on the wire', () => {
  const versions: [string, unknown[]][] = [
    [
      '1.0.0',
      [
        { address: '10.0.0.1/32', interface: 1 },
        { address: 'fd00::1/128', interface: 1 },
      ],
    ],
    [
      '0.4.0',
      [
        { version: '4', address: '10.0.0.1/32', interface: 1 },
        { version: '6', address: 'fd00::1/128', interface: 1 },
      ],
    ],
    [
      '0.3.1',
      [
        { version: '4', address: '10.0.0.1/32', interface: 1 },
        { version: '6', address: 'fd00::1/128', interface: 1 },
      ],
    ],
  ];
  for (const [version, ips] of versions)
    test(`a ${version} result ${version === '1.0.0' ? 'has no' : 'tags each IP with its'} version`, () => {
      const out = encodeResult(result, version as '1.0.0');
      assert.equal(out.cniVersion, version);
      assert.deepEqual(out.ips, ips);
    });

  test('a result of any version reads back into the same form', () => {
    for (const version of ['1.0.0', '0.4.0', '0.3.1'] as const)
      assert.deepEqual(decodeResult(JSON.parse(JSON.stringify(encodeResult(result, version))), 'x'), result);
  });

  test('something that is not a result is error 6 naming where it came from', () => {
    assert.throws(
      () => decodeResult({ ips: [{ gateway: '1.2.3.4' }] }, 'prevResult'),
      (e: unknown) =>
        e instanceof CniError &&
        e.code === 6 &&
        /prevResult is not a CNI result: ips\[0\] has no "address"/.test(e.message),
    );
  });

  test('the error object carries code, msg and details, and omits empty details', () => {
    assert.deepEqual(errorObject(new CniError(7, 'bad', 'fix it'), '0.4.0'), {
      cniVersion: '0.4.0',
      code: 7,
      msg: 'bad',
      details: 'fix it',
    });
    assert.deepEqual(errorObject(new CniError(3, 'gone'), '1.0.0'), {
      cniVersion: '1.0.0',
      code: 3,
      msg: 'gone',
    });
  });
});
