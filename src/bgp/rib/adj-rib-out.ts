/**
 * Adj-RIB-Out: per peer, what we have told it, and the diff to send when the Loc-RIB changes.
 *
 * It is derived, not stored. Export is a pure function of (the best path, the peer's settings), so
 * what the peer holds for a prefix is exactly that function applied to the best path published at
 * the last flush; given the previous and the new best path we know whether to announce, re-announce
 * with new attributes, withdraw, or stay silent. Storing the sent attributes instead would cost a
 * map entry per prefix per peer: for a route reflector with hundreds of clients that is the whole
 * memory budget many times over (BIRD, without `export table`, does the same). The price is that
 * export policies must be pure: a policy that should behave differently is a new policy, passed
 * with `Rib.updatePeer`, which compares the old policy's view with the new one's.
 *
 * Downward default (the seed's "Downward Default model"): towards a peer marked downstream we
 * send nothing but a default route per family, announced while at least one route of that family
 * would have been advertised to it under the normal rules and withdrawn when none would. So a ToR
 * tells its hosts "send everything to me" only while it has somewhere to send it, and still
 * advertises everything upward (upstream peers are ordinary peers). Only a count per family is
 * kept for that.
 */
import type { AddressFamily, PathAttributes, Prefix } from '../types.js';
import { Origin } from '../types.js';
import type { AttributeInterner } from './attribute-interner.js';
import {
  advertisementBlocker,
  rewriteForPeer,
  type ExportContext,
  type ExportPolicy,
  type ExportTarget,
  type NotAdvertisedReason,
} from './export-rules.js';
import { LOCAL_SOURCE, StoredPath, type PathFacts, type PathSource, type PeerId } from './path.js';
import { familyOfKey, prefixFromKey, prefixKey, type PrefixKey } from './prefix-key.js';

export interface ExportPeer extends ExportTarget {
  /** Families negotiated on the session (RFC 4760); others are never sent. */
  readonly families: readonly AddressFamily[];
  readonly downstream: boolean;
  readonly exportPolicy: ExportPolicy | undefined;
}

/** Prefixes announced with one attribute set, one family: what one or more UPDATEs carry. */
export interface AnnouncementGroup {
  readonly family: AddressFamily;
  readonly attrs: PathAttributes;
  readonly prefixes: readonly Prefix[];
}

/** Prefixes of one family to withdraw (one family per UPDATE: NLRI field or MP_UNREACH_NLRI). */
export interface WithdrawalGroup {
  readonly family: AddressFamily;
  readonly prefixes: readonly Prefix[];
}

/**
 * What to send one peer after a batch of RIB changes. Send the withdrawals and announcements (in
 * any order: no prefix is in both), then End-of-RIB for each family listed.
 */
export interface PeerAdvertisement {
  readonly peerId: PeerId;
  readonly announce: readonly AnnouncementGroup[];
  readonly withdraw: readonly WithdrawalGroup[];
  /** Families whose initial table this batch completes: send End-of-RIB for them after it (RFC 4724 2). */
  readonly endOfRib: readonly AddressFamily[];
}

/**
 * Prefix records for one flush, shared by every peer's advertisement: a full table to twenty
 * route-reflector clients formats each prefix once, not twenty times.
 */
export class PrefixRecords {
  private readonly cache: Map<PrefixKey, Prefix> | undefined;

  /** `shared`: more than one peer will ask for the same prefixes, so keep what was made. */
  constructor(shared: boolean) {
    this.cache = shared ? new Map() : undefined;
  }

  get(key: PrefixKey): Prefix {
    if (this.cache === undefined) return prefixFromKey(key);
    let prefix = this.cache.get(key);
    if (prefix === undefined) {
      prefix = prefixFromKey(key);
      this.cache.set(key, prefix);
    }
    return prefix;
  }
}

/**
 * Collects one peer's announcements and withdrawals for a batch, grouped by attributes, ready to
 * pack into UPDATEs. Within one flush each prefix is visited once per peer, except the default
 * routes, which a resync may withdraw (as a learned route) and announce again (as our downward
 * default) or the other way round: for those the last word wins.
 */
export class AdvertisementBatch {
  private readonly groups = new Map<PathAttributes, PrefixKey[]>();
  private readonly withdrawn: PrefixKey[] = [];
  private readonly defaults = new Map<PrefixKey, PathAttributes | null>();

  announce(key: PrefixKey, attrs: PathAttributes): void {
    if (key === DEFAULT_ROUTE_KEY.ipv4 || key === DEFAULT_ROUTE_KEY.ipv6) {
      this.defaults.set(key, attrs);
      return;
    }
    const group = this.groups.get(attrs);
    if (group === undefined) this.groups.set(attrs, [key]);
    else group.push(key);
  }

  withdraw(key: PrefixKey): void {
    if (key === DEFAULT_ROUTE_KEY.ipv4 || key === DEFAULT_ROUTE_KEY.ipv6) this.defaults.set(key, null);
    else this.withdrawn.push(key);
  }

