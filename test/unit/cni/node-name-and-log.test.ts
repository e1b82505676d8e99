import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveNodeName } from '../../../src/cni/node-name.js';
import { DeferredLog } from '../../../src/cni/plugin-log.js';
import type { CniLogLevel } from '../../../src/cni/network-config.js';

describe('which node a container is on', () => {
  const cases: [string, { nodename?: string; file?: string }, string][] = [
    ['nodename in the configuration wins', { nodename: 'from-config', file: 'from-file\n' }, 'from-config'],
    ['else the node name file calico-node writes, trimmed', { file: '  from-file\n' }, 'from-file'],
    ['else the host name', {}, 'the-host'],
    ['an empty node name file counts as none', { file: '\n' }, 'the-host'],
  ];
  for (const [name, given, expected] of cases)
    test(name, () => {
      const node = resolveNodeName(
        {
          ...(given.nodename ? { nodename: given.nodename } : {}),
          nodenameFile: '/var/lib/calico/nodename',
          nodenameFileOptional: false,
        },
        {
          readFile: (path) => (path === '/var/lib/calico/nodename' ? given.file : undefined),
          hostname: () => 'the-host',
        },
      );
      assert.equal(node, expected);
    });
});

describe('the plugin log keeps what the level lets through', () => {
  const cases: [CniLogLevel, string[]][] = [
    ['debug', ['debug', 'info', 'warn', 'error']],
    ['info', ['info', 'warn', 'error']],
    ['warning', ['warn', 'error']],
    ['error', ['error']],
    ['none', []],
  ];
  for (const [level, expected] of cases)
    test(`at ${level}`, () => {
      // The level arrives with the configuration, after entries may already have been made.
      const log = new DeferredLog('test');
      for (const severity of ['debug', 'info', 'warn', 'error'] as const) log.log(severity, severity);
      log.setLevel(level);
      assert.deepEqual(
        log.pending().map((e) => e.msg),
        expected,
      );
    });
});
