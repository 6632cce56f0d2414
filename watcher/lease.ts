/**
 * One coordination.k8s.io/v1 Lease, held as client-go's leader election holds it: the holder renews
 * it; another replica takes it over only once it has not been renewed for a whole lease duration.
 * Every write is a compare-and-swap on the Lease's resourceVersion, so two replicas can never both
 * believe they hold it after a write succeeded. Holding lasts from a successful write until the
 * renew deadline (shorter than the lease duration) unless renewed again, even while a request hangs.
 *
 * A shard's Lease also carries a request for it (annotations written with the same CAS), which its
 * holder answers by handing the Lease over (see shard-balance.ts).
 */
import { EventEmitter } from 'node:events';
import { isAlreadyExists, isConflict, isNotFound, type KubeClient, type KubeObject } from './kube/client.js';
import type { ShardLease } from './shard-balance.js';

export interface LeaseTimings {
  /** @default 15 */
  readonly leaseDurationSeconds?: number;
  /** How often to renew or try to acquire. @default 2000 */
  readonly retryPeriodMs?: number;
  /** A holder that could not renew for this long stops acting. @default 10000 */
  readonly renewDeadlineMs?: number;
}

export interface LeaseLockOptions extends LeaseTimings {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
}

interface Lease extends KubeObject {
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

/** Who asked for this Lease, and when (MicroTime). */
export const ANNOTATION_REQUESTED_BY = 'taskplane.dev/shard-requested-by';
export const ANNOTATION_REQUESTED_AT = 'taskplane.dev/shard-requested-at';

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaseLock extends EventEmitter<{ started: []; stopped: [] }> {
  private holding = false;
  /** Stops holding once the renew deadline passed without a renewal. */
  private deadline?: NodeJS.Timeout;
  private lease?: Lease;
  private closed = false;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaseLockOptions,
  ) {
    super();
  }

  get isHeld(): boolean {
    return this.holding;
  }

  private get durationSeconds(): number {
    return this.options.leaseDurationSeconds ?? 15;
  }

  /** Reads the Lease (remembered for the writes that follow); what the balance sees of it. */
  async read(shard: number): Promise<ShardLease> {
    await this.fetch();
    const spec = this.lease?.spec;
    const annotations = this.lease?.metadata.annotations ?? {};
    const requestedBy = annotations[ANNOTATION_REQUESTED_BY];
    const requestedAt = Date.parse(annotations[ANNOTATION_REQUESTED_AT] ?? '');
    return {
      shard,
      durationMs: (spec?.leaseDurationSeconds ?? this.durationSeconds) * 1000,
      ...(spec?.holderIdentity && { holder: spec.holderIdentity }),
      ...(spec?.renewTime && { renewedAt: Date.parse(spec.renewTime) }),
      ...(requestedBy && Number.isFinite(requestedAt) && { request: { identity: requestedBy, at: requestedAt } }),
    };
  }

  private async fetch(): Promise<void> {
    this.lease = await this.client
      .get<Lease>('coordination.k8s.io/v1', 'Lease', this.options.namespace, this.options.name)
      .catch((error) => (isNotFound(error) ? undefined : Promise.reject(error)));
  }

  /** The last read says we hold it. */
  get ours(): boolean {
    return this.lease?.spec.holderIdentity === this.options.identity;
  }

  /**
   * Renews a Lease the last read says is ours (a stale request is dropped on the way). A conflict (a
   * request written meanwhile) is read again and tried once more.
   */
  async renew(now: number): Promise<void> {
    for (let attempt = 0; attempt < 2 && this.lease && this.ours && !this.closed; attempt++) {
      const annotations = { ...this.lease.metadata.annotations };
      const requestedAt = Date.parse(annotations[ANNOTATION_REQUESTED_AT] ?? '');
      if (!(requestedAt + this.durationSeconds * 1000 >= now)) {
        delete annotations[ANNOTATION_REQUESTED_BY];
        delete annotations[ANNOTATION_REQUESTED_AT];
      }
      const lease = { ...this.lease, metadata: { ...this.lease.metadata, annotations }, spec: { ...this.lease.spec, ...this.mine(now) } };
      if (await this.write(lease)) return this.renewed(now);
      await this.fetch();
    }
    this.stepDownUnlessOurs();
  }

