/**
 * The lab's throwaway etcd (`calico-lab up --etcd`): where it sits on the lab's networks, and
 * starting it.
 *
 * Where it runs, and why. calico-node processes live in host namespaces, so etcd must listen on an
 * address those namespaces can reach; a loopback address of the root namespace is not one. Running
 * it inside the first host's namespace would tie the datastore's life to that host (a lab that
 * restarts a host would lose its datastore) and, in the rack topologies, hosts of other racks share
 * no network with it and could only reach it through routes that calico-node itself must first
 * learn. So etcd gets a namespace of its own, `<prefix>-ds-etcd`, attached like one more member to
 * every network that is some host's first network, at that network's last usable address: the way a
 * real cluster's etcd sits on the management network. Every host reaches it on a network it is on,
 * with no routing at all. The lab's own commands (probe, report, explain) run in the root namespace,
 * so a veth pair with a /30 from 169.254.0.0/16 (chosen free, derived from the lab's name) links the
 * root namespace to the datastore namespace as well; that address is what the state file records.
 * Nothing else listens in that namespace, so etcd keeps its standard ports 2379 and 2380.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cidrSize, formatIp, parseCidr, parseIp } from '../net/ip.js';
import { openDatastore } from '../datastore/open.js';
import type { LabScenario } from './scenario.js';
import type { Attachment, LabLayout } from './topology.js';
import type { LabState } from './state.js';

export const ETCD_CLIENT_PORT = 2379;
const ETCD_PEER_PORT = 2380;
const READY_TIMEOUT_MS = 30_000;

/** The name part after the prefix; a host or router may not use it. */
export const ETCD_MEMBER_NAME = 'ds-etcd';

export function etcdNamespace(prefix: string): string {
  return `${prefix}-${ETCD_MEMBER_NAME}`;
}

export function etcdUrl(address: string): string {
  return parseIp(address)?.family === 6
    ? `http://[${address}]:${ETCD_CLIENT_PORT}`
    : `http://${address}:${ETCD_CLIENT_PORT}`;
}

/**
 * The datastore namespace's place on each network that is some host's first one: the network's
 * last usable address (members are numbered from the start, so it stays out of their way).
 */
export function etcdAttachments(s: LabScenario): Attachment[] {
  const networks = [...new Set(s.hosts.map((h) => h.networks[0]).filter((n) => n !== undefined))];
  return networks.map((name) => {
    const net = s.networks.find((n) => n.name === name);
    const cidr = parseCidr(net?.cidr ?? '');
    if (!cidr) throw new Error(`network ${name} has no CIDR`);
    const members =
      s.hosts.filter((h) => h.networks.includes(name)).length +
      s.routers.filter((r) => r.networks.includes(name)).length;
    const size = cidrSize(cidr);
    // The network's own address, its members from 1, the datastore, and (IPv4) the broadcast.
    if (BigInt(members) + 3n > size)
      throw new Error(
        `network ${name} (${net?.cidr}) has no room for the lab's etcd after its ${members} members; use a larger CIDR`,
      );
    return {
      network: name,
      iface: `n-${name}`.slice(0, 15),
      address: formatIp({ family: cidr.family, value: cidr.address + size - 2n }),
      prefixLength: cidr.prefixLength,
    };
  });
}

/** The etcd URLs a host uses: the datastore's addresses on the networks this host is attached to. */
export function hostEtcdEndpoints(s: LabScenario, host: string): string[] {
  const h = s.hosts.find((x) => x.name === host);
  return etcdAttachments(s)
    .filter((a) => h?.networks.includes(a.network))
    .map((a) => etcdUrl(a.address));
}

/** The root namespace's end of the link to the datastore namespace: `cld` and a hash of the lab. */
export function etcdRootLinkName(lab: string): string {
  return `cld${createHash('sha1').update(lab).digest('hex').slice(0, 8)}`;
}

/**
 * A /30 of 169.254.0.0/16 for the root link that overlaps no address in `used` (the root
 * namespace's addresses), starting from a place derived from the lab's name so two labs rarely
 * even try the same one. Skips 169.254.0.x, 169.254.1.x (Calico's workload gateway 169.254.1.1)
 * and 169.254.169.x (cloud metadata). Returns the root side and the datastore side.
 */
export function chooseRootLinkSubnet(
  lab: string,
  used: readonly string[],
): { root: string; datastore: string } {
  const taken = new Set(
    used.flatMap((u) => {
      const ip = parseIp(u.split('/')[0] ?? '');
      return ip?.family === 4 ? [ip.value >> 2n] : [];
    }),
  );
  const base = 0xa9fe0000n; // 169.254.0.0
  const start = BigInt.asUintN(14, BigInt(`0x${createHash('sha1').update(lab).digest('hex').slice(0, 8)}`));
  for (let i = 0n; i < 1n << 14n; i++) {
    const quad = (start + i) % (1n << 14n);
    const third = quad >> 6n;
    if (third <= 1n || third === 169n || third === 255n) continue;
    const network = base + quad * 4n;
    if (taken.has(network >> 2n)) continue;
    return {
      root: formatIp({ family: 4, value: network + 1n }),
      datastore: formatIp({ family: 4, value: network + 2n }),
    };
  }
  throw new Error('no free /30 left in 169.254.0.0/16 for the lab datastore link');
}

