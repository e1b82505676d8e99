/**
 * The OPEN exchange as pure functions: the OPEN we send from our configuration, and what the
 * session runs with once the peer's OPEN arrives — or the NOTIFICATION that refuses it (bad peer
 * AS, our own identifier, a capability we require and it lacks).
 */
import type { AddressFamily } from '../types.js';
import {
  Afi,
  BgpProtocolError,
  BGP_VERSION,
  CapabilityCode,
  ErrorCode,
  familyOfAfiSafi,
  myAsField,
  OpenMessageSubcode,
  openPeerAs,
  Safi,
  type Capability,
  type CodecContext,
  type OpenMessage,
} from '../wire/index.js';
import { DEFAULT_HOLD_TIME_SEC, type PeerConfig, type RequiredCapability } from './config.js';

export interface PeerGracefulRestart {
  readonly restarting: boolean;
  readonly notification: boolean;
  readonly restartTimeSec: number;
  readonly families: readonly { readonly family: AddressFamily; readonly forwardingPreserved: boolean }[];
}

/** What both sides agreed on; fixed for the life of the session. */
export interface NegotiatedSession {
  readonly peerAs: number;
  readonly peerRouterId: string;
  /** 0 means no keepalives and no hold timer (RFC 4271 4.4). */
  readonly holdTimeSec: number;
  readonly keepaliveSec: number;
  readonly fourOctetAs: boolean;
  /** Families both sides announced (IPv4 unicast when the peer sent no multiprotocol capability). */
  readonly families: readonly AddressFamily[];
  readonly routeRefresh: boolean;
  /** The peer's graceful restart capability, if it sent one (RFC 4724). */
  readonly peerGracefulRestart?: PeerGracefulRestart;
  /** Both sides set the N bit (RFC 8538). */
  readonly gracefulNotification: boolean;
  readonly external: boolean;
  readonly peerCapabilities: readonly Capability[];
  /** The codec options for every UPDATE on this session. */
  readonly codec: CodecContext;
}

const AFI_OF: Readonly<Record<AddressFamily, Afi>> = { ipv4: Afi.IPv4, ipv6: Afi.IPv6 };

function localFamilies(config: PeerConfig): readonly AddressFamily[] {
  return config.families ?? ['ipv4'];
}

/** Our OPEN: multiprotocol per family, route refresh, 4-octet AS always, graceful restart if set. */
export function buildOpen(config: PeerConfig): OpenMessage {
  const families = localFamilies(config);
  const capabilities: Capability[] = families.map((f) => ({
    kind: 'multiprotocol',
    afi: AFI_OF[f],
    safi: Safi.Unicast,
  }));
  if (config.routeRefresh ?? true) capabilities.push({ kind: 'route-refresh' });
  capabilities.push({ kind: 'four-octet-as', asn: config.localAs });
  const gr = config.gracefulRestart;
  if (gr !== undefined) {
    capabilities.push({
      kind: 'graceful-restart',
      restarting: gr.restarting ?? false,
      notification: gr.notification ?? false,
      restartTimeSec: gr.restartTimeSec,
      families: families.map((f) => ({
        afi: AFI_OF[f],
        safi: Safi.Unicast,
        forwardingPreserved: gr.forwardingPreserved ?? false,
      })),
    });
  }
  return {
    type: 'open',
    version: BGP_VERSION,
    myAs: myAsField(config.localAs),
    holdTime: config.holdTimeSec ?? DEFAULT_HOLD_TIME_SEC,
    bgpId: config.routerId,
    capabilities,
  };
}

