/**
 * OPEN capabilities (RFC 5492): the ones this speaker acts on are decoded into typed values, every
 * other one is kept raw so it can be logged and shown, never silently lost.
 */
import { ByteWriter } from './byte-writer.js';
import { CapabilityCode } from './constants.js';
import { BgpProtocolError } from './errors.js';
import { ErrorCode, OpenMessageSubcode } from './notification-codes.js';

export interface AfiSafi {
  readonly afi: number;
  readonly safi: number;
}

/** RFC 4724 3: per address family, whether forwarding state survived the restart. */
export interface GracefulRestartFamily extends AfiSafi {
  readonly forwardingPreserved: boolean;
}

export type Capability =
  | ({ readonly kind: 'multiprotocol' } & AfiSafi)
  | { readonly kind: 'route-refresh' }
  | { readonly kind: 'four-octet-as'; readonly asn: number }
  | {
      readonly kind: 'graceful-restart';
      /** R bit: the sender has just restarted. */
      readonly restarting: boolean;
      /** N bit (RFC 8538): graceful restart also covers NOTIFICATION-triggered resets. */
      readonly notification: boolean;
      readonly restartTimeSec: number;
      readonly families: readonly GracefulRestartFamily[];
    }
  | { readonly kind: 'unknown'; readonly code: number; readonly value: Buffer };

const GR_RESTARTING = 0x8000;
const GR_NOTIFICATION = 0x4000;
const GR_FORWARDING = 0x80;

function malformed(what: string): BgpProtocolError {
  return new BgpProtocolError(ErrorCode.OpenMessage, OpenMessageSubcode.Unspecific, what);
}

/** Decodes the capabilities inside one optional parameter of type 2, `buf[start..end)`. */
export function decodeCapabilities(buf: Buffer, start: number, end: number, out: Capability[]): void {
  let at = start;
  while (at < end) {
    if (at + 2 > end) throw malformed('capability header runs past its optional parameter');
    const code = buf[at]!;
    const len = buf[at + 1]!;
    const v = at + 2;
    if (v + len > end) throw malformed(`capability ${code} length ${len} runs past its optional parameter`);
    out.push(decodeCapability(code, buf, v, len));
    at = v + len;
  }
}

function decodeCapability(code: number, buf: Buffer, v: number, len: number): Capability {
  switch (code) {
    case CapabilityCode.Multiprotocol:
      if (len !== 4) throw malformed(`multiprotocol capability has length ${len}, expected 4`);
      return { kind: 'multiprotocol', afi: buf.readUInt16BE(v), safi: buf[v + 3]! };
    case CapabilityCode.RouteRefresh:
      if (len !== 0) throw malformed(`route refresh capability has length ${len}, expected 0`);
      return { kind: 'route-refresh' };
    case CapabilityCode.FourOctetAs:
      if (len !== 4) throw malformed(`4-octet AS capability has length ${len}, expected 4`);
      return { kind: 'four-octet-as', asn: buf.readUInt32BE(v) };
    case CapabilityCode.GracefulRestart: {
      if (len < 2 || (len - 2) % 4 !== 0) {
        throw malformed(`graceful restart capability has length ${len}, expected 2 + 4n`);
      }
      const head = buf.readUInt16BE(v);
      const families: GracefulRestartFamily[] = [];
      for (let at = v + 2; at < v + len; at += 4) {
        families.push({
          afi: buf.readUInt16BE(at),
          safi: buf[at + 2]!,
          forwardingPreserved: (buf[at + 3]! & GR_FORWARDING) !== 0,
        });
      }
      return {
        kind: 'graceful-restart',
        restarting: (head & GR_RESTARTING) !== 0,
        notification: (head & GR_NOTIFICATION) !== 0,
        restartTimeSec: head & 0x0fff,
        families,
      };
    }
    default:
      return { kind: 'unknown', code, value: Buffer.from(buf.subarray(v, v + len)) };
  }
}

/** Writes each capability as code, length, value (the caller wraps them in an optional parameter). */
export function encodeCapability(cap: Capability, w: ByteWriter): void {
  switch (cap.kind) {
    case 'multiprotocol':
      w.u8(CapabilityCode.Multiprotocol).u8(4).u16(cap.afi).u8(0).u8(cap.safi);
      return;
    case 'route-refresh':
      w.u8(CapabilityCode.RouteRefresh).u8(0);
      return;
    case 'four-octet-as':
      w.u8(CapabilityCode.FourOctetAs).u8(4).u32(cap.asn);
      return;
    case 'graceful-restart': {
      if (cap.restartTimeSec < 0 || cap.restartTimeSec > 0xfff) {
        throw new RangeError(
          `graceful restart time ${cap.restartTimeSec}s does not fit in 12 bits (max 4095)`,
        );
      }
      w.u8(CapabilityCode.GracefulRestart).u8(2 + 4 * cap.families.length);
      w.u16(
        (cap.restarting ? GR_RESTARTING : 0) | (cap.notification ? GR_NOTIFICATION : 0) | cap.restartTimeSec,
      );
      for (const f of cap.families)
        w.u16(f.afi)
          .u8(f.safi)
          .u8(f.forwardingPreserved ? GR_FORWARDING : 0);
      return;
    }
    case 'unknown':
      if (cap.value.length > 255) throw new RangeError(`capability ${cap.code} value is over 255 octets`);
      w.u8(cap.code).u8(cap.value.length).bytes(cap.value);
      return;
    default: {
      const unreachable: never = cap;
      throw new Error(`unhandled capability ${JSON.stringify(unreachable)}`);
    }
  }
}

export function formatCapability(cap: Capability): string {
  switch (cap.kind) {
    case 'multiprotocol':
      return `multiprotocol afi=${cap.afi} safi=${cap.safi}`;
    case 'route-refresh':
      return 'route-refresh';
    case 'four-octet-as':
      return `4-octet-as ${cap.asn}`;
    case 'graceful-restart':
      return (
        `graceful-restart time=${cap.restartTimeSec}s${cap.restarting ? ' restarting' : ''}` +
        `${cap.notification ? ' notification' : ''} families=[${cap.families
          .map((f) => `${f.afi}/${f.safi}${f.forwardingPreserved ? ' F' : ''}`)
          .join(', ')}]`
      );
    case 'unknown':
      return `capability ${cap.code} (${cap.value.length} octets)`;
    default: {
      const unreachable: never = cap;
      return String(unreachable);
    }
  }
}
