/**
 * The route-scale planner (pure): for a data centre of a given size, how many routes and BGP
 * sessions each kind of device holds under each of the seed's topologies. The seed's worry is that
 * some device must hold a route per container; per-host IPAM blocks turn that into a route per
 * block, and "Downward Default" keeps most devices down to a handful. The lab's measured counts at
 * small size are checked against these formulas.
 *
 * Definitions: a host's routes are its Calico routes (one per local workload, one blackhole per
 * own block, one per remote block it learns); a router's are its BGP routes. A session counts once
 * per device that terminates it.
 */

export const TOPOLOGIES = [
  'mesh',
  'route-reflector',
  'as-per-rack',
  'as-per-server',
  'downward-default',
  'l2-planes',
] as const;
export type Topology = (typeof TOPOLOGIES)[number];

export interface PlanInput {
  readonly hosts: number;
  readonly racks: number;
  readonly workloadsPerHost: number;
  readonly blockSize: number;
  /** Route reflectors in the route-reflector topology (the seed's "one or more"). */
  readonly reflectors?: number;
  /** Parallel L2 planes in l2-planes (the seed's four). */
  readonly planes?: number;
}

export interface DeviceLoad {
  readonly device: string;
  readonly count: number;
  readonly routes: number;
  readonly sessions: number;
}

export interface TopologyPlan {
  readonly topology: Topology;
  readonly devices: readonly DeviceLoad[];
  readonly totalSessions: number;
}

export function blocksPerHost(workloadsPerHost: number, blockSize: number): number {
  const perBlock = 2 ** (32 - blockSize);
  return Math.max(1, Math.ceil(workloadsPerHost / perBlock));
}

export function planTopology(topology: Topology, input: PlanInput): TopologyPlan {
  const { hosts, racks, workloadsPerHost } = input;
  const own = blocksPerHost(workloadsPerHost, input.blockSize);
  const blocks = hosts * own;
  const perRack = Math.ceil(hosts / Math.max(1, racks));
  /** A host that learns every other host's blocks. */
  const fullHost = workloadsPerHost + own + (blocks - own);
  /** A host that learns only a default route. */
  const defaultHost = workloadsPerHost + own + 1;
  const host = (routes: number, sessions: number): DeviceLoad => ({
    device: 'host',
    count: hosts,
    routes,
    sessions,
  });
  switch (topology) {
    case 'mesh':
      return { topology, devices: [host(fullHost, hosts - 1)], totalSessions: (hosts * (hosts - 1)) / 2 };
    case 'route-reflector': {
      const rr = input.reflectors ?? 2;
      return {
        topology,
        devices: [
          host(fullHost, rr),
          { device: 'route reflector', count: rr, routes: blocks, sessions: hosts + rr - 1 },
        ],
        totalSessions: hosts * rr + (rr * (rr - 1)) / 2,
      };
    }
    case 'as-per-rack':
    case 'as-per-server':
      // Hosts peer with their ToR; ToRs peer with the core (the seed's L3-connected ToRs).
      return {
        topology,
        devices: [
          host(fullHost, 1),
          { device: 'ToR', count: racks, routes: blocks, sessions: perRack + 1 },
          { device: 'core', count: 1, routes: blocks, sessions: racks },
        ],
        totalSessions: hosts + racks,
      };
    case 'downward-default':
      return {
        topology,
        devices: [
          host(defaultHost, 1),
          { device: 'ToR', count: racks, routes: perRack * own + 1, sessions: perRack + 1 },
          { device: 'core', count: 1, routes: blocks, sessions: racks },
        ],
        totalSessions: hosts + racks,
      };
    case 'l2-planes': {
      const planes = input.planes ?? 4;
      // One route reflector per plane (the seed's "one node as RR"; here a router of its own), every
      // host its client on every plane. A remote block is one route with one next hop per plane (ECMP).
      return {
        topology,
        devices: [
          host(fullHost, planes),
          { device: 'plane reflector', count: planes, routes: blocks, sessions: hosts },
        ],
        totalSessions: planes * hosts,
      };
    }
    default: {
      const never: never = topology;
      throw new Error(`unknown topology ${String(never)}`);
    }
  }
}

export function formatPlans(input: PlanInput, plans: readonly TopologyPlan[]): string {
  const lines = [
    `${input.hosts} hosts in ${input.racks} racks, ${input.workloadsPerHost} workloads per host, /${input.blockSize} blocks (${blocksPerHost(input.workloadsPerHost, input.blockSize)} per host); without blocks a full table would hold ${input.hosts * input.workloadsPerHost} routes`,
    '',
    `${'TOPOLOGY'.padEnd(18)}${'DEVICE'.padEnd(26)}${'COUNT'.padStart(7)}${'ROUTES EACH'.padStart(13)}${'SESSIONS EACH'.padStart(15)}`,
  ];
  for (const p of plans) {
    p.devices.forEach((d, i) =>
      lines.push(
        `${(i === 0 ? p.topology : '').padEnd(18)}${d.device.padEnd(26)}${String(d.count).padStart(7)}${String(d.routes).padStart(13)}${String(d.sessions).padStart(15)}`,
      ),
    );
    lines.push(`${''.padEnd(18)}${'(BGP sessions in all)'.padEnd(26)}${String(p.totalSessions).padStart(7)}`);
  }
  return lines.join('\n') + '\n';
}
