/**
 * The `calico-ipam` plugin's commands: addresses from Calico IPAM for a main plugin (ours or another,
 * such as `bridge` or `ptp`). ADD prints a result with only `ips`; DEL releases by handle (and so is
 * idempotent); CHECK compares what the handle holds with the `prevResult`.
 */
import { hostPrefix, type AddressSource } from './address-source.js';
import type { CniInvocation } from './environment.js';
import type { CalicoIpamConfig } from './network-config.js';
import { CniError, CniErrorCode, decodeResult, type CniResult } from './spec.js';

export interface CalicoIpamContext {
  readonly invocation: CniInvocation;
  readonly config: CalicoIpamConfig;
  readonly handle: string;
  readonly addresses: AddressSource;
}

export async function ipamAdd(ctx: CalicoIpamContext): Promise<CniResult> {
  const ips = await ctx.addresses.assign();
  return { interfaces: [], ips, routes: [], dns: {} };
}

export async function ipamDel(ctx: CalicoIpamContext): Promise<void> {
  await ctx.addresses.release();
}

export async function ipamCheck(ctx: CalicoIpamContext, prevResult: unknown): Promise<void> {
  if (prevResult === undefined)
    throw new CniError(
      CniErrorCode.InvalidNetworkConfig,
      'CHECK needs prevResult (the result of ADD) in the network configuration',
    );
  const expected = decodeResult(prevResult, 'prevResult')
    .ips.map((ip) => hostPrefix(ip.address))
    .sort();
  const held = ((await ctx.addresses.held()) ?? []).map(hostPrefix).sort();
  const missing = expected.filter((a) => !held.includes(a));
  if (missing.length)
    throw new CniError(
      CniErrorCode.CheckFailed,
      `CHECK of container ${ctx.invocation.containerId}: IPAM handle ${ctx.handle} does not hold ${missing.join(', ')}`,
      `it holds ${held.join(', ') || 'nothing'}`,
    );
}
