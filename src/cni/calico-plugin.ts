/**
 * The `calico` plugin's three container commands, over injected parts (datastore client, address
 * source, kernel dataplane, log), so every path, failures included, runs in unit tests.
 *
 * ADD is a short transaction without a transaction manager: each step that changes something
 * registers how to undo it before it runs (addresses → release, veth → delete), and a failure at any
 * step runs the undos in reverse, so a failed ADD holds no address, leaves no interface and writes no
 * endpoint. The endpoint is written last: Felix acts on it, so it must only appear for a container
 * whose network is complete. ADD for a container that already has its endpoint re-uses the endpoint's
 * addresses and repairs the veth if needed (runtimes retry ADD).
 *
 * DEL tries every step even after one fails (so as much as possible is freed) and then reports the
 * first failure, so the runtime retries; DEL of something already gone succeeds, as the spec requires.
 */
import type { Profile, WorkloadEndpoint } from '../api/types.js';
import type { ResourceClient } from '../datastore/resources.js';
import type { AddressSource } from './address-source.js';
import { hostPrefix } from './address-source.js';
import { networkProfileFor, workloadEndpointFor } from './endpoint-record.js';
import type { CniInvocation } from './environment.js';
import type { CalicoNetworkConfig } from './network-config.js';
import type { CniLog } from './plugin-log.js';
import {
  CniError,
  CniErrorCode,
  decodeResult,
  ipFamilyOf,
  type CniIpConfig,
  type CniResult,
  type CniRoute,
} from './spec.js';
import {
  HOST_SIDE_MAC,
  IPV4_GATEWAY,
  IPV6_GATEWAY,
  type VethWiring,
  type WorkloadDataplane,
} from './veth-wiring.js';
import { workloadIdentity, type WorkloadIdentity } from './workload-identity.js';

export interface CalicoPluginContext {
  readonly invocation: CniInvocation;
  readonly config: CalicoNetworkConfig;
  readonly node: string;
  readonly resources: ResourceClient;
  readonly addresses: AddressSource;
  readonly dataplane: WorkloadDataplane;
  readonly log: CniLog;
  /**
   * Where this process opens the container's namespace, when CNI_NETNS is a path only in the
   * caller's mount namespace (calico-node's CNI server: `/proc/<shim pid>/fd/<n>`). Results still
   * name CNI_NETNS.
   */
  readonly kernelNetns?: string;
}

function datastoreFailure(e: unknown, what: string): CniError {
  if (e instanceof CniError) return e;
  return new CniError(
    CniErrorCode.DatastoreFailure,
    `${what}: ${(e as Error).message}`,
    'check the datastore settings in the network configuration (datastore_type, sqlite_path, etcd_endpoints) and that it is reachable',
  );
}

function wiringFor(ctx: CalicoPluginContext, id: WorkloadIdentity, addresses: readonly string[]): VethWiring {
  return {
    hostIface: id.hostIface,
    containerIface: ctx.invocation.ifname,
    netns: ctx.kernelNetns ?? ctx.invocation.netns,
    containerMac: id.containerMac,
    mtu: ctx.config.mtu,
    addresses,
  };
}

function resultFor(ctx: CalicoPluginContext, id: WorkloadIdentity, addresses: readonly string[]): CniResult {
  const ips: CniIpConfig[] = addresses.map((address) => ({ address, interface: 1 }));
  const routes: CniRoute[] = [];
  if (addresses.some((a) => ipFamilyOf(a) === '4')) routes.push({ dst: '0.0.0.0/0', gw: IPV4_GATEWAY });
  if (addresses.some((a) => ipFamilyOf(a) === '6')) routes.push({ dst: '::/0', gw: IPV6_GATEWAY });
  return {
    // The host side is listed without a sandbox: chained plugins (bandwidth) find it there.
    interfaces: [
      { name: id.hostIface, mac: HOST_SIDE_MAC },
      { name: ctx.invocation.ifname, mac: id.containerMac, sandbox: ctx.invocation.netns },
    ],
    ips,
    routes,
    dns: ctx.config.dns,
  };
}