/** What starting etcd needs from `up`: its namespace, link and process primitives. */
export interface LabPlumbing {
  addNamespace(ns: string): void;
  /** A veth pair between two namespaces, each end named and up. */
  link(a: { ns: string; name: string }, b: { ns: string; name: string }): void;
  inNamespace(ns: string, ...argv: string[]): string;
  /** Runs a command in the root namespace, throwing with its output on failure. */
  inRoot(...argv: string[]): string;
  startDetached(name: string, kind: 'etcd', ns: string, argv: string[], logFile: string): number;
}

export interface StartLabEtcdInput {
  readonly state: LabState;
  readonly scenario: LabScenario;
  readonly layout: LabLayout;
  readonly dir: string;
}

/**
 * Builds the datastore namespace, starts etcd in it and waits until it answers through the root
 * link. Returns what the state file records; the process is already in `state.processes`.
 */
export async function startLabEtcd(
  plumbing: LabPlumbing,
  { state, scenario, layout, dir }: StartLabEtcdInput,
): Promise<LabState['datastore']> {
  const clash = [...scenario.hosts, ...scenario.routers].find((m) => m.name === ETCD_MEMBER_NAME);
  if (clash)
    throw new Error(`"${ETCD_MEMBER_NAME}" is the lab etcd's name; rename that host or router to use --etcd`);
  if (spawnSync('sh', ['-c', 'command -v etcd']).status !== 0)
    throw new Error(
      '--etcd needs the etcd server: apt-get install etcd-server (scripts/setup.sh installs it)',
    );
  const ns = etcdNamespace(layout.prefix);
  const attachments = etcdAttachments(scenario);
  plumbing.addNamespace(ns);
  for (const a of attachments) {
    const sw = layout.switches.find((x) => x.network === a.network);
    if (!sw) continue;
    const port = `p-${ETCD_MEMBER_NAME}`;
    plumbing.link({ ns, name: a.iface }, { ns: sw.namespace, name: port });
    plumbing.inNamespace(sw.namespace, 'ip', 'link', 'set', port, 'master', 'br0');
    plumbing.inNamespace(ns, 'ip', 'addr', 'add', `${a.address}/${a.prefixLength}`, 'dev', a.iface);
  }
  const rootLink = etcdRootLinkName(state.lab);
  const used = plumbing
    .inRoot('ip', '-4', '-o', 'addr', 'show')
    .split('\n')
    .flatMap((line) => /\binet (\S+)/.exec(line)?.[1] ?? []);
  const subnet = chooseRootLinkSubnet(state.lab, used);
  // One command creates both ends with the peer already inside the namespace, so a crash cannot
  // leave a half-made pair in the root namespace; deleting the namespace deletes the pair.
  plumbing.inRoot('ip', 'link', 'add', rootLink, 'type', 'veth', 'peer', 'name', 'root', 'netns', ns);
  plumbing.inRoot('ip', 'addr', 'add', `${subnet.root}/30`, 'dev', rootLink);
  plumbing.inRoot('ip', 'link', 'set', rootLink, 'up');
  plumbing.inNamespace(ns, 'ip', 'addr', 'add', `${subnet.datastore}/30`, 'dev', 'root');
  plumbing.inNamespace(ns, 'ip', 'link', 'set', 'root', 'up');

  const dataDir = join(dir, 'etcd');
  const labUrl = etcdUrl(subnet.datastore);
  const hostUrls = attachments.map((a) => etcdUrl(a.address));
  const peerUrl = `http://127.0.0.1:${ETCD_PEER_PORT}`;
  plumbing.startDetached(
    'etcd',
    'etcd',
    ns,
    [
      'etcd',
      `--name=${state.lab}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${[etcdUrl('127.0.0.1'), labUrl, ...hostUrls].join(',')}`,
      `--advertise-client-urls=${[...hostUrls, labUrl].join(',')}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${state.lab}=${peerUrl}`,
      `--initial-cluster-token=${layout.prefix}`,
      '--logger=zap',
      '--log-level=warn',
    ],
    join(dir, 'logs', 'etcd.log'),
  );
  const datastore: LabState['datastore'] = { type: 'etcdv3', endpoints: [labUrl], dataDir };
  await waitUntilServing(datastore.endpoints);
  return datastore;
}

async function waitUntilServing(endpoints: string[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      // EtcdDatastore.open makes one request, so success means etcd serves reads through the link.
      const store = await openDatastore({
        datastoreType: 'etcdv3',
        etcdEndpoints: endpoints,
        source: 'lab etcd',
      });
      await store.close();
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(
          `the lab's etcd at ${endpoints.join(',')} did not answer within ${READY_TIMEOUT_MS / 1000} s (${(error as Error).message}); see its log, logs/etcd.log in the lab directory`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
