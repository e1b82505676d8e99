/**
 * Adj-RIB-Out: per peer, what we have told it. Keeping it (rather than recomputing from the
 * Loc-RIB on each change, as BIRD does without `export table`) lets an export change be diffed:
 * we send an UPDATE only when the attributes the peer would see actually change, and a withdraw
 * only for prefixes the peer really has from us. Values are interned attributes, so a full table
 * to a peer costs one map entry per prefix.
 *
 * Downward default (the seed's "Downward Default model"): towards a peer marked downstream we
 * send nothing but a default route per family, announced while at least one route of that family
 * would have been advertised to it under the normal rules and withdrawn when none would. So a ToR
 * tells its hosts "send everything to me" only while it has somewhere to send it, and still
 * advertises everything upward (upstream peers are ordinary peers).
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
import { LOCAL_SOURCE, RibPath, type Path, type PathSource, type PeerId } from './path.js';
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

/** What to send one peer after a batch of RIB changes. */
export interface PeerAdvertisement {
  readonly peerId: PeerId;
  readonly announce: readonly AnnouncementGroup[];
  readonly withdraw: readonly Prefix[];
  /** Families whose initial table this batch completes: send End-of-RIB for them after it (RFC 4724 2). */
  readonly endOfRib: readonly AddressFamily[];
}

/** Collects one peer's announcements and withdrawals for a batch, grouped by attributes. */
export class AdvertisementBatch {
  private readonly groups = new Map<PathAttributes, PrefixKey[]>();
  private readonly withdrawn: PrefixKey[] = [];

  announce(key: PrefixKey, attrs: PathAttributes): void {
    const group = this.groups.get(attrs);
    if (group) group.push(key);
    else this.groups.set(attrs, [key]);
  }

  withdraw(key: PrefixKey): void {
    this.withdrawn.push(key);
  }

  get isEmpty(): boolean {
    return this.groups.size === 0 && this.withdrawn.length === 0;
  }

  toAdvertisement(peerId: PeerId, endOfRib: readonly AddressFamily[]): PeerAdvertisement {
    const announce: AnnouncementGroup[] = [];
    for (const [attrs, keys] of this.groups) {
      const v4 = keys.filter((k) => typeof k === 'number');
      const v6 = keys.filter((k) => typeof k === 'string');
      if (v4.length > 0) announce.push({ family: 'ipv4', attrs, prefixes: v4.map(prefixFromKey) });
      if (v6.length > 0) announce.push({ family: 'ipv6', attrs, prefixes: v6.map(prefixFromKey) });
    }
    return { peerId, announce, withdraw: this.withdrawn.map(prefixFromKey), endOfRib };
  }
}

const DEFAULT_ROUTE_KEY: Readonly<Record<AddressFamily, PrefixKey>> = {
  ipv4: prefixKey({ family: 'ipv4', address: '0.0.0.0', length: 0 }),
  ipv6: prefixKey({ family: 'ipv6', address: '::', length: 0 }),
};

/** The default route a downstream peer gets: originated by us, next hop self after rewriting. */
const DOWNWARD_DEFAULT_ATTRS: PathAttributes = Object.freeze({ origin: Origin.IGP, asPath: [] });
const DOWNWARD_DEFAULT_PATH: Readonly<Record<AddressFamily, RibPath>> = {
  ipv4: new RibPath(
    { prefix: prefixFromKey(DEFAULT_ROUTE_KEY.ipv4) },
    DOWNWARD_DEFAULT_ATTRS,
    LOCAL_SOURCE,
    0,
    undefined,
  ),
  ipv6: new RibPath(
    { prefix: prefixFromKey(DEFAULT_ROUTE_KEY.ipv6) },
    DOWNWARD_DEFAULT_ATTRS,
    LOCAL_SOURCE,
    0,
    undefined,
  ),
};

type ProtocolVerdict = PathAttributes | NotAdvertisedReason;

export class AdjRibOut {
  private sent = new Map<PrefixKey, PathAttributes>();
  /** Downstream peers only: Loc-RIB prefixes that would be advertised under the normal rules. */
  private eligible = new Set<PrefixKey>();
  private eligibleCount: Record<AddressFamily, number> = { ipv4: 0, ipv6: 0 };
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

  /** The attributes the peer should have for this prefix, or why it should have none. */
  desired(key: PrefixKey, best: Path): PathAttributes | NotAdvertisedReason {
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

  /** Brings the peer's view of one prefix in line with the Loc-RIB best path (undefined: none). */
  update(key: PrefixKey, best: Path | undefined, batch?: AdvertisementBatch): void {
    if (this.peer.downstream) {
      this.updateDownstream(key, best, batch);
      return;
    }
    const want = best === undefined ? undefined : this.desired(key, best);
    const attrs = typeof want === 'string' ? undefined : want;
    const had = this.sent.get(key);
    if (attrs === had) return;
    if (attrs === undefined) {
      this.sent.delete(key);
      batch?.withdraw(key);
    } else {
      this.sent.set(key, attrs);
      batch?.announce(key, attrs);
    }
  }

  /**
   * Recomputes everything from the Loc-RIB's best paths and sends only the difference from what the
   * peer has: the initial table after Established, or after a policy or peer-config change.
   */
  resync(bests: Iterable<readonly [PrefixKey, Path]>, batch: AdvertisementBatch): void {
    const before = this.sent;
    this.sent = new Map();
    this.eligible = new Set();
    this.eligibleCount = { ipv4: 0, ipv6: 0 };
    for (const [key, best] of bests) this.update(key, best);
    for (const [key, attrs] of this.sent) if (before.get(key) !== attrs) batch.announce(key, attrs);
    for (const key of before.keys()) if (!this.sent.has(key)) batch.withdraw(key);
  }

  /** Takes over what an earlier Adj-RIB-Out of the same session sent (peer reconfigured). */
  inherit(previous: AdjRibOut): void {
    this.sent = previous.sent;
  }

  advertised(): IterableIterator<[PrefixKey, PathAttributes]> {
    return this.sent.entries();
  }

  get size(): number {
    return this.sent.size;
  }

  private updateDownstream(
    key: PrefixKey,
    best: Path | undefined,
    batch: AdvertisementBatch | undefined,
  ): void {
    const family = familyOfKey(key);
    const eligibleNow = best !== undefined && typeof this.desired(key, best) !== 'string';
    if (eligibleNow === this.eligible.has(key)) return;
    if (eligibleNow) {
      this.eligible.add(key);
      if (++this.eligibleCount[family] === 1) this.setDefault(family, true, batch);
    } else {
      this.eligible.delete(key);
      if (--this.eligibleCount[family] === 0) this.setDefault(family, false, batch);
    }
  }

  private setDefault(family: AddressFamily, present: boolean, batch?: AdvertisementBatch): void {
    const key = DEFAULT_ROUTE_KEY[family];
    const verdict = present ? this.protocolVerdict(DOWNWARD_DEFAULT_PATH[family], family) : undefined;
    if (verdict === undefined || typeof verdict === 'string') {
      if (this.sent.delete(key)) batch?.withdraw(key);
      return;
    }
    this.sent.set(key, verdict);
    batch?.announce(key, verdict);
  }

  private protocolVerdict(path: Path, family: AddressFamily): ProtocolVerdict {
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
