/**
 * Schedules on the real control plane, with the watcher on a ManualClock: the tests move time to
 * each due time instead of waiting for it, so nothing here depends on today's date or sleeps for
 * wall-clock minutes. JobConfigs are synthesized by the constructs and applied the way Argo CD does.
 */
import { Chart } from 'cdk8s';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Concurrency, JobConfig, Materialization, Schedule, TaskplaneApp, TaskTemplate, Option, type JobConfigProps } from '../../constructs/index.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import type { JobConfigObject, JobRunObject } from '../../engine/schema/resources.js';
import { ManualClock } from '../../watcher/clock.js';
import type { Watcher, WatcherOptions } from '../../watcher/controller.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { applyCrds, createNamespace, finishPod, waitUntil, type TestNamespace } from '../cluster/client.js';
import { parseDocuments, readTree, tempOutdir } from '../_synth.js';
import { applyAsGitOps, ARGOCD, podTask, startWatcher, testClient } from './helpers.js';

const client = testClient();
const GITOPS_MARKS = ['app.kubernetes.io/instance', 'argocd.argoproj.io/tracking-id'];
const T = (iso: string) => new Date(iso);
const unix = (iso: string) => Math.floor(Date.parse(iso) / 1000);
let ns: TestNamespace;
const watchers: Watcher[] = [];

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
  ns = await createNamespace('tp-sched');
});

afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.stop()));
});

afterAll(async () => {
  await ns?.delete();
});

async function watcherAt(clock: ManualClock, options: Partial<WatcherOptions> = {}): Promise<Watcher> {
  const watcher = await startWatcher({ namespace: ns.name, clock, ...options });
  watchers.push(watcher);
  await watcher.scheduler.idle();
  return watcher;
}

/** The JobConfig as synth writes it (with runs from Git, if any). */
function synthConfig(props: Partial<JobConfigProps<any>> & { name: string }, gitRuns: string[] = []): { config: KubeObject; runs: KubeObject[] } {
  const app = new TaskplaneApp({ outdir: tempOutdir() });
  const config = new JobConfig(new Chart(app, 'jobs', { namespace: ns.name }), props.name, { task: TaskTemplate.pod({ spec: podTask() }), ...props });
  for (const id of gitRuns) config.run(id, { materialization: Materialization.DEFERRED, options: {} });
  app.synth();
  const files = readTree(app.outdir);
  const [configDoc] = parseDocuments(files.get(`jobs/${props.name}/jobconfig.k8s.yaml`)!);
  const runs = gitRuns.flatMap((id) => parseDocuments(files.get(`jobs/${props.name}/runs/${props.name}-${id}.k8s.yaml`)!));
  return { config: configDoc, runs };
}

