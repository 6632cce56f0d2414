/**
 * The watcher's due times read its clock (WatcherOptions.clock), not the wall clock: a Deferred run's
 * startAfter and a retry delay pass when a ManualClock is moved past them, with no test waiting for
 * them in real time, and not before.
 */
import { Duration } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Materialization, TaskTemplate } from '../../constructs/index.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import { ManualClock } from '../../watcher/clock.js';
import type { Watcher } from '../../watcher/controller.js';
import { applyCrds, createNamespace, finishPod, waitUntil, type TestNamespace } from '../cluster/client.js';
import { applyAsGitOps, ARGOCD, getRun, podTask, startWatcher, synthRun, testClient, waitForRun } from './helpers.js';

const client = testClient();
const HOUR = 3_600_000;
let watcher: Watcher;
let ns: TestNamespace;
// Relative to the real time (task objects carry real timestamps), then moved only by the test.
const clock = new ManualClock(new Date());

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
  ns = await createNamespace('tp-clock');
  watcher = await startWatcher({ namespace: ns.name, clock });
});

afterAll(async () => {
  await watcher?.stop();
  await ns?.delete();
});

const podsOf = async (run: string) => (await client.list('v1', 'Pod', { labelSelector: `taskplane.dev/run=${run}` }, ns.name)).items.map((p) => p.metadata.name).sort();
const realPause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('due times on the watcher clock', () => {
  it('a Deferred run starts when the clock passes its startAfter, and its retry when the clock passes the retry delay', async () => {
    const t0 = clock.now().getTime();
    const { config, run } = synthRun(ns.name, { name: 'later', maxAttempts: 2, retryDelay: Duration.minutes(10), task: TaskTemplate.pod({ spec: podTask() }) }, (c) =>
      c.run('r', { materialization: Materialization.DEFERRED, startAfter: new Date(t0 + HOUR) }),
    );
    await applyAsGitOps([config, run]);
    const queued = await waitForRun(client, ns.name, 'later-r', 'Queued', (r) => r.status?.phase === 'Queued');
    expect(queued.status?.reason).toBe('NotYetDue');
    await realPause(1500);
    expect(await podsOf('later-r')).toEqual([]);

    clock.advance(HOUR - 60_000);
    await realPause(1500);
    expect(await podsOf('later-r')).toEqual([]);
    clock.advance(60_000);
    await waitUntil('the first attempt', async () => ((await podsOf('later-r')).length === 1 ? true : undefined), 10_000);

    await finishPod(ns.name, 'later-r-0-0', 'Failed');
    await waitForRun(client, ns.name, 'later-r', 'RetryBackoff', (r) => r.status?.phase === 'RetryBackoff');
    await realPause(1500);
    expect(await podsOf('later-r')).toEqual(['later-r-0-0']);
    // The failure's time is the real one, a moment after the clock's: 11 minutes covers the 10.
    clock.advance(11 * 60_000);
    await waitUntil('the retry', async () => ((await podsOf('later-r')).length === 2 ? true : undefined), 10_000);
    expect(await podsOf('later-r')).toEqual(['later-r-0-0', 'later-r-0-1']);
    // The run's record is in the watcher's time too: it started when the clock reached startAfter.
    expect(Date.parse((await getRun(client, ns.name, 'later-r')).status!.startTime!)).toBe(t0 + HOUR);
  });
});
