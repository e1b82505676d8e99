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
 * What a path is, apart from the prefix it is for: all the decision process and the export rules
 * look at. The RIB stores exactly this, shared by every prefix that arrived with it.
 */
export interface PathFacts {
  readonly attrs: PathAttributes;
  readonly source: PathSource;
  /** Milliseconds on the injected clock when this version of the path arrived. */
  readonly receivedAt: number;
  /** Cost to reach the next hop, when the next-hop resolver knew it (RFC 4271 9.1.2.2 e). */
  readonly igpCost: number | undefined;
  /** Kept from a peer's previous session (RFC 4724) and not re-sent yet. */
  readonly stale: boolean;
}

/** A path with its prefix: what the RIB hands out (route changes, route views, the CLI). */
export interface Path extends PathFacts {
  readonly prefix: Prefix;
}

/** Anything that can name the prefix a path belongs to (a Loc-RIB destination, or a plain prefix in tests). */
export interface PrefixOwner {
  readonly prefix: Prefix;
}

/**
 * The RIB's path record. It holds no prefix and never changes, so one record serves every prefix of
 * an UPDATE (they share attributes, session and arrival time): a peer's full table of 500k prefixes
 * is a few hundred records, and a prefix with one candidate costs the Loc-RIB nothing but its map
 * entry (BIRD shares its `rta` the same way, but still keeps an `rte` per prefix). Graceful restart
 * marks a peer's paths stale by putting each record's stale twin in its place, so that stays shared
 * too. Keeping a clock reading here rather than per prefix also matters: a millisecond timestamp is
 * not a small integer, and V8 boxes such a number in its own 16-byte object per field.
 */
export class StoredPath implements PathFacts {
  #staleTwin: StoredPath | undefined;

  constructor(
    readonly attrs: PathAttributes,
    readonly source: PathSource,
    readonly receivedAt: number,
    readonly igpCost: number | undefined,
    readonly stale: boolean = false,
  ) {}

  /** The same path marked stale; one twin per record, so marking a whole table stale allocates a few records. */
  asStale(): StoredPath {
    if (this.stale) return this;
    this.#staleTwin ??= new StoredPath(this.attrs, this.source, this.receivedAt, this.igpCost, true);
    return this.#staleTwin;
  }
}

let lastStored: StoredPath | undefined;

/**
 * The record for a path that arrived now: the one made last when nothing differs (the RIB builds
 * an UPDATE's paths one after another), else a new one.
 */
export function storedPath(
  attrs: PathAttributes,
  source: PathSource,
  receivedAt: number,
  igpCost: number | undefined,
): StoredPath {
  const last = lastStored;
  if (
    last !== undefined &&
    last.attrs === attrs &&
    last.source === source &&
    last.receivedAt === receivedAt &&
    last.igpCost === igpCost &&
    !last.stale
  ) {
    return last;
  }
  lastStored = new StoredPath(attrs, source, receivedAt, igpCost);
  return lastStored;
}

/**
 * A stored path seen with its prefix, made when the RIB hands a path out. The prefix is made from
 * the owner only when asked, and a path serializes (logs, JSON) as plain data.
 */
export class RibPath implements Path {
  readonly #owner: PrefixOwner;

  constructor(
    owner: PrefixOwner,
    readonly stored: StoredPath,
  ) {
    this.#owner = owner;
  }

  get prefix(): Prefix {
    return this.#owner.prefix;
  }

  get attrs(): PathAttributes {
    return this.stored.attrs;
  }

  get source(): PathSource {
    return this.stored.source;
  }

  get receivedAt(): number {
    return this.stored.receivedAt;
  }

  get igpCost(): number | undefined {
    return this.stored.igpCost;
  }

  get stale(): boolean {
    return this.stored.stale;
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
export function neighbourAs(path: PathFacts): number {
  for (const segment of path.attrs.asPath) {
    if (segment.type === 'sequence' && segment.asns.length > 0) return segment.asns[0]!;
    if (segment.type === 'set') break;
  }
  return path.source.kind === 'peer' ? path.source.localAs : 0;
}

export function isEbgpPath(path: PathFacts): boolean {
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
export function samePathContent(a: PathFacts, b: PathFacts): boolean {
  return a.attrs === b.attrs && a.igpCost === b.igpCost && sameSource(a.source, b.source);
}
