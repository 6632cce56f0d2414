/**
 * Notices when the API server comes back. While requests fail with network errors or 5xx, the
 * work queue's per-run backoff and the reflectors' list backoff grow (up to minutes); without a
 * signal that the server is back, runs whose retries fell due during the outage would wait out
 * those backoffs. While the server seems down this polls `/readyz` every `probeIntervalMs` and
 * calls `onRecovered` once it answers 200.
 */
import type { KubeClient } from './kube/client.js';

export interface ApiHealthOptions {
  /** @default 500 */
  readonly probeIntervalMs?: number;
  readonly onRecovered: () => void;
}

/** Answers that say the server (or the way to it) is down, not that the request was wrong. */
export const isOutage = (status: number) => status === 0 || status === 502 || status === 503 || status === 504;

export class ApiHealth {
  private down = false;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly client: () => KubeClient,
    private readonly options: ApiHealthOptions,
  ) {}

  get reachable(): boolean {
    return !this.down;
  }

  /** Feeds one request's outcome (status 0: no answer). */
  observe(status: number): void {
    if (isOutage(status)) this.markDown();
  }

  markDown(): void {
    if (this.down || this.stopped) return;
    this.down = true;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.probe(), this.options.probeIntervalMs ?? 500);
    this.timer.unref();
  }

  private async probe(): Promise<void> {
    if (this.stopped) return;
    const ready = await this.client()
      .request('GET', '/readyz')
      .then(() => true, () => false);
    if (this.stopped) return;
    if (!ready) return this.schedule();
    this.down = false;
    this.options.onRecovered();
  }
}
