/**
 * The default IP pools `calicoctl node run` creates on a fresh cluster, decided as a pure function of
 * the pools that already exist and the settings (Calico's CALICO_IPV4POOL_* / CALICO_IPV6POOL_*
 * environment). As in Calico, each family is looked at on its own: a cluster with only an IPv4 pool
 * still gets the default IPv6 pool. The lines printed are the seed's, word for word.
 *
 * The IPv6 default is a random RFC 4193 unique local /64 (fd + 40-bit global ID + 16-bit subnet ID),
 * like the seed's fd80:24e2:f998:72d6::/64; the random source is passed in so tests are repeatable.
 */
import { API_VERSION, type EncapMode, type IPPool } from '../../api/types.js';
import { canonicalCidr, parseCidr, type IpFamily } from '../../net/ip.js';

export const DEFAULT_IPV4_POOL_CIDR = '192.168.0.0/16';
export const DEFAULT_IPV4_POOL_NAME = 'default-ipv4-ippool';
export const DEFAULT_IPV6_POOL_NAME = 'default-ipv6-ippool';

export interface DefaultPoolSettings {
  /** false for `--no-default-ippools` / NO_DEFAULT_POOLS=true. */
  readonly create: boolean;
  readonly ipv4Cidr: string;
  /** undefined: generate a unique local /64. */
  readonly ipv6Cidr?: string;
  readonly ipv6: boolean;
  readonly ipv4IpipMode: EncapMode;
  readonly ipv4VxlanMode: EncapMode;
  readonly natOutgoing: boolean;
}

export class DefaultPoolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DefaultPoolError';
  }
}

/** Calico's mode names, and the seed's v1 spellings (`off`, `always`, `cross-subnet`). */
export function parseEncapMode(text: string | undefined, variable: string): EncapMode {
  const t = (text ?? '').trim().toLowerCase();
  if (t === '' || t === 'never' || t === 'off' || t === 'false') return 'Never';
  if (t === 'always' || t === 'on' || t === 'true') return 'Always';
  if (t === 'crosssubnet' || t === 'cross-subnet') return 'CrossSubnet';
  throw new DefaultPoolError(
    `${variable}="${text}" is not an encapsulation mode (use Always, CrossSubnet or Never)`,
  );
}

function truthy(text: string | undefined): boolean {
  return ['true', '1', 'yes', 'on'].includes((text ?? '').trim().toLowerCase());
}

/** The settings Calico's start-up reads from its environment, with the seed's defaults. */
export function defaultPoolSettingsFromEnv(
  env: NodeJS.ProcessEnv,
  overrides: { noDefaultPools?: boolean; ipv6?: boolean } = {},
): DefaultPoolSettings {
  const ipv6Cidr = env.CALICO_IPV6POOL_CIDR?.trim();
  const nat = env.CALICO_IPV4POOL_NAT_OUTGOING;
  return {
    create: !(overrides.noDefaultPools ?? false) && !truthy(env.NO_DEFAULT_POOLS),
    ipv4Cidr: env.CALICO_IPV4POOL_CIDR?.trim() || DEFAULT_IPV4_POOL_CIDR,
    ...(ipv6Cidr ? { ipv6Cidr } : {}),
    ipv6: overrides.ipv6 ?? true,
    ipv4IpipMode: parseEncapMode(env.CALICO_IPV4POOL_IPIP, 'CALICO_IPV4POOL_IPIP'),
    ipv4VxlanMode: parseEncapMode(env.CALICO_IPV4POOL_VXLAN, 'CALICO_IPV4POOL_VXLAN'),
    natOutgoing: nat === undefined || nat.trim() === '' ? true : truthy(nat),
  };
}

/** A unique local /64 (RFC 4193 section 3.2): fd, a random 40-bit global ID, a random subnet ID. */
export function randomUniqueLocalPrefix(randomBytes: (n: number) => Uint8Array): string {
  const r = randomBytes(7);
  if (r.length < 7) throw new DefaultPoolError('random source returned too few bytes');
  const b = [0xfd, ...r.slice(0, 7)];
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16));
  return canonicalCidr(`${groups.join(':')}::/64`) as string;
}

/** Modes as the seed prints them: "IPIP mode: off". */
function modeWord(mode: EncapMode | undefined): string {
  switch (mode ?? 'Never') {
    case 'Never':
      return 'off';
    case 'Always':
      return 'always';
    case 'CrossSubnet':
      return 'cross-subnet';
    default:
      return String(mode);
  }
}