async function readEndpoint(
  ctx: CalicoPluginContext,
  id: WorkloadIdentity,
): Promise<WorkloadEndpoint | undefined> {
  try {
    return await ctx.resources.get('WorkloadEndpoint', id.endpointName, id.namespace);
  } catch (e) {
    throw datastoreFailure(e, `reading WorkloadEndpoint ${id.namespace}/${id.endpointName}`);
  }
}

async function ensureNetworkProfile(ctx: CalicoPluginContext): Promise<void> {
  const name = ctx.config.name;
  try {
    if (await ctx.resources.get('Profile', name)) return;
    await ctx.resources.create<Profile>(networkProfileFor(name));
  } catch (e) {
    // Another ADD on this network created it first: that is the outcome we wanted.
    if ((e as Error).name === 'ResourceExistsError') return;
    throw datastoreFailure(e, `creating Profile ${name} for the network`);
  }
}

/** Wires the veth; an interface left by an earlier container with the same identity is replaced once. */
async function attachReplacingStale(ctx: CalicoPluginContext, wiring: VethWiring): Promise<void> {
  try {
    await ctx.dataplane.attach(wiring);
  } catch (e) {
    if (!(e instanceof CniError) || !/already exists/.test(e.details)) throw e;
    ctx.log.log('warn', 'replacing a stale host interface', { iface: wiring.hostIface });
    await ctx.dataplane.detach(wiring.hostIface);
    await ctx.dataplane.attach(wiring);
  }
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',');

/**
 * A repeated ADD with `IP=` must ask for the addresses the container already has: answering with
 * other addresses than the runtime asked for would be a silent lie, and moving a live container
 * is DEL then ADD.
 */
function requireRequestedAddresses(ctx: CalicoPluginContext, have: readonly string[]): void {
  const wanted = ctx.invocation.args.ips;
  if (!wanted?.length || sameSet(wanted.map(hostPrefix), have)) return;
  throw new CniError(
    CniErrorCode.InvalidEnvironment,
    `CNI_ARGS: IP=${wanted.join(',')} for container ${ctx.invocation.containerId}, which already has ${have.join(', ')}`,
    'DEL the container first to give it other addresses',
  );
}

export async function calicoAdd(ctx: CalicoPluginContext): Promise<CniResult> {
  const id = workloadIdentity(ctx.invocation, ctx.config.name, ctx.node);
  const existing = await readEndpoint(ctx, id);
  if (existing?.spec.containerID === id.containerId && existing.spec.ipNetworks?.length) {
    const addresses = existing.spec.ipNetworks.map(hostPrefix);
    requireRequestedAddresses(ctx, addresses);
    const wiring = wiringFor(ctx, id, addresses);
    const problems = await ctx.dataplane.inspect(wiring);
    if (problems.length) {
      ctx.log.log('info', 'repeated ADD: rewiring the existing endpoint', { problems });
      await ctx.dataplane.detach(id.hostIface);
      await ctx.dataplane.attach(wiring);
    }
    return resultFor(ctx, id, addresses);
  }

  const undo: { what: string; run: () => Promise<void> }[] = [];
  try {
    await ensureNetworkProfile(ctx);
    undo.push({ what: 'release addresses', run: () => ctx.addresses.release() });
    const ips = await ctx.addresses.assign();
    if (!ips.length)
      throw new CniError(
        CniErrorCode.AddressesUnavailable,
        `IPAM gave no address to ${id.handle}`,
        'check ipam.assign_ipv4/assign_ipv6 and the pools',
      );
    const addresses = ips.map((ip) => ip.address);
    undo.push({ what: `delete ${id.hostIface}`, run: () => ctx.dataplane.detach(id.hostIface) });
    await attachReplacingStale(ctx, wiringFor(ctx, id, addresses));
    const endpoint = workloadEndpointFor({
      identity: id,
      node: ctx.node,
      network: ctx.config.name,
      ipNetworks: addresses,
    });
    try {
      await ctx.resources.apply(endpoint);
    } catch (e) {
      throw datastoreFailure(e, `writing WorkloadEndpoint ${id.namespace}/${id.endpointName}`);
    }
    ctx.log.log('info', 'container added', { endpoint: id.endpointName, iface: id.hostIface, addresses });
    return resultFor(ctx, id, addresses);
  } catch (e) {
    for (const step of undo.reverse()) {
      try {
        await step.run();
      } catch (undoError) {
        ctx.log.log('error', `undoing a failed ADD: cannot ${step.what}`, {
          error: (undoError as Error).message,
        });
      }
    }
    throw e;
  }
}