function ipv4ToNumber(text: string): number {
  return text.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** RFC 4271 6.8: compare BGP identifiers as 4-octet unsigned integers. */
export function compareRouterIds(a: string, b: string): number {
  return ipv4ToNumber(a) - ipv4ToNumber(b);
}

/**
 * RFC 4271 6.8 collision resolution: if our identifier is lower, the connection we initiated is
 * closed and the one the peer initiated is kept; otherwise the reverse.
 */
export function collisionWinner(
  localRouterId: string,
  remoteRouterId: string,
): 'locally-initiated' | 'peer-initiated' {
  return compareRouterIds(localRouterId, remoteRouterId) < 0 ? 'peer-initiated' : 'locally-initiated';
}

function capabilityData(required: RequiredCapability): Buffer {
  switch (required) {
    case 'four-octet-as':
      return Buffer.from([CapabilityCode.FourOctetAs, 4, 0, 0, 0, 0]);
    case 'route-refresh':
      return Buffer.from([CapabilityCode.RouteRefresh, 0]);
    case 'graceful-restart':
      return Buffer.from([CapabilityCode.GracefulRestart, 2, 0, 0]);
    case 'ipv4':
    case 'ipv6':
      return Buffer.from([CapabilityCode.Multiprotocol, 4, 0, AFI_OF[required], 0, Safi.Unicast]);
    default: {
      const unreachable: never = required;
      return Buffer.from(String(unreachable));
    }
  }
}

/** Validates the peer's OPEN against our configuration; throws BgpProtocolError with the NOTIFICATION. */
export function negotiate(config: PeerConfig, open: OpenMessage): NegotiatedSession {
  const peerAs = openPeerAs(open);
  if (peerAs !== config.peerAs) {
    const data = Buffer.alloc(2);
    data.writeUInt16BE(open.myAs, 0);
    throw new BgpProtocolError(
      ErrorCode.OpenMessage,
      OpenMessageSubcode.BadPeerAs,
      `peer ${config.peerAddress} says it is AS ${peerAs}; configured peer AS is ${config.peerAs}`,
      data,
    );
  }
  if (open.bgpId === config.routerId) {
    throw new BgpProtocolError(
      ErrorCode.OpenMessage,
      OpenMessageSubcode.BadBgpIdentifier,
      `peer ${config.peerAddress} uses our own BGP identifier ${config.routerId}; every router needs its own`,
    );
  }
  const caps = open.capabilities;
  const peerFamilies = new Set<AddressFamily>();
  let sawMp = false;
  for (const c of caps) {
    if (c.kind !== 'multiprotocol') continue;
    sawMp = true;
    const f = familyOfAfiSafi(c.afi, c.safi);
    if (f !== undefined) peerFamilies.add(f);
  }
  // RFC 4760 8: a peer without multiprotocol capabilities speaks IPv4 unicast only.
  if (!sawMp) peerFamilies.add('ipv4');
  const has = (r: RequiredCapability): boolean => {
    switch (r) {
      case 'four-octet-as':
        return caps.some((c) => c.kind === 'four-octet-as');
      case 'route-refresh':
        return caps.some((c) => c.kind === 'route-refresh');
      case 'graceful-restart':
        return caps.some((c) => c.kind === 'graceful-restart');
      case 'ipv4':
      case 'ipv6':
        return peerFamilies.has(r);
      default: {
        const unreachable: never = r;
        return unreachable;
      }
    }
  };
  const missing = (config.requiredCapabilities ?? []).filter((r) => !has(r));
  if (missing.length > 0) {
    throw new BgpProtocolError(
      ErrorCode.OpenMessage,
      OpenMessageSubcode.UnsupportedCapability,
      `peer ${config.peerAddress} lacks required capabilities: ${missing.join(', ')}`,
      Buffer.concat(missing.map(capabilityData)),
    );
  }
  const ours = config.holdTimeSec ?? DEFAULT_HOLD_TIME_SEC;
  const holdTimeSec = Math.min(ours, open.holdTime);
  const fourOctetAs = caps.some((c) => c.kind === 'four-octet-as');
  const families = localFamilies(config).filter((f) => peerFamilies.has(f));
  const gr = caps.find((c) => c.kind === 'graceful-restart');
  let peerGracefulRestart: PeerGracefulRestart | undefined;
  if (gr !== undefined) {
    peerGracefulRestart = {
      restarting: gr.restarting,
      notification: gr.notification,
      restartTimeSec: gr.restartTimeSec,
      families: gr.families.flatMap((f) => {
        const family = familyOfAfiSafi(f.afi, f.safi);
        return family === undefined ? [] : [{ family, forwardingPreserved: f.forwardingPreserved }];
      }),
    };
  }
  const external = config.peerAs !== config.localAs;
  const negotiated: NegotiatedSession = {
    peerAs,
    peerRouterId: open.bgpId,
    holdTimeSec,
    keepaliveSec: Math.floor(holdTimeSec / 3),
    fourOctetAs,
    families,
    routeRefresh: (config.routeRefresh ?? true) && caps.some((c) => c.kind === 'route-refresh'),
    gracefulNotification: (config.gracefulRestart?.notification ?? false) && (gr?.notification ?? false),
    external,
    peerCapabilities: caps,
    codec: {
      fourOctetAs,
      peerIsExternal: external,
      errorHandling: config.errorHandling ?? 'rfc7606',
    },
  };
  return peerGracefulRestart === undefined ? negotiated : { ...negotiated, peerGracefulRestart };
}
