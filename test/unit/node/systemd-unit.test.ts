import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { quoteSystemdArgument, renderSystemdUnit } from '../../../src/node/startup/index.js';

describe('node run --init-system prints a systemd unit', () => {
  const unit = renderSystemdUnit({
    nodeName: 'compile',
    nodeCommand: ['/usr/bin/node', '/opt/calico/bin/calico-node.js', '--node', 'compile'],
    startupCommand: [
      '/usr/bin/node',
      '/opt/calico/bin/calicoctl.js',
      'node',
      'run',
      '--startup-only',
      '--name',
      'compile',
    ],
    environment: {
      SQLITE_PATH: '/var/lib/calico/datastore.sqlite',
      DATASTORE_TYPE: 'sqlite',
      IP_AUTODETECTION_METHOD: 'interface=eth.*',
      ETCD_PASSWORD: 'secret',
    },
    logFile: '/var/log/calico/calico-node.log',
    workingDirectory: '/opt/calico',
  });
  const lines = unit.split('\n');

  test('it has the three sections, in order', () => {
    assert.deepEqual(
      lines.filter((l) => l.startsWith('[')),
      ['[Unit]', '[Service]', '[Install]'],
    );
  });

  const expected: string[] = [
    'Description=calico-node for compile: Felix policy and routes, BGP',
    'ExecStartPre=/usr/bin/node /opt/calico/bin/calicoctl.js node run --startup-only --name compile',
    'ExecStart=/usr/bin/node /opt/calico/bin/calico-node.js --node compile',
    'WorkingDirectory=/opt/calico',
    'Environment=DATASTORE_TYPE=sqlite',
    'Environment="IP_AUTODETECTION_METHOD=interface=eth.*"',
    'Environment=SQLITE_PATH=/var/lib/calico/datastore.sqlite',
    'EnvironmentFile=-/etc/calico/calico.env',
    'StandardOutput=append:/var/log/calico/calico-node.log',
    'Restart=on-failure',
    'WantedBy=multi-user.target',
  ];
  for (const line of expected) test(`has "${line}"`, () => assert.ok(lines.includes(line), unit));

  test('secrets are never written into the unit, and it says where they go', () => {
    assert.ok(!unit.includes('secret'));
    assert.ok(lines.includes('# ETCD_PASSWORD: set in /etc/calico/calico.env, not here'));
  });

  test('environment lines are sorted so the unit is stable', () => {
    const names = lines
      .filter((l) => l.startsWith('Environment='))
      .map((l) => l.slice('Environment='.length).replace(/^"/, '').split('=')[0]);
    assert.deepEqual(names, ['DATASTORE_TYPE', 'IP_AUTODETECTION_METHOD', 'SQLITE_PATH']);
  });
});

describe('arguments are quoted the way systemd parses them', () => {
  const cases: [string, string][] = [
    ['--node', '--node'],
    ['/usr/bin/node', '/usr/bin/node'],
    ['has space', '"has space"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['100%', '100%%'],
    ['$HOME', '"$$HOME"'],
    ['', '""'],
  ];
  for (const [input, out] of cases)
    test(`${JSON.stringify(input)} → ${out}`, () => assert.equal(quoteSystemdArgument(input), out));
});
