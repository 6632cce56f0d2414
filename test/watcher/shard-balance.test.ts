/**
 * Sharding's pure parts: the stable hash, and the balance step each replica takes on what it read of
 * the shard Leases. Time is a number handed in; the simulation below plays replicas joining, being
 * partitioned and dying against an in-memory Lease store with compare-and-swap, on a stepped clock.
 */
import { describe, expect, it } from 'vitest';
import { fnv1a32, shardLeaseName, shardOf } from '../../engine/shards.js';
import { planBalance, type ShardLease } from '../../watcher/shard-balance.js';

const DURATION = 15_000;
const RENEW_DEADLINE = 10_000;
const T0 = 1_000_000;

const lease = (shard: number, holder?: string, renewedAt = T0, request?: { identity: string; at: number }): ShardLease => ({
  shard,
  durationMs: DURATION,
  ...(holder && { holder, renewedAt }),
  ...(request && { request }),
});

describe('the shard of a JobConfig', () => {
  it('is FNV-1a 32 of <namespace>/<config>, the same in every process', () => {
    // Reference values of FNV-1a 32 (the published test vectors).
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    expect(shardOf('batch', 'nightly', 7)).toBe(fnv1a32('batch/nightly') % 7);
    expect(shardOf(undefined, 'nightly', 7)).toBe(fnv1a32('/nightly') % 7);
    expect(shardOf('batch', 'nightly', 1)).toBe(0);
  });

  it('spreads configs evenly: 4,000 names over 4 shards, each within 10% of a quarter', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardOf(`team-${i % 37}`, `config-${i}`, 4)]!++;
    for (const count of counts) expect(Math.abs(count - 1000)).toBeLessThan(100);
  });

  it('names one Lease per shard; one shard keeps the plain leader Lease', () => {
    expect(shardLeaseName('taskplane-watcher', 0, 1)).toBe('taskplane-watcher');
    expect([0, 1].map((i) => shardLeaseName('taskplane-watcher', i, 2))).toEqual(['taskplane-watcher-shard-0', 'taskplane-watcher-shard-1']);
  });
});

describe('one balance step', () => {
  it('alone: takes every free shard (absent and expired Leases alike)', () => {
    const now = T0 + 1000;
    expect(planBalance([lease(0), lease(1, 'gone', now - DURATION - 1), lease(2, 'a', now)], 'a', now)).toEqual({ acquire: [0, 1] });
  });

  it('a Lease renewed within its duration is not free, one second past it is', () => {
    const leases = [lease(0, 'b', T0), lease(1, 'b', T0)];
    expect(planBalance(leases, 'a', T0 + DURATION)).toEqual({ request: 0 });
    expect(planBalance(leases, 'a', T0 + DURATION + 1)).toEqual({ acquire: [0, 1] });
  });

  it('joining with nothing free: asks the replica holding the most, on a shard nobody else asked for', () => {
    const now = T0 + 1000;
    const leases = [lease(0, 'b', now, { identity: 'c', at: now }), lease(1, 'b', now), lease(2, 'b', now), lease(3, 'c', now)];
    expect(planBalance(leases, 'a', now)).toEqual({ request: 1 });
  });

  it('a request is refreshed only after half its life, and not made where no one holds more than the share', () => {
    const leases = (at: number) => [lease(0, 'b', at, { identity: 'a', at: T0 }), lease(1, 'b', at)];
    expect(planBalance(leases(T0 + 1000), 'a', T0 + 1000)).toEqual({});
    expect(planBalance(leases(T0 + DURATION / 2 + 1), 'a', T0 + DURATION / 2 + 1)).toEqual({ request: 0 });
    // Two shards, b and c hold one each: a third replica is a standby.
    expect(planBalance([lease(0, 'b', T0), lease(1, 'c', T0)], 'a', T0 + 1000)).toEqual({});
  });

  it('the holder hands over a requested shard only while it holds more than its share (the requester counted)', () => {
    const now = T0 + 1000;
    const asked = (by: string) => ({ identity: by, at: now - 500 });
    expect(planBalance([lease(0, 'a', now), lease(1, 'a', now, asked('b'))], 'a', now)).toEqual({ handOver: { shard: 1, to: 'b' } });
    // Two shards, three replicas: a holding one is at its share; c's request waits.
    expect(planBalance([lease(0, 'a', now, asked('c')), lease(1, 'b', now)], 'a', now)).toEqual({});
    // A stale request counts for nothing.
    expect(planBalance([lease(0, 'a', now), lease(1, 'a', now, { identity: 'b', at: now - DURATION - 1 })], 'a', now)).toEqual({});
  });

  it('a Lease that could not be read is neither free nor counted', () => {
    expect(planBalance([undefined, lease(1)], 'a', T0)).toEqual({ acquire: [1] });
  });
});

/** A deterministic PRNG (mulberry32): the same seed plays the same interleaving. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface StoredLease {
  holder?: string;
  renewedAt?: number;
  request?: { identity: string; at: number };
  version: number;
}

/**
 * Replicas against an in-memory Lease store with compare-and-swap, as watcher/shards.ts drives
 * watcher/lease.ts: read every Lease, renew our own, take the balance step. A replica acts on a shard
 * from a successful write until its renew deadline, unless it steps down or hands the shard over.
 */
