import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctlSandbox, type CtlResult, type CtlSandbox } from '../../support/calicoctl.js';
import { NetnsLab, requireRootAndTools } from '../../support/netns.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

/** The checksystem table as rows: CHECK → [RESULT, REQUIRED, DETAIL]. */
function rowsOf(out: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of out.split('\n').slice(1)) {
    if (!line.trim()) break;
    const [name, ...rest] = line.split(/ {2,}/);
    rows.set(name ?? '', rest);
  }
  return rows;
}

function probeNamespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.startsWith('calico-checksystem-'));
}

describe('calicoctl node checksystem on this host', () => {
  let sb: CtlSandbox;
  let lab: NetnsLab;
  let r: CtlResult;
  let kernelHasIpip = false;
  let before_ns: string[] = [];

  before(async () => {
    requireRootAndTools(['ip', 'iptables', 'ip6tables', 'ipset', 'conntrack', 'sysctl']);
    sb = ctlSandbox();
    lab = new NetnsLab();
    const ns = lab.addNamespace('ipipprobe');
    kernelHasIpip =
      lab.try(ns, 'ip', ['link', 'add', 't0', 'type', 'ipip', 'local', '192.0.2.1', 'remote', '192.0.2.2'])
        .status === 0;
    before_ns = probeNamespaces();
    r = await sb.ctl('node', 'checksystem');
  });
  after(() => {
    sb?.cleanup();
    lab?.cleanup();
  });

  test('passes: every required tool and feature is here', () => {
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    assert.match(r.out, /^System meets the requirements to run calico-node$/m);
  });

  const required: [string, RegExp][] = [
    ['iptables', /save and restore work/],
    ['ip6tables', /save and restore work/],
    ['ipset', /^ipset v/],
    ['conntrack', /conntrack works/],
    ['ipset hash:ip', /created a hash:ip set/],
    ['ipset hash:net', /created a hash:net set/],
    ['network namespaces', /created and removed/],
    ['kernel module xt_set', /built into the kernel|loaded/],
  ];
  for (const [check, detail] of required)
    test(`${check}: OK, required, ${detail.source}`, () => {
      const row = rowsOf(r.out).get(check);
      assert.ok(row, r.out);
      assert.equal(row[0], 'OK');
      assert.equal(row[1], 'yes');
      assert.match(row[2] ?? '', detail);
    });

  test('VXLAN is probed by creating a link', () => {
    assert.deepEqual(rowsOf(r.out).get('VXLAN')?.slice(0, 2), ['OK', 'no']);
  });

  test('IPIP is reported as the kernel has it, in plain words when it does not, and never blocks', () => {
    const row = rowsOf(r.out).get('IPIP');
    assert.ok(row, r.out);
    assert.equal(row[1], 'no');
    if (kernelHasIpip) assert.equal(row[0], 'OK');
    else {
      assert.equal(row[0], 'FAIL');
      assert.match(row[2] ?? '', /^IPIP is not available on this kernel \(no ipip module\); use VXLAN/);
    }
  });

  test('leaves no probe namespace behind', () => {
    assert.deepEqual(probeNamespaces(), before_ns);
  });
});

describe('calicoctl node checksystem on a host missing ipset and conntrack', () => {
  let bin: string;
  before(() => {
    requireRootAndTools(['ip', 'iptables', 'sysctl']);
    bin = mkdtempSync(join(tmpdir(), 'calico-ts-chk-path-'));
    mkdirSync(join(bin, 'bin'));
    // A PATH with ip, iptables and sysctl, but no ipset and no conntrack.
    for (const tool of [
      'ip',
      'iptables',
      'iptables-save',
      'iptables-restore',
      'ip6tables',
      'ip6tables-save',
      'ip6tables-restore',
      'sysctl',
    ]) {
      const real = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      symlinkSync(real, join(bin, 'bin', tool));
    }
  });
  after(() => rmSync(bin, { recursive: true, force: true }));

  test('fails with exit 1 and names the failed checks', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'bin/calicoctl.ts'), 'node', 'checksystem'],
      {
        cwd: ROOT,
        env: {
          PATH: join(bin, 'bin'),
          DATASTORE_TYPE: 'memory',
          CALICOCTL_DEFAULT_CONFIG: join(bin, 'none.cfg'),
        },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
    const rows = rowsOf(r.stdout);
    assert.deepEqual(rows.get('ipset')?.slice(0, 2), ['FAIL', 'yes']);
    assert.match(rows.get('ipset')?.[2] ?? '', /ipset is not installed/);
    assert.deepEqual(rows.get('conntrack')?.slice(0, 2), ['FAIL', 'yes']);
    assert.deepEqual(rows.get('iptables')?.slice(0, 2), ['OK', 'yes']);
    assert.match(
      r.stdout,
      /^System is not able to run calico-node: \d+ required checks failed \(.*ipset.*conntrack.*\)$/m,
    );
    assert.match(r.stderr, /checksystem: a required check failed/);
  });
});
