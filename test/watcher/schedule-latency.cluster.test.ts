/**
 * Measurements for the closing note (printed, not asserted: speed is not a test): the time from a
 * due time to its run's creation over 120 due times, and a scheduler pass's cost per scheduled
 * JobConfig. The clock is a ManualClock moved to each due time, so the latency is the watcher's own
 * (timer wake-up, pass, create request) without waiting for wall-clock seconds; a real timer adds
 * its own slack (about 1 ms in Node). What is asserted: every due time got exactly its run.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import { ManualClock } from '../../watcher/clock.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { applyCrds, createNamespace, type TestNamespace } from '../cluster/client.js';
import { applyAsGitOps, ARGOCD, podTask, registryValue, startWatcher, testClient } from './helpers.js';
import { createMetrics } from '../../watcher/metrics.js';

const client = testClient();
let ns: TestNamespace;

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
  ns = await createNamespace('tp-sched-bench');
});

afterAll(async () => {
  await ns?.delete();
});

const jobConfig = (name: string, expression: string): KubeObject => ({
  apiVersion: 'taskplane.dev/v1alpha1',
  kind: 'JobConfig',
  metadata: { name, namespace: ns.name },
  spec: { template: { taskTemplate: { pod: { spec: podTask() } } }, concurrency: { policy: 'Allow' }, schedule: { cron: { expression } } },
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('schedule measurements', () => {
  it('due time -> run created, over 120 due times', async () => {
    const DUE_TIMES = 120;
    const start = Date.parse('2026-11-29T01:00:00Z');
    const clock = new ManualClock(new Date(start));
    await applyAsGitOps([jobConfig('every-second', '* * * * * * *')]);
    const metrics = createMetrics();
    const watcher = await startWatcher({ namespace: ns.name, clock, metrics });
    try {
      await watcher.scheduler.idle();
      const latencies: number[] = [];
      for (let i = 1; i <= DUE_TIMES; i++) {
        const created = new Promise<number>((resolve) => watcher.scheduler.once('created', () => resolve(performance.now())));
        const due = performance.now();
        clock.set(new Date(start + i * 1000));
        latencies.push((await created) - due);
        await watcher.scheduler.idle();
      }
      const runs = await client.list('taskplane.dev/v1alpha1', 'JobRun', { labelSelector: 'taskplane.dev/config=every-second' }, ns.name);
      expect(runs.items.map((r) => r.metadata.name).sort()).toEqual(Array.from({ length: DUE_TIMES }, (_, i) => `every-second-${start / 1000 + i + 1}`));
      const sorted = [...latencies].sort((a, b) => a - b);
      const creates = await registryValue(metrics, 'taskplane_api_requests_total', { verb: 'POST', resource: 'jobruns' });
      console.log(`[schedule latency] ${DUE_TIMES} due times: median ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms; JobRun creates ${creates}`);
    } finally {
      await watcher.stop();
    }
  });

  it('a pass over N scheduled JobConfigs (none due): cost per JobConfig', async () => {
    const N = 300;
    const clock = new ManualClock(new Date('2026-11-29T01:00:00Z'));
    for (let i = 0; i < N; i += 50) await applyAsGitOps(Array.from({ length: Math.min(50, N - i) }, (_, k) => jobConfig(`daily-${i + k}`, 'H H * * *')));
    const watcher = await startWatcher({ namespace: ns.name, clock });
    try {
      await watcher.scheduler.idle();
      const full: number[] = [];
      const dueOnly: number[] = [];
      for (let r = 0; r < 15; r++) {
        let t = performance.now();
        watcher.scheduler.wake();
        await watcher.scheduler.idle();
        full.push(performance.now() - t);
        t = performance.now();
        clock.advance(1);
        await watcher.scheduler.idle();
        dueOnly.push(performance.now() - t);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const heap = process.memoryUsage().heapUsed;
      console.log(`[schedule cost] ${N} scheduled JobConfigs: full pass ${median(full).toFixed(2)} ms (${((median(full) / N) * 1000).toFixed(1)} µs per JobConfig), pass with nothing due ${median(dueOnly).toFixed(3)} ms; heap ${(heap / 2 ** 20).toFixed(0)} MiB`);
      const runs = await client.list('taskplane.dev/v1alpha1', 'JobRun', { labelSelector: 'taskplane.dev/config=daily-0' }, ns.name);
      expect(runs.items).toEqual([]);
    } finally {
      await watcher.stop();
    }
  });
});