  get isEmpty(): boolean {
    return this.groups.size === 0 && this.withdrawn.length === 0 && this.defaults.size === 0;
  }

  toAdvertisement(
    peerId: PeerId,
    endOfRib: readonly AddressFamily[],
    prefixes: PrefixRecords = new PrefixRecords(false),
  ): PeerAdvertisement {
    const withdrawnKeys = this.withdrawn;
    for (const [key, attrs] of this.defaults) {
      if (attrs === null) withdrawnKeys.push(key);
      else this.groups.set(attrs, [...(this.groups.get(attrs) ?? []), key]);
    }
    this.defaults.clear();
    const announce: AnnouncementGroup[] = [];
    for (const [attrs, keys] of this.groups) {
      const v4: Prefix[] = [];
      const v6: Prefix[] = [];
      for (const key of keys) (typeof key === 'number' ? v4 : v6).push(prefixes.get(key));
      if (v4.length > 0) announce.push({ family: 'ipv4', attrs, prefixes: v4 });
      if (v6.length > 0) announce.push({ family: 'ipv6', attrs, prefixes: v6 });
    }
    const v4: Prefix[] = [];
    const v6: Prefix[] = [];
    for (const key of withdrawnKeys) (typeof key === 'number' ? v4 : v6).push(prefixes.get(key));
    const withdraw: WithdrawalGroup[] = [];
    if (v4.length > 0) withdraw.push({ family: 'ipv4', prefixes: v4 });
    if (v6.length > 0) withdraw.push({ family: 'ipv6', prefixes: v6 });
    return { peerId, announce, withdraw, endOfRib };
  }
}

const DEFAULT_ROUTE_KEY: Readonly<Record<AddressFamily, PrefixKey>> = {
  ipv4: prefixKey({ family: 'ipv4', address: '0.0.0.0', length: 0 }),
  ipv6: prefixKey({ family: 'ipv6', address: '::', length: 0 }),
};

/** The default route a downstream peer gets: originated by us, next hop self after rewriting. */
const DOWNWARD_DEFAULT_ATTRS: PathAttributes = Object.freeze({ origin: Origin.IGP, asPath: [] });
const DOWNWARD_DEFAULT_PATH = new StoredPath(DOWNWARD_DEFAULT_ATTRS, LOCAL_SOURCE, 0, undefined);

type ProtocolVerdict = PathAttributes | NotAdvertisedReason;

/** The Loc-RIB state an export diff starts from: every prefix's best path now, and before the flush. */
export interface ExportSource {
  /** Every prefix with a best path now. */
  bests(): Iterable<readonly [PrefixKey, PathFacts]>;
  bestOf(key: PrefixKey): PathFacts | undefined;
  /** Prefixes whose best path changed in this flush, with the best path before it (undefined: none). */
  readonly changed: ReadonlyMap<PrefixKey, PathFacts | undefined>;
}

export class AdjRibOut {
  /** Prefixes the peer holds from us (default routes included), for stats. */
  private advertisedCount = 0;
  /** Downstream peers only: Loc-RIB prefixes per family that would be advertised under the normal rules. */
  private eligibleCount: Record<AddressFamily, number> = { ipv4: 0, ipv6: 0 };
  private defaultSent: Record<AddressFamily, PathAttributes | undefined> = {
    ipv4: undefined,
    ipv6: undefined,
  };
  /**
   * The protocol verdict depends only on (family, attributes, source), not on the prefix, so a
   * table where thousands of prefixes share attributes is rewritten and interned once per set.
   */
  private readonly verdictCache: Record<
    AddressFamily,
    WeakMap<PathAttributes, Map<PathSource, ProtocolVerdict>>
  > = { ipv4: new WeakMap(), ipv6: new WeakMap() };

  constructor(
    readonly peer: ExportPeer,
    private readonly context: ExportContext,
    private readonly interner: AttributeInterner,
  ) {}

  /** The attributes the peer should have for this prefix under the normal rules, or why none. */
  desired(key: PrefixKey, best: PathFacts): PathAttributes | NotAdvertisedReason {
    const family = familyOfKey(key);
    if (!this.peer.families.includes(family)) return 'family-not-negotiated';
    const verdict = this.protocolVerdict(best, family);
    if (typeof verdict === 'string' || this.peer.exportPolicy === undefined) return verdict;
    const chosen = this.peer.exportPolicy({
      prefix: prefixFromKey(key),
      attrs: verdict,
      path: best,
      peer: this.peer,
    });
    return chosen === null ? 'export-policy' : this.interner.intern(chosen);
  }

  /** What the peer holds for the prefix when `best` is the Loc-RIB's best path (downstream: nothing per prefix). */
  advertisedFor(key: PrefixKey, best: PathFacts | undefined): PathAttributes | undefined {
    if (best === undefined || this.peer.downstream) return undefined;
    const want = this.desired(key, best);
    return typeof want === 'string' ? undefined : want;
  }

