/**
 * `calicoctl ipam`: look at and repair IP address management.
 *
 *   ipam show [--show-blocks]        per pool: addresses in use and free, blocks (and each block's host)
 *   ipam show --ip=IP                who holds an address: handle and attributes
 *   ipam release --ip=IP [--ip=...]  free addresses (a leaked address, say)
 *   ipam release --handle=H          free every address of a handle
 *   ipam release --host=H            forget a host: its addresses and blocks (what deleting its node does)
 *   ipam check                       report leaks and inconsistencies; changes nothing
 *   ipam configure [--strictaffinity=true|false]
 *
 * Also the IPAM side of deleting resources, used by the resource verbs: a pool that still has
 * addresses allocated cannot be deleted, and deleting a node releases that host's addresses and blocks.
 */
import type { Command } from 'commander';
import type { ResourceKind } from '../../api/types.js';
import type { ResourceClient } from '../../datastore/resources.js';
import { IpamClient, PoolInUseError, describeProblem, type PoolUsage } from '../../ipam/index.js';
import { formatTable } from '../table.js';
import { CliContext, CliError } from '../context.js';

async function ipamClient(ctx: CliContext): Promise<IpamClient> {
  return new IpamClient(await ctx.datastore());
}

/** `5 (2%)`; percentages rounded to the nearest whole number, in bigint so IPv6 pools work. */
function countWithPercent(n: bigint, total: bigint): string {
  const pct = total === 0n ? 0n : (n * 100n + total / 2n) / total;
  return `${n} (${pct}%)`;
}

function usageRows(pools: readonly PoolUsage[], showBlocks: boolean): string[][] {
  const rows: string[][] = [];
  for (const p of pools) {
    const inUse = BigInt(p.inUse);
    rows.push([
      p.disabled ? 'IP Pool (disabled)' : 'IP Pool',
      p.cidr,
      String(p.total),
      countWithPercent(inUse, p.total),
      countWithPercent(p.total - inUse, p.total),
      String(p.blocks.length),
      ...(showBlocks ? [''] : []),
    ]);
    if (!showBlocks) continue;
    for (const b of p.blocks) rows.push(blockRow('Block', b));
  }
  return rows;
}

function blockRow(grouping: string, b: PoolUsage['blocks'][number]): string[] {
  const total = BigInt(b.total);
  const inUse = BigInt(b.inUse);
  return [
    grouping,
    b.cidr,
    String(b.total),
    countWithPercent(inUse, total),
    countWithPercent(total - inUse, total),
    '',
    b.host === undefined ? 'none' : `host:${b.host}`,
  ];
}

async function runShow(ctx: CliContext, o: { ip?: string; showBlocks?: boolean }): Promise<void> {
  const ipam = await ipamClient(ctx);
  if (o.ip !== undefined) {
    const r = await ipam.lookupIP(o.ip);
    switch (r.state) {
      case 'assigned': {
        const lines = [
          `IP ${r.ip} is in use`,
          `Block: ${r.block}${r.blockHost ? ` (affine to host ${r.blockHost})` : ' (no host affinity)'}`,
          `Handle: ${r.handle ?? '(none)'}`,
          'Attributes:',
          ...Object.keys(r.attrs)
            .sort()
            .map((k) => `  ${k}: ${r.attrs[k]}`),
        ];
        ctx.out(lines.join('\n'));
        return;
      }
      case 'free':
        ctx.out(
          `IP ${r.ip} is not assigned (pool ${r.pool}, ${r.block ? `block ${r.block}` : 'in no claimed block yet'})`,
        );
        return;
      case 'not-in-pool':
        ctx.out(
          r.block
            ? `IP ${r.ip} is not assigned (block ${r.block}, which lies in no IP pool)`
            : `IP ${r.ip} is not in any IP pool`,
        );
        return;
      default: {
        const never: never = r;
        throw new CliError(`unexpected lookup result ${String(never)}`);
      }
    }
  }
  const usage = await ipam.usage();
  const showBlocks = o.showBlocks === true;
  const headers = ['GROUPING', 'CIDR', 'IPS TOTAL', 'IPS IN USE', 'IPS FREE', 'BLOCKS'];
  if (showBlocks) headers.push('AFFINITY');
  const rows = usageRows(usage.pools, showBlocks);
  if (showBlocks) for (const b of usage.orphanBlocks) rows.push(blockRow('Block (no pool)', b));
  if (rows.length === 0) {
    ctx.out('No IP pools (calicoctl create -f pool.yaml adds one)');
    return;
  }
  ctx.io.stdout(formatTable(headers, rows));
}

interface ReleaseOptions {
  ip: string[];
  handle?: string;
  host?: string;
}

