import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  moduleReports,
  moduleStartupLines,
  moduleState,
  readKernelModuleSources,
  type KernelModuleSources,
  type ModuleState,
} from '../../../src/node/startup/index.js';

const XT_SET = { name: 'xt_set', config: 'CONFIG_NETFILTER_XT_SET' };

describe('a module is judged from whatever the kernel offers', () => {
  const cases: { name: string; src: KernelModuleSources; expect: ModuleState }[] = [
    { name: 'listed in /proc/modules: loaded', src: { loaded: new Set(['xt_set']) }, expect: 'loaded' },
    {
      name: 'in modules.builtin: built in',
      src: { loaded: new Set(), builtin: new Set(['xt_set']) },
      expect: 'builtin',
    },
    {
      name: 'config =y (monolithic kernel, no /proc/modules): built in',
      src: { config: new Map([['CONFIG_NETFILTER_XT_SET', 'y']]) },
      expect: 'builtin',
    },
    {
      name: 'config =m and in modules.dep: loadable',
      src: {
        loaded: new Set(),
        config: new Map([['CONFIG_NETFILTER_XT_SET', 'm']]),
        available: new Set(['xt_set']),
      },
      expect: 'loadable',
    },
    {
      name: 'config =m but not installed: missing',
      src: { loaded: new Set(), config: new Map([['CONFIG_NETFILTER_XT_SET', 'm']]), available: new Set() },
      expect: 'missing',
    },
    {
      name: 'config without the option: missing',
      src: { config: new Map([['CONFIG_IP_SET', 'y']]) },
      expect: 'missing',
    },
    {
      name: 'only /sys/module knows it: built in',
      src: { sysModule: new Set(['xt_set']) },
      expect: 'builtin',
    },
    {
      name: 'every list present and none has it: missing',
      src: { loaded: new Set(), builtin: new Set(), available: new Set() },
      expect: 'missing',
    },
    { name: 'no source at all: unknown', src: {}, expect: 'unknown' },
  ];
  for (const c of cases) test(c.name, () => assert.equal(moduleState(XT_SET, c.src), c.expect));
});

describe('node run says what is missing, and never fails on a built-in', () => {
  test('a monolithic kernel without IPIP: everything built in, IPIP named plainly', () => {
    const config = new Map<string, string>();
    for (const r of moduleReports({})) if (r.module.name !== 'ipip') config.set(r.module.config, 'y');
    const lines = moduleStartupLines(moduleReports({ config }));
    assert.deepEqual(lines, [
      'Checking kernel modules: 15 of 16 present (15 built in, 0 loaded)',
      'IPIP is not available on this kernel (no ipip module); use VXLAN',
    ]);
  });

  test('a missing required module is a warning that names the kernel option', () => {
    const config = new Map<string, string>([['CONFIG_NET_IPIP', 'm']]);
    const lines = moduleStartupLines(moduleReports({ config, loaded: new Set(['ipip']) }));
    assert.ok(
      lines.includes(
        'Warning: kernel module xt_set (iptables -m set) is not available (kernel built without CONFIG_NETFILTER_XT_SET)',
      ),
      lines.join('\n'),
    );
    assert.ok(!lines.some((l) => l.includes('IPIP')));
  });
});

describe('the sources are read from the usual files', () => {
  test('proc/modules, sys/module, config.gz, modules.builtin and modules.dep', () => {
    const root = mkdtempSync(join(tmpdir(), 'calico-kmod-'));
    try {
      mkdirSync(join(root, 'proc'));
      mkdirSync(join(root, 'sys/module/ip_set'), { recursive: true });
      mkdirSync(join(root, 'lib/modules/6.1.0'), { recursive: true });
      writeFileSync(
        join(root, 'proc/modules'),
        'xt_MASQUERADE 16384 1 - Live 0x0\nip6_tables 32768 2 - Live 0x0\n',
      );
      writeFileSync(
        join(root, 'proc/config.gz'),
        gzipSync('CONFIG_VXLAN=m\n# CONFIG_NET_IPIP is not set\nCONFIG_IP_SET=y\n'),
      );
      writeFileSync(join(root, 'lib/modules/6.1.0/modules.builtin'), 'kernel/net/netfilter/xt_set.ko\n');
      writeFileSync(
        join(root, 'lib/modules/6.1.0/modules.dep'),
        'kernel/drivers/net/vxlan/vxlan.ko.xz: kernel/net/ipv4/udp_tunnel.ko.xz\n',
      );
      const src = readKernelModuleSources(root, '6.1.0');
      const state = (name: string) => moduleReports(src).find((r) => r.module.name === name)?.state;
      assert.equal(state('xt_MASQUERADE'), 'loaded');
      assert.equal(state('ip6_tables'), 'loaded');
      assert.equal(state('xt_set'), 'builtin');
      assert.equal(state('ip_set'), 'builtin');
      assert.equal(state('vxlan'), 'loadable');
      assert.equal(state('ipip'), 'missing');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('a tree with none of the files offers no source', () => {
    const root = mkdtempSync(join(tmpdir(), 'calico-kmod-'));
    try {
      assert.deepEqual(readKernelModuleSources(root, '6.1.0'), {});
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
