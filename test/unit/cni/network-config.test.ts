import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeConfigText,
  parseCalicoConfig,
  parseCalicoIpamConfig,
} from '../../../src/cni/network-config.js';
import { CniError } from '../../../src/cni/spec.js';

const minimal = { cniVersion: '1.0.0', name: 'net1', type: 'calico', ipam: { type: 'calico-ipam' } };

describe('the calico network configuration', () => {
  test('the minimal configuration takes the datastore from the environment and Calico defaults', () => {
    assert.deepEqual(parseCalicoConfig({ ...minimal }), {
      cniVersion: '1.0.0',
      name: 'net1',
      datastore: { kind: 'environment' },
      node: { nodenameFile: '/var/lib/calico/nodename', nodenameFileOptional: false },
      logLevel: 'warning',
      mtu: 1500,
      ipam: { kind: 'calico-ipam', assignIpv4: true, assignIpv6: false, ipv4Pools: [], ipv6Pools: [] },
      dns: {},
    });
  });

  test("Calico's field names: etcd with TLS files, node name, MTU, pools", () => {
    const c = parseCalicoConfig({
      ...minimal,
      etcd_endpoints: 'https://10.0.0.1:2379, https://10.0.0.2:2379',
      etcd_ca_cert_file: '/ca.pem',
      etcd_cert_file: '/cert.pem',
      etcd_key_file: '/key.pem',
      nodename: 'node-a',
      mtu: 1410,
      log_level: 'Debug',
      ipam: {
        type: 'calico-ipam',
        assign_ipv4: 'true',
        assign_ipv6: 'true',
        ipv4_pools: ['10.1.0.0/16'],
        ipv6_pools: ['v6pool'],
      },
    });
    assert.deepEqual(c.datastore, {
      kind: 'configured',
      config: {
        datastoreType: 'etcdv3',
        source: 'CNI network configuration',
        etcdEndpoints: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'],
        etcdKeyFile: '/key.pem',
        etcdCertFile: '/cert.pem',
        etcdCACertFile: '/ca.pem',
      },
    });
    assert.equal(c.node.nodename, 'node-a');
    assert.equal(c.mtu, 1410);
    assert.equal(c.logLevel, 'debug');
    assert.deepEqual(c.ipam, {
      kind: 'calico-ipam',
      assignIpv4: true,
      assignIpv6: true,
      ipv4Pools: ['10.1.0.0/16'],
      ipv6Pools: ['v6pool'],
    });
  });

  test('another IPAM plugin is delegated to, its section left to it', () => {
    const c = parseCalicoConfig({
      ...minimal,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.9.0.0/24' }]] },
    });
    assert.deepEqual(c.ipam, { kind: 'delegated', type: 'host-local' });
  });

  const rejected: [string, Record<string, unknown>, number, RegExp][] = [
    [
      'an unknown field',
      { ...minimal, colour: 'blue' },
      2,
      /colour is not a field the calico plugin understands/,
    ],
    ['log_file_path (not implemented)', { ...minimal, log_file_path: '/x' }, 2, /log_file_path/],
    [
      'an unknown ipam field',
      { ...minimal, ipam: { type: 'calico-ipam', subnet: 'usePodCidr' } },
      2,
      /ipam\.subnet/,
    ],
    ['no cniVersion', { ...minimal, cniVersion: undefined }, 7, /cniVersion is missing/],
    [
      'an unsupported cniVersion',
      { ...minimal, cniVersion: '0.2.0' },
      1,
      /cniVersion "0.2.0" is not supported/,
    ],
    ['an uppercase network name', { ...minimal, name: 'Net1' }, 7, /name "Net1" is not valid/],
    ['a type other than calico', { ...minimal, type: 'bridge' }, 7, /type "bridge"/],
    ['no ipam section', { ...minimal, ipam: undefined }, 7, /ipam/],
    ['an MTU too small', { ...minimal, mtu: 20 }, 7, /mtu 20/],
    ['an MTU as text', { ...minimal, mtu: '1500' }, 7, /mtu "1500"/],
    [
      'datastore_type etcdv2',
      { ...minimal, datastore_type: 'etcdv2', etcd_endpoints: 'http://x:2379' },
      7,
      /etcdv3/,
    ],
    ['etcdv3 without endpoints', { ...minimal, datastore_type: 'etcdv3' }, 7, /etcd_endpoints/],
    ['sqlite without a path', { ...minimal, datastore_type: 'sqlite' }, 7, /sqlite_path/],
    [
      'assign_ipv4 as "yes"',
      { ...minimal, ipam: { type: 'calico-ipam', assign_ipv4: 'yes' } },
      7,
      /assign_ipv4/,
    ],
    [
      'neither family',
      { ...minimal, ipam: { type: 'calico-ipam', assign_ipv4: 'false' } },
      7,
      /at least one/,
    ],
    ['pools not a list', { ...minimal, ipam: { type: 'calico-ipam', ipv4_pools: 'p1' } }, 7, /ipv4_pools/],
    ['an unknown log level', { ...minimal, log_level: 'loud' }, 7, /log_level "loud"/],
  ];
  for (const [name, doc, code, message] of rejected)
    test(`${name} is CNI error ${code}`, () => {
      assert.throws(
        () => parseCalicoConfig(doc),
        (e: unknown) => e instanceof CniError && e.code === code && message.test(e.message + ' ' + e.details),
      );
    });

  test('stdin that is not JSON is error 6, JSON that is not an object error 7', () => {
    assert.throws(
      () => decodeConfigText('{'),
      (e: unknown) => e instanceof CniError && e.code === 6,
    );
    assert.throws(
      () => decodeConfigText('[1]'),
      (e: unknown) => e instanceof CniError && e.code === 7,
    );
  });

  test('calico-ipam under another main plugin ignores that plugin’s fields but checks its own section', () => {
    const bridge = {
      cniVersion: '0.4.0',
      name: 'br',
      type: 'bridge',
      bridge: 'cni0',
      isGateway: true,
      nodename: 'n1',
    };
    const c = parseCalicoIpamConfig({ ...bridge, ipam: { type: 'calico-ipam', ipv4_pools: ['p'] } });
    assert.deepEqual([c.name, c.node.nodename, c.ipam.ipv4Pools], ['br', 'n1', ['p']]);
    assert.throws(
      () => parseCalicoIpamConfig({ ...bridge, ipam: { type: 'calico-ipam', range: 'x' } }),
      (e: unknown) => e instanceof CniError && e.code === 2,
    );
    assert.throws(
      () => parseCalicoIpamConfig({ ...bridge, ipam: { type: 'host-local' } }),
      (e: unknown) => e instanceof CniError && e.code === 7,
    );
  });
});