/** "Created default IPv4 pool (192.168.0.0/16) with NAT outgoing enabled. IPIP mode: off" */
export function createdPoolLine(pool: IPPool): string {
  const family = parseCidr(pool.spec.cidr)?.family ?? 4;
  const vxlan =
    pool.spec.vxlanMode && pool.spec.vxlanMode !== 'Never'
      ? `, VXLAN mode: ${modeWord(pool.spec.vxlanMode)}`
      : '';
  return `Created default IPv${family} pool (${pool.spec.cidr}) with NAT outgoing ${pool.spec.natOutgoing ? 'enabled' : 'disabled'}. IPIP mode: ${modeWord(pool.spec.ipipMode)}${vxlan}`;
}

/** Plain words for a kernel without IPIP, used by checksystem too. */
export const IPIP_UNAVAILABLE = 'IPIP is not available on this kernel (no ipip module); use VXLAN';

function pool(name: string, cidr: string, spec: Partial<IPPool['spec']>): IPPool {
  return { apiVersion: API_VERSION, kind: 'IPPool', metadata: { name }, spec: { cidr, ...spec } };
}

function cidrOf(text: string, family: IpFamily, variable: string): string {
  const c = parseCidr(text);
  if (!c || c.family !== family)
    throw new DefaultPoolError(
      `${variable}="${text}" is not an IPv${family} CIDR (e.g. ${family === 4 ? DEFAULT_IPV4_POOL_CIDR : 'fd00:1::/64'})`,
    );
  return canonicalCidr(text) as string;
}

/**
 * The pools to create: none of a family that already has a pool, none at all when turned off.
 * Refuses (throws) an IPIP default pool on a kernel without IPIP rather than create a pool whose
 * workloads could never talk across hosts.
 */
export function planDefaultPools(
  existing: readonly IPPool[],
  settings: DefaultPoolSettings,
  kernel: { readonly ipip: boolean },
  randomBytes: (n: number) => Uint8Array,
): IPPool[] {
  if (!settings.create) return [];
  const has = (family: IpFamily) => existing.some((p) => parseCidr(p.spec.cidr)?.family === family);
  const out: IPPool[] = [];
  if (!has(4)) {
    if (settings.ipv4IpipMode !== 'Never' && !kernel.ipip)
      throw new DefaultPoolError(
        `CALICO_IPV4POOL_IPIP=${settings.ipv4IpipMode} asks for an IPIP pool, but ${IPIP_UNAVAILABLE} (CALICO_IPV4POOL_VXLAN=Always, CALICO_IPV4POOL_IPIP=Never)`,
      );
    if (settings.ipv4IpipMode !== 'Never' && settings.ipv4VxlanMode !== 'Never')
      throw new DefaultPoolError(
        'CALICO_IPV4POOL_IPIP and CALICO_IPV4POOL_VXLAN cannot both be on; pick one',
      );
    out.push(
      pool(DEFAULT_IPV4_POOL_NAME, cidrOf(settings.ipv4Cidr, 4, 'CALICO_IPV4POOL_CIDR'), {
        natOutgoing: settings.natOutgoing,
        ipipMode: settings.ipv4IpipMode,
        vxlanMode: settings.ipv4VxlanMode,
      }),
    );
  }
  if (settings.ipv6 && !has(6)) {
    const cidr = settings.ipv6Cidr
      ? cidrOf(settings.ipv6Cidr, 6, 'CALICO_IPV6POOL_CIDR')
      : randomUniqueLocalPrefix(randomBytes);
    out.push(
      pool(DEFAULT_IPV6_POOL_NAME, cidr, {
        natOutgoing: settings.natOutgoing,
        ipipMode: 'Never',
        vxlanMode: 'Never',
      }),
    );
  }
  return out;
}

/** Warnings for existing pools that ask for IPIP on a kernel without it. */
export function ipipPoolWarnings(pools: readonly IPPool[], kernel: { readonly ipip: boolean }): string[] {
  if (kernel.ipip) return [];
  return pools
    .filter((p) => p.spec.ipipMode && p.spec.ipipMode !== 'Never' && !p.spec.disabled)
    .map(
      (p) =>
        `IPPool ${p.metadata.name} (${p.spec.cidr}) has IPIP mode ${p.spec.ipipMode}, but ${IPIP_UNAVAILABLE} (set vxlanMode: Always and ipipMode: Never on the pool)`,
    );
}
