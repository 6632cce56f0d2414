/**
 * Leader election over a coordination.k8s.io/v1 Lease, as client-go does it: the holder renews the
 * lease; another replica takes it over only once it has not been renewed for a whole lease
 * duration. Every write is a compare-and-swap on the Lease's resourceVersion, so two replicas can
 * never both believe they hold it after a write succeeded.
 */
import { EventEmitter } from 'node:events';
import { isConflict, isNotFound, type KubeClient, type KubeObject } from './kube/client.js';

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  /** @default 15 */
  readonly leaseDurationSeconds?: number;
  /** How often to renew or try to acquire. @default 2000 */
  readonly retryPeriodMs?: number;
  /** A leader that could not renew for this long steps down. @default 10000 */
  readonly renewDeadlineMs?: number;
}

interface Lease extends KubeObject {
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
const microTime = (date: Date) => date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector extends EventEmitter<{ started: []; stopped: [] }> {
  private leading = false;
  private timer?: NodeJS.Timeout;
  /** Steps down once the renew deadline passed without a renewal, even while a request hangs. */
  private deadline?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
  ) {
    super();
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.running = true;
    void this.tick();
  }

  /** Stops campaigning; a leader releases the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.getLease();
      if (lease?.spec.holderIdentity === this.options.identity) {
        await this.client.replace({ ...lease, spec: { ...lease.spec, holderIdentity: undefined, renewTime: microTime(new Date(0)) } } as Lease);
      }
    } catch {
      // Best effort: without release the lease simply expires.
    }
  }

  private async tick(): Promise<void> {
    try {
      await this.tryAcquireOrRenew();
    } catch {
      // Network or API errors: keep trying; a leader steps down at the renew deadline (see renewed).
    }
    if (this.running) this.timer = setTimeout(() => void this.tick(), this.options.retryPeriodMs ?? 2000);
  }

  private getLease(): Promise<Lease | undefined> {
    return this.client
      .get<Lease>('coordination.k8s.io/v1', 'Lease', this.options.namespace, this.options.name)
      .catch((error) => (isNotFound(error) ? undefined : Promise.reject(error)));
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const now = new Date();
    const duration = this.options.leaseDurationSeconds ?? 15;
    const lease = await this.getLease();
    const renewed = () => this.renewed(now.getTime());
    const mine = { holderIdentity: this.options.identity, leaseDurationSeconds: duration, renewTime: microTime(now) };
    if (!lease) {
      await this.client.create({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.options.name, namespace: this.options.namespace },
        spec: { ...mine, acquireTime: microTime(now), leaseTransitions: 0 },
      });
      return renewed();
    }
    const holder = lease.spec.holderIdentity;
    if (holder === this.options.identity) {
      if (await this.write({ ...lease, spec: { ...lease.spec, ...mine } })) renewed();
      return;
    }
    const renewedAt = lease.spec.renewTime ? Date.parse(lease.spec.renewTime) : 0;
    const expired = !holder || renewedAt + (lease.spec.leaseDurationSeconds ?? duration) * 1000 < now.getTime();
    if (!expired) return this.setLeading(false);
    const acquired = await this.write({
      ...lease,
      spec: { ...mine, acquireTime: microTime(now), leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 },
    });
    if (acquired) renewed();
  }

  /** True when the compare-and-swap won; false when another replica wrote the lease first. */
  private async write(lease: Lease): Promise<boolean> {
    try {
      await this.client.replace(lease);
      return true;
    } catch (error) {
      if (!isConflict(error)) throw error;
      this.setLeading(false);
      return false;
    }
  }

  /**
   * The lease now says renewed at `at` (when the attempt began). Leadership lasts until `at` plus the
   * renew deadline unless renewed again: a tick stuck on a request that never answers (a partition)
   * must not keep us leading while another replica takes the expired lease over.
   */
  private renewed(at: number): void {
    const left = at + (this.options.renewDeadlineMs ?? 10_000) - Date.now();
    if (left <= 0 || !this.running) return;
    this.setLeading(true);
    clearTimeout(this.deadline);
    this.deadline = setTimeout(() => this.setLeading(false), left);
  }

  private setLeading(leading: boolean): void {
    if (!leading) clearTimeout(this.deadline);
    if (leading === this.leading) return;
    this.leading = leading;
    this.emit(leading ? 'started' : 'stopped');
  }
}