class Simulation {
  readonly store: StoredLease[];
  readonly acting = new Map<string, Map<number, number>>();
  readonly partitioned = new Set<string>();
  violations: string[] = [];

  constructor(shards: number, private readonly next: () => number) {
    this.store = Array.from({ length: shards }, () => ({ version: 0 }));
  }

  join(id: string): void {
    this.acting.set(id, new Map());
  }

  /** kill -9: the process acts on nothing any more, and its Leases expire. */
  kill(id: string): void {
    this.acting.delete(id);
  }

  /** Every live replica reads at `now`, then they write in a random order (so CAS races happen). */
  step(now: number): void {
    const reads = new Map<string, StoredLease[]>();
    for (const id of this.acting.keys()) if (!this.partitioned.has(id)) reads.set(id, this.store.map((l) => ({ ...l })));
    const order = [...reads.keys()].sort(() => this.next() - 0.5);
    for (const id of order) this.tick(id, reads.get(id)!, now);
    this.check(now);
    if (process.env.SEED) console.log(now - T0, JSON.stringify(this.store), JSON.stringify([...this.acting].map(([id, m]) => [id, [...m.keys()]])));
  }

  private tick(id: string, read: StoredLease[], now: number): void {
    const acting = this.acting.get(id)!;
    const write = (shard: number, change: Partial<StoredLease>) => {
      if (this.store[shard]!.version !== read[shard]!.version) return false;
      this.store[shard] = { ...this.store[shard]!, ...change, version: this.store[shard]!.version + 1 };
      read[shard] = { ...this.store[shard]! };
      return true;
    };
    // As LeaseLock does: a renewal or a request that lost a race is read again and tried once more.
    const writeAgain = (shard: number, change: Partial<StoredLease>, valid: (lease: StoredLease) => boolean) => {
      if (write(shard, change)) return true;
      read[shard] = { ...this.store[shard]! };
      return valid(read[shard]!) && write(shard, change);
    };
    const views = read.map((l, shard) => lease(shard, l.holder, l.renewedAt, l.request));
    read.forEach((l, shard) => {
      if (l.holder !== id) return void acting.delete(shard);
      const request = l.request && l.request.at + DURATION >= now ? l.request : undefined;
      if (writeAgain(shard, { renewedAt: now, request }, (fresh) => fresh.holder === id)) acting.set(shard, now + RENEW_DEADLINE);
    });
    const step = planBalance(views, id, now);
    for (const shard of step.acquire ?? []) if (write(shard, { holder: id, renewedAt: now, request: undefined })) acting.set(shard, now + RENEW_DEADLINE);
    if (step.request !== undefined) {
      const holder = read[step.request]!.holder;
      writeAgain(step.request, { request: { identity: id, at: now } }, (fresh) => fresh.holder === holder && !(fresh.request && fresh.request.identity !== id && fresh.request.at + DURATION >= now));
    }
    if (step.handOver) {
      acting.delete(step.handOver.shard);
      write(step.handOver.shard, { holder: step.handOver.to, renewedAt: now, request: undefined });
    }
  }

  /** Acting on shards held by the store's holder or not, no two replicas may act on one shard at `now`. */
  private check(now: number): void {
    this.store.forEach((_, shard) => {
      const actors = [...this.acting].filter(([, shards]) => (shards.get(shard) ?? 0) > now).map(([id]) => id);
      if (actors.length > 1) this.violations.push(`t=${now - T0}: shard ${shard} acted on by ${actors.join(' and ')}`);
    });
  }

  held(id: string, now: number): number[] {
    return [...(this.acting.get(id) ?? [])].filter(([, until]) => until > now).map(([shard]) => shard);
  }
}

describe('replicas balancing shards over time (simulated Leases, stepped clock)', () => {
  const SEEDS = Number(process.env.SEEDS ?? 300);

  it(`join, partition, heal and kill -9: never two replicas acting on one shard; every shard back in the hands of a live replica, each at most its share (${SEEDS} interleavings)`, () => {
    for (let seed = Number(process.env.SEED ?? 1); seed <= SEEDS; seed++) {
      if (process.env.SEED) console.log("seed", seed);
      const next = random(seed);
      const sim = new Simulation(4, next);
      let now = T0;
      const steps = (count: number) => {
        for (let i = 0; i < count; i++) sim.step((now += 500 + Math.floor(next() * 2500)));
      };
      sim.join('a');
      steps(5);
      expect(sim.held('a', now), `seed ${seed}: a alone holds all`).toEqual([0, 1, 2, 3]);
      sim.join('b');
      steps(20);
      expect(sim.held('b', now).length, `seed ${seed}: b got its share`).toBe(2);
      sim.join('c');
      steps(20);
      sim.partitioned.add('a');
      steps(20);
      expect(sim.held('a', now), `seed ${seed}: a partitioned acts on nothing`).toEqual([]);
      sim.partitioned.delete('a');
      steps(20);
      sim.kill('b');
      steps(30);
      const held = ['a', 'c'].map((id) => sim.held(id, now));
      expect(held.flat().sort(), `seed ${seed}: every shard held by a survivor`).toEqual([0, 1, 2, 3]);
      expect(held.map((shards) => shards.length), `seed ${seed}: two each`).toEqual([2, 2]);
      expect(sim.violations, `seed ${seed}`).toEqual([]);
    }
  });
});