  /** Takes a free or expired Lease (creating it the first time). */
  async acquire(now: number): Promise<void> {
    if (this.closed) return;
    if (!this.lease) {
      await this.client
        .create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.options.name, namespace: this.options.namespace },
          spec: { ...this.mine(now), acquireTime: microTime(now), leaseTransitions: 0 },
        })
        .then(() => this.renewed(now), (error) => (isAlreadyExists(error) ? undefined : Promise.reject(error)));
      return;
    }
    if (this.ours) return this.renew(now);
    const transitions = (this.lease.spec.leaseTransitions ?? 0) + 1;
    if (await this.write({ ...this.lease, spec: { ...this.mine(now), acquireTime: microTime(now), leaseTransitions: transitions } })) this.renewed(now);
  }

  /** Asks the holder for this Lease; a conflict (its renewal) is read again and tried once more, if no one else asked meanwhile. */
  async request(now: number): Promise<void> {
    const holder = this.lease?.spec.holderIdentity;
    for (let attempt = 0; attempt < 2 && this.lease && !this.closed; attempt++) {
      const asked = this.lease.metadata.annotations?.[ANNOTATION_REQUESTED_BY];
      if (this.lease.spec.holderIdentity !== holder || (attempt > 0 && asked && asked !== this.options.identity)) return;
      const annotations = { ...this.lease.metadata.annotations, [ANNOTATION_REQUESTED_BY]: this.options.identity, [ANNOTATION_REQUESTED_AT]: microTime(now) };
      if (await this.write({ ...this.lease, metadata: { ...this.lease.metadata, annotations } })) return;
      await this.fetch();
    }
  }

  /** Stops acting on this Lease while still its holder on record: the first half of a hand-over. */
  relinquish(): void {
    this.setHolding(false);
  }

  /**
   * Writes `to` as the holder (after relinquish and the shard's work drained). `to` acts only after
   * its own renewal succeeds; if it is gone the Lease expires as any other. False if the Lease moved on.
   */
  async handOver(to: string, now: number): Promise<boolean> {
    if (!this.lease || !this.ours) return false;
    const annotations = { ...this.lease.metadata.annotations };
    delete annotations[ANNOTATION_REQUESTED_BY];
    delete annotations[ANNOTATION_REQUESTED_AT];
    const spec = { ...this.lease.spec, holderIdentity: to, renewTime: microTime(now), acquireTime: microTime(now), leaseTransitions: (this.lease.spec.leaseTransitions ?? 0) + 1 };
    return this.write({ ...this.lease, metadata: { ...this.lease.metadata, annotations }, spec });
  }

  /** On a clean stop: stop acting and release the Lease so another replica takes it at once. */
  async release(): Promise<void> {
    this.closed = true;
    const held = this.holding;
    this.setHolding(false);
    if (!held) return;
    try {
      const lease = await this.client.get<Lease>('coordination.k8s.io/v1', 'Lease', this.options.namespace, this.options.name);
      if (lease.spec.holderIdentity === this.options.identity) {
        await this.client.replace({ ...lease, spec: { ...lease.spec, holderIdentity: undefined, renewTime: microTime(0) } } as Lease);
      }
    } catch {
      // Best effort: without release the lease simply expires.
    }
  }

  private mine(now: number) {
    return { holderIdentity: this.options.identity, leaseDurationSeconds: this.durationSeconds, renewTime: microTime(now) };
  }

  /**
   * True when the compare-and-swap won. A conflict means another replica wrote first (a request
   * for it, or a takeover): the next read decides, and holding ends at the renew deadline at the latest.
   */
  private async write(lease: Lease): Promise<boolean> {
    try {
      this.lease = await this.client.replace<Lease>(lease);
      return true;
    } catch (error) {
      if (!isConflict(error)) throw error;
      return false;
    }
  }

  /**
   * The lease now says renewed at `at` (when the attempt began). Holding lasts until `at` plus the
   * renew deadline unless renewed again: a tick stuck on a request that never answers (a partition)
   * must not keep us acting while another replica takes the expired lease over.
   */
  private renewed(at: number): void {
    const left = at + (this.options.renewDeadlineMs ?? 10_000) - Date.now();
    if (left <= 0 || this.closed) return;
    this.setHolding(true);
    clearTimeout(this.deadline);
    this.deadline = setTimeout(() => this.setHolding(false), left);
  }

  /** Another replica holds it now (read after a conflict or an expiry): stop at once. */
  stepDownUnlessOurs(): void {
    if (!this.ours) this.setHolding(false);
  }

  private setHolding(holding: boolean): void {
    if (!holding) clearTimeout(this.deadline);
    if (holding === this.holding) return;
    this.holding = holding;
    this.emit(holding ? 'started' : 'stopped');
  }
}