  /** One prefix's best path went from `previous` to `best` (either may be undefined). */
  update(
    key: PrefixKey,
    previous: PathFacts | undefined,
    best: PathFacts | undefined,
    batch: AdvertisementBatch,
  ): void {
    if (this.peer.downstream) {
      const family = familyOfKey(key);
      const delta = (this.isEligible(key, best) ? 1 : 0) - (this.isEligible(key, previous) ? 1 : 0);
      if (delta !== 0) {
        this.eligibleCount[family] += delta;
        this.syncDefault(family, batch);
      }
      return;
    }
    this.diff(key, this.advertisedFor(key, previous), this.advertisedFor(key, best), batch);
  }

  /**
   * Sends the whole table (after Established: `before` undefined), or only what differs from what
   * the peer got under the settings of `before` (after a policy or peer-config change), or, with
   * `resendAll`, everything the peer should have plus withdrawals of what it should no longer have
   * (ROUTE-REFRESH: `before` is this same Adj-RIB-Out).
   */
  resync(source: ExportSource, batch: AdvertisementBatch, before?: AdjRibOut, resendAll = false): void {
    this.advertisedCount = 0;
    this.eligibleCount = { ipv4: 0, ipv6: 0 };
    for (const [key, best] of source.bests()) {
      const had = source.changed.has(key) ? source.changed.get(key) : best;
      const want = this.advertisedFor(key, best);
      this.diff(key, before?.advertisedFor(key, had), want, batch, true, resendAll);
      if (this.peer.downstream && this.isEligible(key, best)) this.eligibleCount[familyOfKey(key)]++;
    }
    for (const [key, had] of source.changed) {
      if (source.bestOf(key) !== undefined) continue;
      this.diff(key, before?.advertisedFor(key, had), undefined, batch, true);
    }
    for (const family of ['ipv4', 'ipv6'] as const) {
      const hadDefault = before?.defaultSent[family];
      this.defaultSent[family] = hadDefault;
      if (hadDefault) this.advertisedCount++;
      this.syncDefault(family, batch, resendAll);
      // Leaving downstream mode withdraws our default after the loop above announced a real
      // default route the peer should now have; the batch keeps the last word, so say it again.
      const key = DEFAULT_ROUTE_KEY[family];
      const real = this.advertisedFor(key, source.bestOf(key));
      if (hadDefault && real) batch.announce(key, real);
    }
  }

  advertised(source: ExportSource): Array<[PrefixKey, PathAttributes]> {
    const out: Array<[PrefixKey, PathAttributes]> = [];
    for (const family of ['ipv4', 'ipv6'] as const) {
      const attrs = this.defaultSent[family];
      if (attrs) out.push([DEFAULT_ROUTE_KEY[family], attrs]);
    }
    for (const [key, best] of source.bests()) {
      const attrs = this.advertisedFor(key, best);
      if (attrs) out.push([key, attrs]);
    }
    return out;
  }

  get size(): number {
    return this.advertisedCount;
  }

  private diff(
    key: PrefixKey,
    had: PathAttributes | undefined,
    want: PathAttributes | undefined,
    batch: AdvertisementBatch,
    counting = false,
    resendAll = false,
  ): void {
    if (counting) {
      if (want !== undefined) this.advertisedCount++;
    } else if (had === undefined && want !== undefined) {
      this.advertisedCount++;
    } else if (had !== undefined && want === undefined) {
      this.advertisedCount--;
    }
    if (had === want && !(resendAll && want !== undefined)) return;
    if (want === undefined) batch.withdraw(key);
    else batch.announce(key, want);
  }

  private isEligible(key: PrefixKey, best: PathFacts | undefined): boolean {
    return best !== undefined && typeof this.desired(key, best) !== 'string';
  }

  /** Announces or withdraws the downward default of a family to match the eligible count. */
  private syncDefault(family: AddressFamily, batch: AdvertisementBatch, resendAll = false): void {
    let want: PathAttributes | undefined;
    if (this.peer.downstream && this.eligibleCount[family] > 0) {
      const verdict = this.protocolVerdict(DOWNWARD_DEFAULT_PATH, family);
      want = typeof verdict === 'string' ? undefined : verdict;
    }
    const had = this.defaultSent[family];
    if (want === had) {
      if (resendAll && want !== undefined) batch.announce(DEFAULT_ROUTE_KEY[family], want);
      return;
    }
    this.defaultSent[family] = want;
    this.diff(DEFAULT_ROUTE_KEY[family], had, want, batch);
  }

  private protocolVerdict(path: PathFacts, family: AddressFamily): ProtocolVerdict {
    const cache = this.verdictCache[family];
    let bySource = cache.get(path.attrs);
    if (bySource === undefined) {
      bySource = new Map();
      cache.set(path.attrs, bySource);
    }
    let verdict = bySource.get(path.source);
    if (verdict === undefined) {
      const blocked = advertisementBlocker(path, this.peer);
      if (blocked !== undefined) verdict = blocked;
      else {
        const rewritten = rewriteForPeer(path, family, this.peer, this.context);
        verdict = typeof rewritten === 'string' ? rewritten : this.interner.intern(rewritten);
      }
      bySource.set(path.source, verdict);
    }
    return verdict;
  }
}
