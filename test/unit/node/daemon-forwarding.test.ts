// calico-node turns on forwarding at start, for the IP versions it routes: with --no-ipv6 it leaves
// the host's IPv6 forwarding as it is, as Felix then programs nothing IPv6.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { MemoryDatastore } from '../../../src/datastore/memory.js';
import type { CommandResult, CommandRunner } from '../../../src/kernel/runner.js';
import { CalicoNode } from '../../../src/node/daemon.js';

/** Records every command; all succeed. */
class RecordingHost implements CommandRunner {
  readonly commands: string[] = [];
  run(cmd: string, args: readonly string[]): Promise<CommandResult> {
    this.commands.push([cmd, ...args].join(' '));
    return Promise.resolve({ code: 0, stdout: '', stderr: '' });
  }
}

describe('calico-node start-up forwarding', () => {
  const rows: { name: string; ipv6: boolean | undefined; sysctls: string[] }[] = [
    {
      name: 'IPv6 on by default: both families forward',
      ipv6: undefined,
      sysctls: ['sysctl -q -w net.ipv4.ip_forward=1', 'sysctl -q -w net.ipv6.conf.all.forwarding=1'],
    },
    {
      name: '--no-ipv6: only IPv4 forwarding is turned on',
      ipv6: false,
      sysctls: ['sysctl -q -w net.ipv4.ip_forward=1'],
    },
  ];
  for (const row of rows) {
    test(row.name, async () => {
      const host = new RecordingHost();
      const datastore = new MemoryDatastore();
      const node = new CalicoNode({
        nodeName: 'h1',
        datastore,
        runner: host,
        logger: pino({ level: 'silent' }),
        felix: false,
        bgp: false,
        ...(row.ipv6 !== undefined ? { ipv6: row.ipv6 } : {}),
      });
      try {
        await node.start();
        assert.deepEqual(
          host.commands.filter((c) => c.startsWith('sysctl')),
          row.sysctls,
        );
      } finally {
        await node.stop();
        await datastore.close();
      }
    });
  }
});
