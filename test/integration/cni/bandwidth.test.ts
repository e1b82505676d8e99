/**
 * Chaining: `calico` followed by the reference `bandwidth` and `portmap` plugins in one .conflist,
 * run as libcni runs a list. The bandwidth limit the runtime passes for a container holds on real
 * traffic (iperf3, within 20 %), while traffic the limit does not cover runs far faster; DEL through
 * the list removes the shaping devices, the port mapping and the container's network.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireRootAndTools, type NetnsLab } from '../../support/netns.js';
import { ConflistRuntime, type Conflist, type ContainerRef } from './cni-runtime.js';
import { openCniTestHost, type CniTestHost } from './cni-test-host.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EGRESS_RATE = 20_000_000; // bits per second
const EGRESS_BURST = 400_000; // bits

describe('calico chained with bandwidth and portmap', () => {
  let host: CniTestHost;
  let lab: NetnsLab;
  let hostNs: string;
  let runtime: ConflistRuntime;
  const servers: ChildProcess[] = [];
  const containers: { ref: ContainerRef; ns: string; result: Record<string, unknown>; ip: string }[] = [];

  async function addContainer(short: string, capabilityArgs: Record<string, unknown>) {
    const ns = lab.addNamespace(short);
    const ref: ContainerRef = { id: `${short}${lab.prefix}`, netns: `/run/netns/${ns}`, capabilityArgs };
    const result = await runtime.add(ref);
    const ip = String((result.ips as { address: string }[])[0]?.address).replace('/32', '');
    const c = { ref, ns, result, ip };
    containers.push(c);
    return c;
  }

  function iperfServer(ns: string): void {
    const child = spawn('ip', ['netns', 'exec', ns, 'iperf3', '-s', '-p', '5201'], { stdio: 'ignore' });
    servers.push(child);
  }

  async function throughput(fromNs: string, to: string, reverse: boolean): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const out = execFileSync(
          'ip',
          [
            'netns',
            'exec',
            fromNs,
            'iperf3',
            '-c',
            to,
            '-p',
            '5201',
            '-t',
            '4',
            '-O',
            '1',
            '-J',
            ...(reverse ? ['-R'] : []),
          ],
          { encoding: 'utf8', timeout: 30_000 },
        );
        return (JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received
          .bits_per_second;
      } catch (e) {
        if (attempt >= 10) throw e;
        await new Promise((r) => setTimeout(r, 300)); // the server may still be starting
      }
    }
  }

  before(async () => {
    requireRootAndTools(['ip', 'nsenter', 'iperf3', 'tc', 'iptables']);
    host = await openCniTestHost({
      tmpPrefix: 'calico-ts-cni-bw-',
      pools: [{ name: 'bwpool', cidr: '10.55.0.0/24', blockSize: 28 }],
      forwarding: ['ipv4'],
    });
    ({ lab, hostNs } = host);
    const example = JSON.parse(
      readFileSync(join(ROOT, 'examples/cni/calico-bandwidth-portmap.conflist'), 'utf8'),
    ) as Conflist;
    // The example as shipped, pointed at this test's store and node, with every pool allowed.
    const [calico, ...rest] = example.plugins;
    const conflist: Conflist = {
      ...example,
      plugins: [{ ...calico, ...host.calicoPlugin('bw-node') }, ...rest],
    };
    runtime = new ConflistRuntime(conflist, [host.bin, '/usr/lib/cni'], hostNs);
  });

  after(async () => {
    for (const s of servers) s.kill('SIGKILL');
    for (const c of containers) await runtime.del(c.ref, c.result).catch(() => undefined);
    await host?.close();
  });

  test(`a container limited to ${EGRESS_RATE / 1e6} Mbit/s egress sends at that rate (±20 %), and receives unlimited`, async (t) => {
    const server = await addContainer('srv', {});
    const client = await addContainer('cli', {
      bandwidth: { egressRate: EGRESS_RATE, egressBurst: EGRESS_BURST },
    });
    iperfServer(server.ns);
    const limited = await throughput(client.ns, server.ip, false);
    const unlimited = await throughput(client.ns, server.ip, true);
    t.diagnostic(
      `egress ${(limited / 1e6).toFixed(2)} Mbit/s (limit ${EGRESS_RATE / 1e6}), ingress ${(unlimited / 1e6).toFixed(0)} Mbit/s`,
    );
    assert.ok(
      Math.abs(limited - EGRESS_RATE) <= 0.2 * EGRESS_RATE,
      `egress measured ${(limited / 1e6).toFixed(1)} Mbit/s, configured ${EGRESS_RATE / 1e6}`,
    );
    assert.ok(
      unlimited > 3 * EGRESS_RATE,
      `the other direction is not limited: ${(unlimited / 1e6).toFixed(1)} Mbit/s`,
    );
  });

  test('portmap received the container address from calico and maps the host port to it', async () => {
    const web = await addContainer('web', {
      portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }],
    });
    const nat = lab.exec(hostNs, 'iptables-save', ['-t', 'nat']);
    assert.match(
      nat,
      new RegExp(`--dport 18080 -j DNAT --to-destination ${web.ip.replace(/\./g, '\\.')}:80`),
    );
  });

  test('DEL through the list removes the shaping, the port mapping and the container network', async () => {
    for (const c of containers.splice(0)) await runtime.del(c.ref, c.result);
    const links = lab.exec(hostNs, 'ip', ['-o', 'link']);
    assert.doesNotMatch(links, /cali[0-9a-f]{11}|bwp/);
    assert.doesNotMatch(lab.exec(hostNs, 'iptables-save', ['-t', 'nat']), /dport 18080/);
    assert.deepEqual(await host.resources.list('WorkloadEndpoint'), []);
  });
});
