/**
 * Wires a workload namespace to a host namespace the way our CNI plugin does (and Calico's):
 * a veth whose host end is the `cali*` interface in the host namespace and whose workload end is
 * eth0 with a /32 (/128) address, a link route to 169.254.1.1 and the default route through it.
 * The host end has Calico's fixed MAC ee:ee:ee:ee:ee:ee and the workload a permanent neighbour entry
 * for 169.254.1.1 on it, so the gateway resolves even on a host with no default route (where proxy
 * ARP alone would stay silent: it only answers for addresses the host has a route to).
 */
import type { NetnsLab } from './netns.js';

export function attachWorkload(
  lab: NetnsLab,
  host: string,
  workload: string,
  hostIface: string,
  ip: string,
): void {
  lab.veth({ ns: host, name: hostIface }, { ns: workload, name: 'eth0' });
  lab.exec(host, 'ip', ['link', 'set', hostIface, 'address', 'ee:ee:ee:ee:ee:ee']);
  lab.exec(workload, 'ip', ['addr', 'add', `${ip}/32`, 'dev', 'eth0']);
  lab.exec(workload, 'ip', ['route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
  lab.exec(workload, 'ip', ['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
  lab.exec(workload, 'ip', [
    'neigh',
    'add',
    '169.254.1.1',
    'lladdr',
    'ee:ee:ee:ee:ee:ee',
    'dev',
    'eth0',
    'nud',
    'permanent',
  ]);
}