async function runsOf(config: string): Promise<(JobRunObject & KubeObject)[]> {
  const list = await client.list<JobRunObject & KubeObject>('taskplane.dev/v1alpha1', 'JobRun', { labelSelector: `taskplane.dev/config=${config}` }, ns.name);
  return list.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

const names = async (config: string) => (await runsOf(config)).map((r) => r.metadata.name);

/** Moves the clock and waits for the scheduler to act on it and for its creates to be visible. */
async function advanceTo(watcher: Watcher, clock: ManualClock, iso: string): Promise<void> {
  clock.set(T(iso));
  await watcher.scheduler.idle();
}

async function configEvents(config: string): Promise<{ reason: string; message: string }[]> {
  const list = await client.list<KubeObject & { reason: string; message: string; involvedObject: { kind: string; name: string } }>('v1', 'Event', {}, ns.name);
  return list.items.filter((e) => e.involvedObject.kind === 'JobConfig' && e.involvedObject.name === config).map(({ reason, message }) => ({ reason, message }));
}

describe('runs appear on time', () => {
  it('creates a Deferred Scheduled run named <config>-<unixSeconds> at each due time, owned by the JobConfig, with option defaults', async () => {
    const clock = new ManualClock(T('2026-11-29T01:00:30Z'));
    const { config } = synthConfig({ name: 'every10', schedule: Schedule.cron('*/10 * * * *'), options: { env: Option.select({ values: ['dev', 'prod'], default: 'prod' }) } });
    await applyAsGitOps([config]);
    const watcher = await watcherAt(clock);
    await advanceTo(watcher, clock, '2026-11-29T01:09:59Z');
    expect(await names('every10')).toEqual([]);

    await advanceTo(watcher, clock, '2026-11-29T01:10:00Z');
    const [run] = await runsOf('every10');
    const live = await client.get<JobConfigObject & KubeObject>('taskplane.dev/v1alpha1', 'JobConfig', ns.name, 'every10');
    expect(run!.metadata.name).toBe(`every10-${unix('2026-11-29T01:10:00Z')}`);
    expect(run!.spec).toMatchObject({ configName: 'every10', type: 'Scheduled', materialization: 'Deferred', concurrencyPolicy: 'Allow' });
    expect(run!.spec.substitutions['option.env']).toBe('prod');
    expect(run!.metadata.annotations).toEqual({ 'taskplane.dev/schedule-time': String(unix('2026-11-29T01:10:00Z')) });
    expect(run!.metadata.ownerReferences).toEqual([{ apiVersion: 'taskplane.dev/v1alpha1', kind: 'JobConfig', name: 'every10', uid: live.metadata.uid, controller: true }]);
    // The run reconciler starts it: its first attempt is created.
    await waitUntil('the scheduled run starts', async () => (await client.get<KubeObject>('v1', 'Pod', ns.name, `${run!.metadata.name}-0-0`).catch(() => undefined)));

    await advanceTo(watcher, clock, '2026-11-29T01:30:05Z');
    expect(await names('every10')).toEqual(['01:10', '01:20', '01:30'].map((t) => `every10-${unix(`2026-11-29T${t}:00Z`)}`));
    const status = await waitUntil('JobConfig status shows the last and next schedule', async () => {
      const c = await client.get<JobConfigObject & KubeObject>('taskplane.dev/v1alpha1', 'JobConfig', ns.name, 'every10');
      return c.status?.lastScheduled === '2026-11-29T01:30:00Z' ? c.status : undefined;
    });
    expect(status.nextScheduled).toBe('2026-11-29T01:40:00Z');
    expect(status.state).toMatch(/Executing|JobQueued|ReadyEnabled/);
  });

  it('reads the expression in the zone, across the spring-forward gap (02:30 Berlin runs at the 03:00 jump)', async () => {
    const clock = new ManualClock(T('2026-03-28T12:00:00Z'));
    const { config } = synthConfig({ name: 'berlin', schedule: Schedule.cron('30 2 * * *', { timezone: 'Europe/Berlin' }) });
    await applyAsGitOps([config]);
    const watcher = await watcherAt(clock);
    await advanceTo(watcher, clock, '2026-03-29T00:59:59Z');
    expect(await names('berlin')).toEqual([]);
    await advanceTo(watcher, clock, '2026-03-29T01:00:00Z');
    await advanceTo(watcher, clock, '2026-03-30T00:30:00Z');
    expect(await names('berlin')).toEqual([`berlin-${unix('2026-03-29T01:00:00Z')}`, `berlin-${unix('2026-03-30T00:30:00Z')}`]);
  });
});

describe('concurrency', () => {
  it('Forbid skips a due run while one is unfinished, with an event', async () => {
    const clock = new ManualClock(T('2026-11-29T01:00:30Z'));
    const { config } = synthConfig({ name: 'forbid', schedule: Schedule.cron('*/10 * * * *'), concurrency: Concurrency.forbid(1) });
    await applyAsGitOps([config]);
    const watcher = await watcherAt(clock);
    await advanceTo(watcher, clock, '2026-11-29T01:10:00Z');
    await advanceTo(watcher, clock, '2026-11-29T01:20:00Z');
    expect(await names('forbid')).toEqual([`forbid-${unix('2026-11-29T01:10:00Z')}`]);
    const events = await waitUntil('a ScheduleSkipped event', async () => {
      const e = await configEvents('forbid');
      return e.some((x) => x.reason === 'ScheduleSkipped') ? e : undefined;
    });
    expect(events.find((e) => e.reason === 'ScheduleSkipped')!.message).toContain('2026-11-29T01:20:00.000Z due to concurrency policy Forbid');
  });

  it('Forbid during catch-up: one run, not one per missed time (the first is not yet in the cache)', async () => {
    const clock = new ManualClock(T('2026-11-29T01:00:30Z'));
    const { config } = synthConfig({ name: 'forbid-catchup', schedule: Schedule.cron('* * * * *'), concurrency: Concurrency.forbid(1) });
    await applyAsGitOps([config]);
    const watcher = await watcherAt(clock);
    await advanceTo(watcher, clock, '2026-11-29T01:04:30Z');
    expect(await names('forbid-catchup')).toEqual([`forbid-catchup-${unix('2026-11-29T01:01:00Z')}`]);
  });

  it('Enqueue queues due runs and starts them in order as slots free', async () => {
    const clock = new ManualClock(T('2026-11-29T01:00:30Z'));
    const { config } = synthConfig({ name: 'enqueue', schedule: Schedule.cron('*/10 * * * *'), concurrency: Concurrency.enqueue(1) });
    await applyAsGitOps([config]);
    const watcher = await watcherAt(clock);
    await advanceTo(watcher, clock, '2026-11-29T01:30:00Z');
    const runNames = ['01:10', '01:20', '01:30'].map((t) => `enqueue-${unix(`2026-11-29T${t}:00Z`)}`);
    expect(await names('enqueue')).toEqual(runNames);
    for (const [i, name] of runNames.entries()) {
      await waitUntil(`${name} starts`, async () => (await client.get<KubeObject>('v1', 'Pod', ns.name, `${name}-0-0`).catch(() => undefined)));
      const runs = await runsOf('enqueue');
      expect(runs.filter((r) => r.status?.startTime).map((r) => r.metadata.name)).toEqual(runNames.slice(0, i + 1));
      await finishPod(ns.name, `${name}-0-0`, 'Succeeded');
    }
  });
});

describe('catch-up and restarts', () => {
  it('after downtime: back-schedules at most maxMissedSchedules within the downtime threshold, and says what it skipped', async () => {
    const clock = new ManualClock(T('2026-11-29T01:00:30Z'));
    const { config } = synthConfig({ name: 'catchup', schedule: Schedule.cron('* * * * *') });
    await applyAsGitOps([config]);
    const first = await watcherAt(clock, { schedulerPolicy: { maxMissedSchedules: 3 } });
    await advanceTo(first, clock, '2026-11-29T01:01:00Z');
    expect(await names('catchup')).toEqual([`catchup-${unix('2026-11-29T01:01:00Z')}`]);
    await first.stop();

    // Down for half an hour: the threshold (300 s) limits the look-back to 01:25:30, five due times,
    // of which maxMissedSchedules (3) are created, oldest first.
    clock.set(T('2026-11-29T01:30:30Z'));
    const second = await watcherAt(clock, { schedulerPolicy: { maxMissedSchedules: 3 } });
    await second.scheduler.idle();
    expect(await names('catchup')).toEqual(['01:01', '01:26', '01:27', '01:28'].map((t) => `catchup-${unix(`2026-11-29T${t}:00Z`)}`));
    const missed = await waitUntil('a MissedSchedules event', async () => (await configEvents('catchup')).find((e) => e.reason === 'MissedSchedules'));
    expect(missed.message).toBe('Skipped 2 missed schedule(s): more than maxMissedSchedules (3) were due at once');
    await advanceTo(second, clock, '2026-11-29T01:31:00Z');
    expect(await names('catchup')).toContain(`catchup-${unix('2026-11-29T01:31:00Z')}`);
  });

  it('a watcher stopped mid-pass and a new one: every due run exists once', async () => {
    const clock = new ManualClock(T('2026-11-29T01:00:30Z'));
    const { config } = synthConfig({ name: 'midpass', schedule: Schedule.cron('* * * * *') });
    await applyAsGitOps([config]);
    let created = 0;
    const first = await watcherAt(clock);
    first.scheduler.on('created', () => {
      // Stops right after its second create of the pass, before it records anything else.
      if (++created === 2) void first.stop();
    });
    await advanceTo(first, clock, '2026-11-29T01:04:00Z');
    expect((await names('midpass')).length).toBeLessThan(4);
    const second = await watcherAt(clock);
    await second.scheduler.idle();
    expect(await names('midpass')).toEqual(['01:01', '01:02', '01:03', '01:04'].map((t) => `midpass-${unix(`2026-11-29T${t}:00Z`)}`));
  });

  it('two replicas on the same clock (no leader election): each due run is created once, with the same name', async () => {
    const clock = new ManualClock(T('2026-11-29T01:00:30Z'));
    const { config } = synthConfig({ name: 'replicas', schedule: Schedule.cron('* * * * *') });
    await applyAsGitOps([config]);
    const a = await watcherAt(clock);
    const b = await watcherAt(clock);
    const expected: string[] = [];
    // 20 due times, each raced by both replicas.
    for (let minute = 1; minute <= 20; minute++) {
      const iso = `2026-11-29T01:${String(minute).padStart(2, '0')}:00Z`;
      clock.set(T(iso));
      await Promise.all([a.scheduler.idle(), b.scheduler.idle()]);
      expected.push(`replicas-${unix(iso)}`);
    }
    expect(await names('replicas')).toEqual(expected);
  });
});

describe('what the watcher does not do', () => {
  it('a disabled schedule creates nothing; a paused one neither, and resuming does not back-schedule', async () => {
    const clock = new ManualClock(T('2026-11-29T01:00:30Z'));
    const disabled = synthConfig({ name: 'disabled', schedule: Schedule.cron('* * * * *', { disabled: true }) });
    const paused = synthConfig({ name: 'paused', schedule: Schedule.cron('* * * * *') });
    await applyAsGitOps([disabled.config, paused.config]);
    const watcher = await watcherAt(clock);
    const live = await client.get<KubeObject>('taskplane.dev/v1alpha1', 'JobConfig', ns.name, 'paused');
    await client.mergePatch(live, { metadata: { annotations: { 'taskplane.dev/schedule-paused': 'test' } } });
    await waitUntil('the pause is seen', async () => ((await client.get<JobConfigObject & KubeObject>('taskplane.dev/v1alpha1', 'JobConfig', ns.name, 'paused')).status?.schedulePaused ? true : undefined));
    await advanceTo(watcher, clock, '2026-11-29T01:05:00Z');
    expect(await names('disabled')).toEqual([]);
    expect(await names('paused')).toEqual([]);
    await client.mergePatch(live, { metadata: { annotations: { 'taskplane.dev/schedule-paused': null } } });
    await waitUntil('the resume is seen', async () => ((await client.get<JobConfigObject & KubeObject>('taskplane.dev/v1alpha1', 'JobConfig', ns.name, 'paused')).status?.schedulePaused ? undefined : true));
    await watcher.scheduler.idle();
    await advanceTo(watcher, clock, '2026-11-29T01:06:00Z');
    expect(await names('paused')).toEqual([`paused-${unix('2026-11-29T01:06:00Z')}`]);
    expect((await client.get<JobConfigObject & KubeObject>('taskplane.dev/v1alpha1', 'JobConfig', ns.name, 'disabled')).status?.state).toBe('ReadyDisabled');
  });

  it('history limits delete only finished runs the watcher created, never a run from Git', async () => {
    const clock = new ManualClock(T('2026-11-29T01:00:30Z'));
    const { config, runs } = synthConfig({ name: 'history', schedule: Schedule.cron('* * * * *', { keepSucceeded: 1, keepFailed: 1 }) }, ['from-git']);
    await applyAsGitOps([config, ...runs]);
    const watcher = await watcherAt(clock);
    await advanceTo(watcher, clock, '2026-11-29T01:04:00Z');
    const scheduled = ['01:01', '01:02', '01:03', '01:04'].map((t) => `history-${unix(`2026-11-29T${t}:00Z`)}`);
    expect(await names('history')).toEqual([...scheduled, 'history-from-git'].sort());
    const outcomes: ['Succeeded' | 'Failed', string][] = [['Succeeded', scheduled[0]!], ['Failed', scheduled[1]!], ['Succeeded', scheduled[2]!], ['Failed', scheduled[3]!], ['Succeeded', 'history-from-git']];
    for (const [phase, run] of outcomes) {
      await waitUntil(`${run} starts`, async () => (await client.get<KubeObject>('v1', 'Pod', ns.name, `${run}-0-0`).catch(() => undefined)));
      await finishPod(ns.name, `${run}-0-0`, phase);
    }
    await waitUntil('older scheduled runs deleted', async () => {
      const left = await names('history');
      return left.length === 3 ? left : undefined;
    });
    expect(await names('history')).toEqual([scheduled[2]!, scheduled[3]!, 'history-from-git'].sort());
  });

  it('Argo-style and Flux-style re-applies of the JobConfig neither delete nor change scheduled runs, which carry no GitOps marks', async () => {
    const clock = new ManualClock(T('2026-11-29T01:00:30Z'));
    const { config } = synthConfig({ name: 'reapply', schedule: Schedule.cron('* * * * *'), labels: { 'app.kubernetes.io/instance': 'platform-jobs' } });
    await applyAsGitOps([config]);
    const watcher = await watcherAt(clock);
    await advanceTo(watcher, clock, '2026-11-29T01:02:00Z');
    const before = await runsOf('reapply');
    expect(before).toHaveLength(2);
    for (const run of before) for (const mark of GITOPS_MARKS) expect(run.metadata.labels?.[mark]).toBeUndefined();
    await applyAsGitOps([config], ARGOCD);
    await applyAsGitOps([config], 'kustomize-controller');
    await watcher.scheduler.idle();
    const after = await runsOf('reapply');
    expect(after.map((r) => [r.metadata.name, r.metadata.uid, JSON.stringify(r.spec)])).toEqual(before.map((r) => [r.metadata.name, r.metadata.uid, JSON.stringify(r.spec)]));
  });
});
