import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { planTopology, type Topology } from '../../../src/lab/plan.js';
import { requireRootAndTools } from '../../support/netns.js';
import { CalicoLabCli } from './calico-lab-cli.js';

/**
 * Every BGP scenario of examples/lab: up, the expected sessions Established, the route counts the
 * planner predicts for the scenario's size, the matrix equal to the prediction, the scenario's own
 * routing property (ECMP, default-only hosts), and `down` leaving nothing behind.
 */
interface Case {
  scenario: Topology;
  sessions: number;
  plan: { hosts: number; racks: number; reflectors?: number };
  /** device kind in the plan → devices of the scenario */
  devices: Record<string, RegExp>;
  check?: (lab: string) => void;
}

const routeTable = (ns: string, prefix?: string) =>
  spawnSync('ip', ['-n', ns, 'route', 'show', ...(prefix ? [prefix] : [])], { encoding: 'utf8' }).stdout;

const CASES: Case[] = [
  { scenario: 'mesh', sessions: 20, plan: { hosts: 5, racks: 1 }, devices: { host: /^h\d$/ } },
  {
    // h1 is the reflector (a host without workloads, so it holds only its clients' blocks: the
    // plan's reflector row); h2..h4 are the plan's hosts. Each client lists its session to h1,
    // and h1 one to each client.
    scenario: 'route-reflector',
    sessions: 6,
    plan: { hosts: 3, racks: 1, reflectors: 1 },
    devices: { host: /^h[2-9]$/, 'route reflector': /^h1$/ },
  },
  {
    scenario: 'as-per-rack',
    sessions: 6,
    plan: { hosts: 6, racks: 3 },
    devices: { host: /^r\dh\d$/, ToR: /^tor\d$/, core: /^core$/ },
  },
  {
    scenario: 'as-per-server',
    sessions: 6,
    plan: { hosts: 6, racks: 3 },
    devices: { host: /^r\dh\d$/, ToR: /^tor\d$/, core: /^core$/ },
  },
  {
    scenario: 'downward-default',
    sessions: 6,
    plan: { hosts: 6, racks: 3 },
    devices: { host: /^r\dh\d$/, ToR: /^tor\d$/, core: /^core$/ },
    check: (lab) => {
      const table = routeTable(`cl-${lab}-r1h1`);
      const learned = table.split('\n').filter((l) => / proto (81|bird) /.test(l));
      assert.deepEqual(
        learned.map((l) => l.split(' ')[0]),
        ['default'],
        `a host learns only a default route:\n${table}`,
      );
    },
  },
  {
    // The reflectors are BIRD routers, one per plane; the plan's host row holds for h1..h4, where
    // each remote block is one route with a next hop on every plane.
    scenario: 'l2-planes',
    sessions: 16,
    plan: { hosts: 4, racks: 1 },
    devices: { host: /^h\d$/, 'plane reflector': /^rr\d$/ },
    check: (lab) => {
      const block = routeTable(`cl-${lab}-h1`, '10.247.0.64/26');
      const hops = block.split('\n').filter((l) => /^\s+nexthop via /.test(l));
      assert.deepEqual(
        hops.map((l) => l.trim().split(' ')[4]),
        ['n-plane1', 'n-plane2', 'n-plane3', 'n-plane4'],
        `one next hop per plane:\n${block}`,
      );
      for (const h of ['h1', 'h2', 'h3', 'h4']) {
        const table = routeTable(`cl-${lab}-${h}`);
        const learned = table.split('\n').filter((l) => / proto (81|bird) /.test(l));
        const single = learned.filter((l) => / via /.test(l));
        assert.deepEqual(single, [], `${h}: every learned block is an ECMP route over the planes:\n${table}`);
        assert.equal(learned.length, 3, `${h}: three remote blocks:\n${table}`);
      }
    },
  },
];

describe('every BGP scenario of the lab', () => {
  let calicoLab: CalicoLabCli;

  before(() => {
    requireRootAndTools(['ip', 'iptables-restore', 'ipset', 'nc', 'ping', 'bird', 'birdc']);
    calicoLab = new CalicoLabCli('calico-ts-labs-');
  });

  after(() => calicoLab?.close());

  for (const c of CASES) {
    test(`${c.scenario}: sessions up, routes as planned, matrix as predicted, nothing left after down`, async () => {
      const lab = `s${process.pid.toString(36)}${c.scenario.slice(0, 3)}`;
      const up = await calicoLab.run('up', c.scenario, '--name', lab);
      assert.equal(up.code, 0, up.err);
      try {
        let status = '';
        const deadline = Date.now() + 60_000;
        for (;;) {
          status = (await calicoLab.run('status', lab)).out;
          const established = status.split('\n').filter((l) => /^ {2}bgp .*Established/.test(l)).length;
          if (established >= c.sessions || Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 1000));
        }
        const sessionLines = status.split('\n').filter((l) => l.startsWith('  bgp '));
        assert.equal(sessionLines.filter((l) => l.includes('Established')).length, c.sessions, status);

        const plan = planTopology(c.scenario, { ...c.plan, workloadsPerHost: 1, blockSize: 26 });
        const expected = new Map(plan.devices.map((d) => [d.device, d.routes]));
        let counts = '';
        const settle = Date.now() + 30_000;
        let mismatches: string[] = [];
        do {
          counts = (await calicoLab.run('routes', '--lab', lab)).out;
          mismatches = counts
            .trim()
            .split('\n')
            .flatMap((line) => {
              const [device, n] = line.trim().split(/\s+/);
              const kind = Object.entries(c.devices).find(([, re]) => re.test(device ?? ''))?.[0];
              const want = kind ? expected.get(kind) : undefined;
              return want === undefined || Number(n) === want
                ? []
                : [`${device}: ${n} routes, plan says ${want}`];
            });
          if (mismatches.length) await new Promise((r) => setTimeout(r, 1000));
        } while (mismatches.length && Date.now() < settle);
        assert.deepEqual(mismatches, [], counts);

        const probe = await calicoLab.run('probe', lab);
        assert.match(probe.out, /all \d+ cells agree with policy explain/, probe.out);
        const rows = probe.out.split('\n').filter((l) => l.startsWith('w-'));
        assert.ok(
          rows.length > 0 && rows.every((l) => !l.includes('✗')),
          `allow-all: every cell delivers\n${probe.out}`,
        );
        c.check?.(lab);
      } finally {
        const down = await calicoLab.run('down', lab);
        assert.equal(down.code, 0, down.err);
        assert.deepEqual(calicoLab.namespacesOf(lab), []);
      }
    });
  }
});
