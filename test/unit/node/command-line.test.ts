/**
 * calico-node's command line: the plain reader (node:util parseArgs) and commander agree on every
 * command line the plain reader accepts, and the plain reader hands everything else to commander.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  parseCalicoNodeCommandLine,
  parsePlainCommandLine,
  parseWithCommander,
} from '../../../src/node/command-line.js';

const ENV = { FELIX_HEALTHPORT: '9199', LOGLEVEL: 'debug' };

/** Collects what commander prints instead of letting it reach the test's output. */
function captured(): {
  text: () => string;
  output: { writeOut(t: string): void; writeErr(t: string): void };
} {
  let text = '';
  return { text: () => text, output: { writeOut: (t) => (text += t), writeErr: (t) => (text += t) } };
}

describe('calico-node command line', () => {
  const PLAIN = [
    {
      argv: [],
      want: { felix: true, bgp: true, cniServer: true, healthPort: '9199', ipv6: true, logLevel: 'debug' },
    },
    {
      argv: ['--node', 'h1', '--no-felix', '--no-ipv6', '--health-port', '0', '--log-level', 'warn'],
      want: {
        node: 'h1',
        felix: false,
        bgp: true,
        cniServer: true,
        healthPort: '0',
        ipv6: false,
        logLevel: 'warn',
      },
    },
    {
      argv: ['--node=h2', '-c', '/etc/calico/calicoctl.cfg', '--no-bgp', '--no-cni-server'],
      want: {
        node: 'h2',
        config: '/etc/calico/calicoctl.cfg',
        felix: true,
        bgp: false,
        cniServer: false,
        healthPort: '9199',
        ipv6: true,
        logLevel: 'debug',
      },
    },
    {
      argv: ['-cstore.cfg', '--refresh-interval', '500', '--node', 'a', '--node', 'b'],
      want: {
        node: 'b',
        config: 'store.cfg',
        refreshInterval: '500',
        felix: true,
        bgp: true,
        cniServer: true,
        healthPort: '9199',
        ipv6: true,
        logLevel: 'debug',
      },
    },
  ];
  for (const row of PLAIN) {
    test(`${JSON.stringify(row.argv)} is read without commander, as commander reads it`, async () => {
      assert.deepEqual(parsePlainCommandLine(row.argv, ENV), row.want);
      assert.deepEqual(await parseWithCommander(row.argv, ENV, captured().output), row.want);
    });
  }

  const DECLINED = [
    { argv: ['--help'], why: 'help is commander’s to print' },
    { argv: ['-h'], why: 'short help too' },
    { argv: ['--felix'], why: 'only --no-felix exists' },
    { argv: ['--no-felix=false'], why: 'a switch takes no value' },
    { argv: ['--node'], why: 'a missing value is an error' },
    { argv: ['--node', '-x'], why: 'a value that looks like an option' },
    { argv: ['--nodes', 'x'], why: 'an unknown option' },
    { argv: ['extra'], why: 'a positional argument' },
  ];
  for (const row of DECLINED) {
    test(`${JSON.stringify(row.argv)} goes to commander (${row.why})`, () => {
      assert.equal(parsePlainCommandLine(row.argv, ENV), undefined);
    });
  }

  const COMMANDER = [
    { argv: ['--help'], prints: /^Usage: calico-node \[options\][\s\S]*--no-felix +do not run Felix/ },
    { argv: ['--felix'], prints: /^error: unknown option '--felix'/ },
    { argv: ['--node'], prints: /^error: option '--node <name>' argument missing/ },
    { argv: ['extra'], prints: /^error: too many arguments/ },
  ];
  for (const row of COMMANDER) {
    test(`${JSON.stringify(row.argv)}: commander prints ${row.prints} and calico-node exits 2`, async () => {
      const out = captured();
      assert.equal(await parseCalicoNodeCommandLine(row.argv, ENV, out.output), undefined);
      assert.match(out.text(), row.prints);
    });
  }

  test('over generated command lines, the plain reader either declines or agrees with commander', async () => {
    const token = fc.oneof(
      fc.constantFrom(
        '--node',
        '--no-felix',
        '--no-bgp',
        '--no-cni-server',
        '-c',
        '--config',
        '--health-port',
        '--refresh-interval',
        '--no-ipv6',
        '--log-level',
        '--felix',
        '--',
        '-',
        '-h',
        '--help',
        '',
        '=',
        '-c=x',
        '--node=',
        '--node=-x',
        '--health-port=0',
        '--no-ipv6=1',
        '-cx',
        '-x',
      ),
      fc.stringMatching(/^[a-z0-9.\-=]{0,6}$/),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(token, { maxLength: 6 }), async (argv) => {
        const plain = parsePlainCommandLine(argv, ENV);
        if (plain === undefined) return;
        assert.deepEqual(await parseWithCommander(argv, ENV, captured().output), plain);
      }),
      { numRuns: 500 },
    );
  });
});
