/**
 * Sharding without a coordinator (pure: no network, no timers; `now` is given). The unit of
 * ownership is the JobConfig (engine/shards.ts). Each shard has its own Lease; each replica reads them all and takes one step towards holding its share,
 * ceil(shards / live replicas):
 *   - fewer than its share: take a free or expired Lease; none free: ask, on a Lease of the replica
 *     holding the most (when it holds more than its share), by writing a request on that Lease;
 *   - more than its share with a fresh request on one of its Leases: hand that shard over.
 * Replicas are learned from the Leases themselves: unexpired holders and fresh requesters.
 */

/** What a replica read of one shard's Lease (absent Lease: no holder). */
export interface ShardLease {
  readonly shard: number;
  readonly holder?: string;
  /** When the holder last renewed (ms since the epoch). */
  readonly renewedAt?: number;
  readonly durationMs: number;
  /** A replica below its share asked for this shard. */
  readonly request?: { readonly identity: string; readonly at: number };
}

/** One step towards balance; at most one kind of write. */
export interface BalanceStep {
  /** Free or expired shards to take. */
  readonly acquire?: readonly number[];
  /** The shard to ask its holder for. */
  readonly request?: number;
  /** A shard of ours someone asked for, to hand over. */
  readonly handOver?: { readonly shard: number; readonly to: string };
}

const live = (lease: ShardLease, now: number) => lease.holder !== undefined && lease.renewedAt !== undefined && lease.renewedAt + lease.durationMs >= now;
const freshRequest = (lease: ShardLease, now: number) => (lease.request && lease.request.at + lease.durationMs >= now ? lease.request : undefined);

/**
 * The next step for `self` given every shard's Lease (undefined: could not be read this time, so it
 * is neither free nor counted).
 */
export function planBalance(leases: readonly (ShardLease | undefined)[], self: string, now: number): BalanceStep {
  const known = leases.filter((lease): lease is ShardLease => lease !== undefined);
  const held = new Map<string, number[]>([[self, []]]);
  const members = new Set([self]);
  for (const lease of known) {
    if (lease.holder === self || live(lease, now)) {
      held.set(lease.holder!, [...(held.get(lease.holder!) ?? []), lease.shard]);
      members.add(lease.holder!);
    }
    const request = freshRequest(lease, now);
    if (request) members.add(request.identity);
  }
  const share = Math.ceil(leases.length / members.size);
  const mine = held.get(self)!;
  if (mine.length < share) {
    const free = known.filter((lease) => lease.holder !== self && !live(lease, now)).map((lease) => lease.shard);
    if (free.length > 0) return { acquire: free.slice(0, share - mine.length) };
    const [top, shards] = [...held].filter(([holder]) => holder !== self).sort(([a, x], [b, y]) => y.length - x.length || a.localeCompare(b))[0] ?? [];
    if (top === undefined || shards!.length <= share) return {};
    const requests = shards!.map((shard) => ({ shard, request: freshRequest(leases[shard]!, now), halfLife: leases[shard]!.durationMs / 2 }));
    // Our own request is refreshed at half its life, so we stay counted as a member while we wait.
    if (requests.some(({ request, halfLife }) => request?.identity === self && request.at + halfLife >= now)) return {};
    const target = requests.find(({ request }) => !request || request.identity === self);
    return target ? { request: target.shard } : {};
  }
  if (mine.length > share) {
    for (const shard of mine) {
      const request = freshRequest(leases[shard]!, now);
      if (request && request.identity !== self) return { handOver: { shard, to: request.identity } };
    }
  }
  return {};
}
