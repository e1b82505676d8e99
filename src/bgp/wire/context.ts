/**
 * What the two speakers agreed on in their OPENs and that changes how bytes are read and written.
 * The session builds it once the OPENs are exchanged; the codec never guesses.
 */
import type { AddressFamily } from '../types.js';

export interface CodecContext {
  /** RFC 6793: both sides sent the 4-octet AS capability, so AS_PATH and AGGREGATOR carry 4-octet ASNs. */
  readonly fourOctetAs: boolean;
  /**
   * 'rfc7606' (default): malformed attributes are handled as RFC 7606 says (treat-as-withdraw,
   * attribute discard) and only unrecoverable errors reset the session. 'strict': every error raises
   * the RFC 4271 6.3 NOTIFICATION, for peers or tests that want the original behaviour.
   */
  readonly errorHandling?: 'rfc7606' | 'strict';
  /** RFC 4271 5.1.5: LOCAL_PREF from an external peer is ignored. */
  readonly peerIsExternal?: boolean;
  /** Families announced with MP_REACH_NLRI; IPv6 always is, IPv4 only when listed (RFC 4760). */
  readonly mpFamilies?: readonly AddressFamily[];
}

export const DEFAULT_CONTEXT: CodecContext = { fourOctetAs: true };

export function usesMpReach(ctx: CodecContext, family: AddressFamily): boolean {
  return family === 'ipv6' || (ctx.mpFamilies?.includes(family) ?? false);
}