export async function calicoDel(ctx: CalicoPluginContext): Promise<void> {
  const id = workloadIdentity(ctx.invocation, ctx.config.name, ctx.node);
  const failures: CniError[] = [];
  const attempt = async (step: () => Promise<void>, describe: (e: unknown) => CniError) => {
    try {
      await step();
    } catch (e) {
      failures.push(describe(e));
    }
  };
  await attempt(
    () => ctx.dataplane.detach(id.hostIface),
    (e) => (e instanceof CniError ? e : new CniError(CniErrorCode.DataplaneFailure, (e as Error).message)),
  );
  await attempt(
    () => ctx.addresses.release(),
    (e) => datastoreFailure(e, `releasing the addresses of ${id.handle}`),
  );
  await attempt(
    async () => {
      const wep = await ctx.resources.get('WorkloadEndpoint', id.endpointName, id.namespace);
      // A newer container of the same pod may own the endpoint by now; only remove our own.
      if (!wep || (wep.spec.containerID && wep.spec.containerID !== id.containerId)) return;
      try {
        await ctx.resources.delete('WorkloadEndpoint', id.endpointName, id.namespace);
      } catch (e) {
        if ((e as Error).name !== 'ResourceNotFoundError') throw e;
      }
    },
    (e) => datastoreFailure(e, `deleting WorkloadEndpoint ${id.namespace}/${id.endpointName}`),
  );
  const first = failures[0];
  if (first) throw first;
  ctx.log.log('info', 'container deleted', { endpoint: id.endpointName });
}

export async function calicoCheck(ctx: CalicoPluginContext): Promise<void> {
  const id = workloadIdentity(ctx.invocation, ctx.config.name, ctx.node);
  if (ctx.config.prevResult === undefined)
    throw new CniError(
      CniErrorCode.InvalidNetworkConfig,
      'CHECK needs prevResult (the result of ADD) in the network configuration',
    );
  const prev = decodeResult(ctx.config.prevResult, 'prevResult');
  const expected = prev.ips.map((ip) => hostPrefix(ip.address));
  const problems: string[] = [];
  const wep = await readEndpoint(ctx, id);
  if (!wep) problems.push(`WorkloadEndpoint ${id.namespace}/${id.endpointName} does not exist`);
  else {
    if (wep.spec.containerID !== id.containerId)
      problems.push(
        `WorkloadEndpoint ${id.endpointName} belongs to container ${wep.spec.containerID ?? '(none)'}`,
      );
    if (!sameSet((wep.spec.ipNetworks ?? []).map(hostPrefix), expected))
      problems.push(
        `WorkloadEndpoint ${id.endpointName} has ipNetworks ${JSON.stringify(wep.spec.ipNetworks ?? [])}, ADD gave ${JSON.stringify(expected)}`,
      );
    if (wep.spec.interfaceName !== id.hostIface)
      problems.push(
        `WorkloadEndpoint ${id.endpointName} names interface ${wep.spec.interfaceName ?? '(none)'}, expected ${id.hostIface}`,
      );
    if (wep.spec.node !== ctx.node)
      problems.push(
        `WorkloadEndpoint ${id.endpointName} is on node ${wep.spec.node ?? '(none)'}, this is ${ctx.node}`,
      );
  }
  const held = await ctx.addresses.held();
  if (held && !sameSet(held.map(hostPrefix), expected))
    problems.push(
      `IPAM handle ${id.handle} holds ${JSON.stringify(held)}, ADD gave ${JSON.stringify(expected)}`,
    );
  problems.push(...(await ctx.dataplane.inspect(wiringFor(ctx, id, expected))));
  if (problems.length)
    throw new CniError(
      CniErrorCode.CheckFailed,
      `CHECK of container ${id.containerId}: ${problems.length} problem(s) found`,
      problems.join('; '),
    );
}