async function runRelease(ctx: CliContext, o: ReleaseOptions): Promise<void> {
  const chosen = [o.ip.length > 0, o.handle !== undefined, o.host !== undefined].filter(Boolean).length;
  if (chosen !== 1)
    throw new CliError('ipam release needs exactly one of --ip=IP, --handle=HANDLE or --host=HOST');
  const ipam = await ipamClient(ctx);
  if (o.handle !== undefined) {
    const released = await ipam.releaseByHandle(o.handle);
    ctx.out(
      released.length
        ? `Successfully released ${released.length} IP address(es) of handle ${o.handle}: ${released.join(', ')}`
        : `Handle ${o.handle} holds no addresses; nothing to release`,
    );
    return;
  }
  if (o.host !== undefined) {
    const r = await ipam.releaseHost(o.host);
    ctx.out(
      `Released host ${o.host}: ${r.releasedAddresses.length} IP address(es), ${r.deletedBlocks.length} block(s) deleted, ${r.unaffinedBlocks.length} block(s) kept without affinity (other hosts' addresses remain in them)`,
    );
    return;
  }
  const r = await ipam.releaseIPs(o.ip);
  for (const ip of r.released) ctx.out(`Successfully released IP address ${ip}`);
  if (r.notAllocated.length)
    throw new CliError(
      r.notAllocated.map((ip) => `IP address ${ip} is not assigned; nothing to release`).join('\n'),
    );
}

async function runCheck(ctx: CliContext): Promise<void> {
  const report = await (await ipamClient(ctx)).check();
  ctx.out('Checking IPAM for inconsistencies...');
  ctx.out(
    `Found ${report.blocks} IPAM block(s), ${report.addressesInUse} address(es) in use, ${report.handles} handle(s).`,
  );
  if (report.problems.length === 0) {
    ctx.out('No problems found.');
    return;
  }
  ctx.out(`Found ${report.problems.length} problem(s):`);
  for (const p of report.problems) ctx.out(`  - ${describeProblem(p)}`);
}

function parseBool(flag: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new CliError(`${flag} must be true or false, not "${value}"`);
}

async function runConfigure(ctx: CliContext, o: { strictaffinity?: string }): Promise<void> {
  const ipam = await ipamClient(ctx);
  const config =
    o.strictaffinity === undefined
      ? await ipam.getConfig()
      : await ipam.setConfig({ strictAffinity: parseBool('--strictaffinity', o.strictaffinity) });
  ctx.out(`StrictAffinity: ${config.strictAffinity}`);
  ctx.out(`AutoAllocateBlocks: ${config.autoAllocateBlocks}`);
}

/**
 * Deletes a resource with IPAM's rules applied: an IPPool only when no address is allocated from it
 * (and its empty blocks go with it); a Node's addresses and blocks are released after it is gone.
 */
export async function deleteWithIpamRules(
  ctx: CliContext,
  client: ResourceClient,
  kind: ResourceKind,
  name: string,
  namespace?: string,
): Promise<void> {
  if (kind === 'IPPool') {
    try {
      await (await ipamClient(ctx)).prepareToDeletePool(name);
    } catch (e) {
      if (e instanceof PoolInUseError) throw new CliError(e.message);
      throw e;
    }
  }
  await client.delete(kind, name, namespace);
  if (kind === 'Node') {
    const r = await (await ipamClient(ctx)).releaseHost(name);
    const blocks = r.deletedBlocks.length + r.unaffinedBlocks.length;
    if (r.releasedAddresses.length || blocks)
      ctx.out(`Released ${r.releasedAddresses.length} IP address(es) and ${blocks} block(s) of node ${name}`);
  }
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerIpamCommands(program: Command, ctx: CliContext): void {
  const ipam = program.command('ipam').description('IP address management: usage, lookups, release, check');
  ipam
    .command('show')
    .description('Show IP usage per pool (and per block), or who holds one address')
    .option('--ip <ip>', 'show who holds this address')
    .option('--show-blocks', 'also show every block with its host')
    .action((o: { ip?: string; showBlocks?: boolean }) => runShow(ctx, o));
  ipam
    .command('release')
    .description('Release addresses: one or more by --ip, all of a --handle, or all of a --host')
    .option('--ip <ip>', 'address to release (repeatable)', collect, [] as string[])
    .option('--handle <handle>', 'release every address of this handle')
    .option('--host <host>', 'release every address and block of this host (as deleting its node does)')
    .action((o: ReleaseOptions) => runRelease(ctx, o));
  ipam
    .command('check')
    .description(
      'Report leaked addresses, blocks of missing hosts and other inconsistencies (changes nothing)',
    )
    .action(() => runCheck(ctx));
  ipam
    .command('configure')
    .description('Show or change cluster IPAM settings')
    .option('--strictaffinity <bool>', "true: hosts never borrow addresses from other hosts' blocks")
    .action((o: { strictaffinity?: string }) => runConfigure(ctx, o));
}
