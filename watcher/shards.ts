/**
 * Leader election per shard: one Lease per shard (the Lease `name` itself when there is one shard,
 * which is plain leader election), each held with LeaseLock's CAS rules, and a balance step every
 * retry period (shard-balance.ts) that takes free shards, asks for one, or hands one over. A shard
 * is acted on only while its Lease is held: 'started' and 'stopped' say when.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { KubeClient } from './kube/client.js';
import { LeaseLock, type LeaseTimings } from './lease.js';
import { shardLeaseName } from '../engine/shards.js';
import { planBalance } from './shard-balance.js';

export interface LeaderElectionOptions extends LeaseTimings {
  readonly namespace: string;
  /** The Lease's name; with several shards, the prefix of `<name>-shard-<i>`. */
  readonly name: string;
  readonly identity: string;
  /** @default 1 - one Lease, one leader: no sharding */
  readonly shards?: number;
}

export interface ShardElectorHooks {
  /** A shard about to be handed over stopped acting: resolves once its work in flight finished. */
  drain(shard: number): Promise<void>;
  logger?: Logger;
}

export class ShardElector extends EventEmitter<{ started: [shard: number]; stopped: [shard: number] }> {
  private readonly locks: LeaseLock[];
  private timer?: NodeJS.Timeout;
  private running = false;
  private ticking?: Promise<void>;

  constructor(
    client: KubeClient,
    private readonly options: LeaderElectionOptions,
    private readonly hooks: ShardElectorHooks,
  ) {
    super();
    const shards = options.shards ?? 1;
    if (!Number.isInteger(shards) || shards < 1) throw new Error(`shards must be a whole number of at least 1, got ${shards}`);
    this.locks = Array.from({ length: shards }, (_, shard) => {
      const lock = new LeaseLock(client, { ...options, name: shardLeaseName(options.name, shard, shards) });
      lock.on('started', () => this.emit('started', shard));
      lock.on('stopped', () => this.emit('stopped', shard));
      return lock;
    });
  }

  get shards(): number {
    return this.locks.length;
  }

  owns(shard: number): boolean {
    return this.locks[shard]?.isHeld ?? false;
  }

  /** The shards held now. */
  get held(): number[] {
    return this.locks.flatMap((lock, shard) => (lock.isHeld ? [shard] : []));
  }

  start(): void {
    this.running = true;
    this.schedule(0);
  }

  /** Stops campaigning and releases every Lease held, so other replicas take them at once. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.ticking;
    await Promise.all(this.locks.map((lock) => lock.release()));
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        if (this.running) this.schedule(this.options.retryPeriodMs ?? 2000);
      });
    }, ms);
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    const leases = await Promise.all(this.locks.map((lock, shard) => lock.read(shard).catch(() => undefined)));
    if (!this.running) return;
    // Renew first: a hand-over below may wait, and our other shards must not run out meanwhile.
    await Promise.all(
      this.locks.map(async (lock, shard) => {
        if (leases[shard] === undefined) return;
        lock.stepDownUnlessOurs();
        await lock.renew(now).catch((error: Error) => this.warn(shard, 'renew', error));
      }),
    );
    const step = planBalance(leases, this.options.identity, now);
    for (const shard of step.acquire ?? []) await this.locks[shard]!.acquire(now).catch((error: Error) => this.warn(shard, 'acquire', error));
    if (step.request !== undefined) {
      this.hooks.logger?.info({ shard: step.request, holder: leases[step.request]?.holder }, 'asking for a shard');
      await this.locks[step.request]!.request(now).catch((error: Error) => this.warn(step.request!, 'request', error));
    }
    if (step.handOver) await this.handOver(step.handOver.shard, step.handOver.to);
  }

  /** Stops acting on the shard, lets its work in flight finish (bounded), then writes `to` as holder. */
  private async handOver(shard: number, to: string): Promise<void> {
    const lock = this.locks[shard]!;
    lock.relinquish();
    const bound = (this.options.renewDeadlineMs ?? 10_000) / 2;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.hooks.drain(shard), new Promise((resolve) => (timer = setTimeout(resolve, bound)))]);
    clearTimeout(timer);
    const handed = await lock.handOver(to, Date.now()).catch((error: Error) => this.warn(shard, 'hand over', error));
    this.hooks.logger?.info({ shard, to, handed: handed === true }, handed ? 'handed a shard over' : 'could not hand a shard over; keeping it');
  }

  private warn(shard: number, what: string, error: Error): undefined {
    this.hooks.logger?.debug({ shard, err: error.message }, `lease ${what} failed`);
    return undefined;
  }
}
