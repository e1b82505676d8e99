/**
 * A path is one candidate route to a prefix: the attributes, where it came from, and the
 * bookkeeping the decision process and graceful restart need. The source is a small shared object
 * per peer session (not copied into each path) so a 500k-prefix table from one peer holds one
 * source and, through the attribute interner, a few hundred attribute objects.
 */
import type { AsPathSegment, PathAttributes, Prefix } from '../types.js';

export type PeerId = string;

/** Who sent us a path; one frozen object per established session. */
export interface PeerSource {
  readonly kind: 'peer';
  /** The peer's address, canonical text; the key the speaker uses for the peer. */
  readonly peerId: PeerId;
  readonly routerId: string;
  readonly asn: number;
  readonly localAs: number;
  /** Internal peer (same AS). Confederations are not supported, so this is `asn === localAs`. */
  readonly ibgp: boolean;
  readonly routeReflectorClient: boolean;
}

/** A route we originate (our IPAM blocks, a downward default). */
export interface LocalSource {
  readonly kind: 'local';
}

export type PathSource = PeerSource | LocalSource;

export const LOCAL_SOURCE: LocalSource = Object.freeze({ kind: 'local' });

/**
 * A read-only view of a path in the RIB. `stale` may flip back to false when a restarting peer
 * re-sends the path (RFC 4724 4.2), so read it when you need it rather than keeping a copy.
 */
export interface Path {
  readonly prefix: Prefix;
  readonly attrs: PathAttributes;
  readonly source: PathSource;
  /** Milliseconds on the injected clock when this version of the path arrived. */
  readonly receivedAt: number;
  /** Cost to reach the next hop, when the next-hop resolver knew it (RFC 4271 9.1.2.2 e). */
  readonly igpCost: number | undefined;
  readonly stale: boolean;
}

/** Anything that can name the prefix a path belongs to (a Loc-RIB destination, or a plain prefix in tests). */
export interface PrefixOwner {
  readonly prefix: Prefix;
}

/**
 * How a path arrived: from which session, when, and the IGP cost to its next hop. All three are
 * the same for every prefix of one UPDATE, so one record is shared by all of them (a one-entry
 * memo, since the RIB builds an UPDATE's paths one after another). Besides saving two fields per
 * path, it keeps a clock reading off the path: a millisecond timestamp is not a small integer, and
 * V8 boxes such a number in its own 16-byte object per field.
 */
interface Arrival {
  readonly source: PathSource;
  readonly at: number;
  readonly igpCost: number | undefined;
}

let lastArrival: Arrival = { source: LOCAL_SOURCE, at: 0, igpCost: undefined };

function arrival(source: PathSource, at: number, igpCost: number | undefined): Arrival {
  const last = lastArrival;
  if (last.source === source && last.at === at && last.igpCost === igpCost) return last;
  lastArrival = { source, at, igpCost };
  return lastArrival;
}

/**
 * The RIB's own path record, kept small because there is one per prefix per peer: it points at its
 * owner (the Loc-RIB destination) instead of holding a Prefix, shares its arrival record with the
 * rest of its UPDATE, and links to the next candidate of its destination. The owner pointer is a
 * private field so a path serializes (logs, JSON) without the destination's cycle.
 */
export class RibPath implements Path {
  stale = false;
  /** The next candidate of the same destination; owned by the Destination's list. */
  nextCandidate: RibPath | undefined = undefined;
  readonly #owner: PrefixOwner;
  readonly #arrival: Arrival;

  constructor(
    owner: PrefixOwner,
    readonly attrs: PathAttributes,
    source: PathSource,
    receivedAt: number,
    igpCost: number | undefined,
  ) {
    this.#owner = owner;
    this.#arrival = arrival(source, receivedAt, igpCost);
  }

  get prefix(): Prefix {
    return this.#owner.prefix;
  }

  get source(): PathSource {
    return this.#arrival.source;
  }

  get receivedAt(): number {
    return this.#arrival.at;
  }

  get igpCost(): number | undefined {
    return this.#arrival.igpCost;
  }

  toJSON(): Path {
    return {
      prefix: this.prefix,
      attrs: this.attrs,
      source: this.source,
      receivedAt: this.receivedAt,
      igpCost: this.igpCost,
      stale: this.stale,
    };
  }
}

/** Default LOCAL_PREF when a path carries none (RFC 4271 9.1.1 leaves it to policy; 100 as BIRD, FRR, GoBGP). */
export const DEFAULT_LOCAL_PREF = 100;

export function effectiveLocalPref(attrs: PathAttributes): number {
  return attrs.localPref ?? DEFAULT_LOCAL_PREF;
}

/** RFC 4271 9.1.2.2 a: an AS_SET counts as 1; RFC 5065 5.3: confederation segments count 0. */
export function asPathLength(segments: readonly AsPathSegment[]): number {
  let length = 0;
  for (const segment of segments) {
    switch (segment.type) {
      case 'sequence':
        length += segment.asns.length;
        break;
      case 'set':
        length += 1;
        break;
      case 'confed-sequence':
      case 'confed-set':
        break;
      default: {
        const unknownType: never = segment.type;
        throw new Error(`RIB: unknown AS_PATH segment type ${String(unknownType)}`);
      }
    }
  }
  return length;
}

/**
 * The AS a path entered our AS from (RFC 4271 9.1.2.2 c: the leftmost AS in AS_PATH); our own AS
 * for paths with an empty AS_PATH (locally originated, or originated inside our AS).
 */
export function neighbourAs(path: Path): number {
  for (const segment of path.attrs.asPath) {
    if (segment.type === 'sequence' && segment.asns.length > 0) return segment.asns[0]!;
    if (segment.type === 'set') break;
  }
  return path.source.kind === 'peer' ? path.source.localAs : 0;
}

export function isEbgpPath(path: Path): boolean {
  return path.source.kind === 'peer' && !path.source.ibgp;
}

export function sourceIdOf(source: PathSource): PeerId | 'local' {
  return source.kind === 'peer' ? source.peerId : 'local';
}

/**
 * The same session settings: a re-established session with unchanged settings gives the same
 * answer, a reconfigured one (say, now a route-reflector client) does not, so its routes are
 * re-decided and re-exported.
 */
export function sameSource(a: PathSource, b: PathSource): boolean {
  if (a === b) return true;
  if (a.kind !== 'peer' || b.kind !== 'peer') return false;
  return (
    a.peerId === b.peerId &&
    a.routerId === b.routerId &&
    a.asn === b.asn &&
    a.localAs === b.localAs &&
    a.ibgp === b.ibgp &&
    a.routeReflectorClient === b.routeReflectorClient
  );
}

/** Two versions of a path that would route and advertise the same way. */
export function samePathContent(a: Path, b: Path): boolean {
  return a.attrs === b.attrs && a.igpCost === b.igpCost && sameSource(a.source, b.source);
}
