/**
 * Task caching's pure half: the key (stable across runs and attempts, changed by what changes the
 * work), which entries a lookup may use, eviction, and the planner answering a task from the cache.
 */
import { describe, expect, it } from 'vitest';
import { cacheApplies, entriesOf, entriesToEvict, findCached, taskCacheKey } from '../../engine/cache/index.js';
import { planRun } from '../../engine/run/index.js';
import type { JobConfigObject, JobRunObject, TaskCacheEntryObject, TaskCacheEntrySpec } from '../../engine/schema/index.js';
import { iso, makeRun, RunSim, T0, type RunOptions } from './run-sim.js';

const CACHE = { version: 'v1', maxAgeSeconds: 3600 };
const cachedRun = (options: RunOptions = {}) => makeRun({ materialization: 'Deferred', ...options, template: { cache: CACHE, ...options.template } });
const keyOf = (run: JobRunObject, index = { indexNumber: 0 }) => {
  const { key, errors } = taskCacheKey(run, index);
  expect(errors).toEqual([]);
  return key!.key;
};
const withName = (run: JobRunObject, name: string): JobRunObject => ({ ...run, metadata: { ...run.metadata, name, uid: `${name}-uid` } });
const POD_WITH_NAMES = { pod: { spec: { containers: [{ name: 'main', image: 'busybox:1.36', args: ['${option.secret}', '--id=${job.name}/${task.name}/${task.retry_index}/${job.type}'] }] } } };

describe('taskCacheKey', () => {
  it('is the same for every run and attempt of the same task: names, retry index, run type and taskplane labels do not count', () => {
    const run = cachedRun({ template: { taskTemplate: POD_WITH_NAMES } });
    const key = keyOf(run);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(keyOf(withName(run, 'nightly-1764547200'))).toBe(key);
    expect(keyOf({ ...run, spec: { ...run.spec, type: 'Scheduled' } })).toBe(key);
    expect(keyOf({ ...run, spec: { ...run.spec, materialization: 'Rendered', skipCache: true, startAfter: iso(60) } })).toBe(key);
    // Settings of the cache other than its version, and of retries, are not the task.
    expect(keyOf(cachedRun({ template: { taskTemplate: POD_WITH_NAMES, cache: { ...CACHE, maxAgeSeconds: 1, maxEntries: 3 } } }))).toBe(key);
    // Key order in Git does not matter.
    const reordered = cachedRun({ template: { taskTemplate: { pod: { spec: { containers: [{ args: POD_WITH_NAMES.pod.spec.containers[0]!.args, image: 'busybox:1.36', name: 'main' }] } } } } });
    expect(keyOf(reordered)).toBe(key);
  });

  it('changes with the version, an input, the task, the index, the JobConfig and the namespace', () => {
    const run = cachedRun();
    const key = keyOf(run);
    const variants: Record<string, JobRunObject> = {
      version: cachedRun({ template: { cache: { ...CACHE, version: 'v2' } } }),
      option: { ...run, spec: { ...run.spec, substitutions: { 'option.secret': 'other' } } },
      image: cachedRun({ template: { taskTemplate: { pod: { spec: { containers: [{ name: 'main', image: 'busybox:1.37', args: ['${option.secret}'] }] } } } } }),
      label: cachedRun({ template: { taskTemplate: { pod: { metadata: { labels: { team: 'a' } }, spec: { containers: [{ name: 'main', image: 'busybox', args: ['${option.secret}'] }] } } } } }),
      config: { ...run, spec: { ...run.spec, configName: 'other' } },
      namespace: { ...run, metadata: { ...run.metadata, namespace: 'other' } },
    };
    const keys = Object.entries(variants).map(([what, variant]) => [what, keyOf(variant)]);
    for (const [what, variantKey] of keys) expect(variantKey, what).not.toBe(key);
    expect(new Set(keys.map(([, k]) => k)).size).toBe(keys.length);
    const counted = cachedRun({ template: { parallelism: { withCount: 2 } } });
    expect(keyOf(counted, { indexNumber: 0 })).not.toBe(keyOf(counted, { indexNumber: 1 }));
  });

  it('with a configured key, only what the key names counts', () => {
    const keyed = (secret: string, image = 'busybox') =>
      cachedRun({
        substitutions: { 'option.secret': secret, 'option.day': '2026-11-21' },
        template: { cache: { ...CACHE, key: '${option.day}' }, taskTemplate: { pod: { spec: { containers: [{ name: 'main', image, args: ['${option.secret}'] }] } } } },
      });
    expect(keyOf(keyed('a'))).toBe(keyOf(keyed('b', 'other-image')));
    const otherDay = keyed('a');
    expect(keyOf({ ...otherDay, spec: { ...otherDay.spec, substitutions: { ...otherDay.spec.substitutions, 'option.day': '2026-11-22' } } })).not.toBe(keyOf(keyed('a')));
  });

  it('reports an unknown variable in the key, and gives no key without cache', () => {
    const run = cachedRun({ template: { cache: { ...CACHE, key: '${option.dya}' } } });
    expect(taskCacheKey(run, { indexNumber: 0 }).errors).toEqual([expect.objectContaining({ field: 'spec.template.cache.key', message: 'unknown variable ${option.dya}' })]);
    expect(taskCacheKey(makeRun(), { indexNumber: 0 })).toEqual({ errors: [] });
  });
});

const entry = (key: string, finishedSecondsAfterT0: number, extra: Partial<TaskCacheEntrySpec> = {}): TaskCacheEntrySpec => ({
  configName: 'nightly',
  key,
  version: 'v1',
  index: { indexNumber: 0 },
  run: 'nightly-earlier',
  task: 'nightly-earlier-0-0',
  finishTimestamp: iso(finishedSecondsAfterT0),
  ...extra,
});

describe('cache entries', () => {
  it('a lookup uses the newest entry with the key that finished less than maxAgeSeconds ago', () => {
    const entries = [entry('k', 0, { run: 'a' }), entry('k', 100, { run: 'b' }), entry('other', 200)];
    expect(findCached(entries, 'k', CACHE, T0 + 3000_000)?.run).toBe('b');
    expect(findCached(entries, 'k', CACHE, T0 + 3600_000)?.run).toBe('b');
    expect(findCached(entries, 'k', CACHE, T0 + 3700_000)).toBeUndefined();
    expect(findCached(entries, 'missing', CACHE, T0)).toBeUndefined();
    // A finish after the watcher's now (clocks apart) is fresh, not an error.
    expect(findCached(entries, 'k', CACHE, T0)?.run).toBe('b');
  });

  it('evicts expired entries, then the oldest beyond maxEntries', () => {
    const named = (name: string, finished: number) => ({ name, spec: entry(name, finished) });
    const entries = [named('e1', 0), named('e2', 4000), named('e3', 4100), named('e4', 4200), named('e5', 4300)];
    const now = T0 + 4300_000;
    expect(entriesToEvict(entries, { ...CACHE, maxEntries: 3 }, now)).toEqual([
      { name: 'e1', reason: 'Expired' },
      { name: 'e2', reason: 'OverLimit' },
    ]);
    expect(entriesToEvict(entries, CACHE, now)).toEqual([{ name: 'e1', reason: 'Expired' }]);
  });

  it('among entries finished in the same second, the ones just written are kept, whatever their names', () => {
    const named = (name: string) => ({ name, spec: entry(name, 100) });
    const entries = [named('a'), named('b'), named('c')];
    const now = T0 + 200_000;
    expect(entriesToEvict(entries, { ...CACHE, maxEntries: 1 }, now, new Set(['c'])).map((e) => e.name)).toEqual(['a', 'b']);
    expect(entriesToEvict(entries, { ...CACHE, maxEntries: 2 }, now, new Set(['b', 'c'])).map((e) => e.name)).toEqual(['a']);
    // Nothing just written: names decide, so every watcher evicts the same ones.
    expect(entriesToEvict(entries, { ...CACHE, maxEntries: 1 }, now).map((e) => e.name)).toEqual(['b', 'c']);
  });

  it("a run reads only entries its own JobConfig object owns, and only with that config's template", () => {
    const config = { metadata: { name: 'nightly', namespace: 'batch', uid: 'cfg-uid' }, spec: { template: cachedRun().spec.template, concurrency: { policy: 'Allow' } } } as JobConfigObject;
    const object = (spec: TaskCacheEntrySpec, uid: string): TaskCacheEntryObject => ({
      apiVersion: 'taskplane.dev/v1alpha1',
      kind: 'TaskCacheEntry',
      metadata: { name: spec.key, ownerReferences: [{ apiVersion: 'taskplane.dev/v1alpha1', kind: 'JobConfig', name: 'nightly', uid }] },
      spec,
    });
    const listed = [object(entry('ours', 0), 'cfg-uid'), object(entry('old-config', 0), 'deleted-uid'), object(entry('other', 0, { configName: 'other' }), 'cfg-uid')];
    expect(entriesOf(config, listed).map((e) => e.key)).toEqual(['ours']);
    expect(cacheApplies(cachedRun(), config)).toBe(true);
    const custom = cachedRun({ template: { cache: { ...CACHE, key: 'same-for-all' } } });
    expect(cacheApplies(custom, config)).toBe(false);
    expect(cacheApplies(cachedRun(), { ...config, metadata: { name: 'nightly' } })).toBe(false);
    expect(cacheApplies(makeRun(), { ...config, spec: { ...config.spec, template: makeRun().spec.template } })).toBe(false);
  });
});

describe('planRun with a cache', () => {
  const planWith = (run: JobRunObject, entries?: TaskCacheEntrySpec[], seconds = 10) =>
    planRun({ run, tasks: [], now: new Date(T0 + seconds * 1000), cache: { ...(entries && { entries }) } });

  it('answers a task from a fresh entry: nothing created, Succeeded with reason Cached and the result copied, idempotent', () => {
    const run = cachedRun({ template: { parallelism: { withCount: 2 } } });
    const hit = entry(keyOf(run, { indexNumber: 1 }), 0, { index: { indexNumber: 1 }, result: { rows: 42 } });
    const plan = planWith(run, [hit]);
    expect(plan.create).toEqual([{ index: { indexNumber: 0 }, retryIndex: 0 }]);
    expect(plan.cache).toMatchObject({ hits: [{ name: 'nightly-1-0', key: '1' }], misses: 1, record: [] });
    const ref = plan.status.tasks!.find((t) => t.name === 'nightly-1-0')!;
    expect(ref).toMatchObject({ status: { state: 'Terminated', result: 'Succeeded', reason: 'Cached' }, taskResult: { rows: 42 }, finishTimestamp: iso(10) });
    expect(ref.status.message).toBe(`Result of nightly-earlier-0-0 (run nightly-earlier, finished ${iso(0)}) reused; nothing was created`);
    expect(plan.events.map((e) => e.reason)).toEqual(['Started', 'TaskCreated', 'TaskCached']);
    const again = planWith({ ...run, status: plan.status }, [hit], 11);
    expect({ create: again.create, events: again.events, hits: again.cache!.hits }).toEqual({ create: [], events: [], hits: [] });
  });

  it("a retry of a Rendered run's failed first attempt is answered from the cache too", () => {
    const run = cachedRun({ materialization: 'Rendered', template: { cache: CACHE, maxAttempts: 2 } });
    const sim = new RunSim(run);
    sim.at(0).applyFirstAttempts().plan();
    sim.at(5).finish('nightly-0-0', 'Failed');
    const plan = planRun({ ...sim.snapshot(), cache: { entries: [entry(keyOf(run), 1, { result: { rows: 3 } })] } });
    expect(plan.create).toEqual([]);
    expect(plan.status).toMatchObject({ phase: 'Succeeded', tasks: [{ name: 'nightly-0-0' }, { name: 'nightly-0-1', retryIndex: 1, status: { reason: 'Cached' }, taskResult: { rows: 3 } }] });
  });

  it('a run of only cached tasks succeeds at once', () => {
    const run = cachedRun();
    const plan = planWith(run, [entry(keyOf(run), 0, { result: { value: 'done' } })]);
    expect(plan.create).toEqual([]);
    expect(plan.status).toMatchObject({ phase: 'Succeeded', result: 'Success', progress: '1/1' });
  });

  it('creates the task after maxAge, after a version bump, with skipCache, and before the entries were read', () => {
    const run = cachedRun();
    const fresh = [entry(keyOf(run), 0)];
    expect(planWith(run, fresh, 3600).cache).toMatchObject({ hits: [], misses: 1 });
    expect(planWith(cachedRun({ template: { cache: { ...CACHE, version: 'v2' } } }), fresh).cache).toMatchObject({ hits: [], misses: 1 });
    expect(planWith({ ...run, spec: { ...run.spec, skipCache: true } }, fresh).cache).toMatchObject({ hits: [], misses: 0 });
    expect(planWith(run, undefined).cache).toMatchObject({ hits: [], misses: 0 });
    for (const plan of [planWith(run, fresh, 3600), planWith(run, undefined)]) expect(plan.create).toHaveLength(1);
  });

  it("records the successes of tasks the watcher created, never a Rendered run's first attempt (GitOps applied it)", () => {
    const record = (sim: RunSim) => planRun({ ...sim.snapshot(), cache: {} }).cache!.record;
    const deferred = new RunSim(cachedRun());
    deferred.at(0).plan();
    deferred.at(5).observe('nightly-0-0', { state: 'Terminated', result: 'Succeeded', finishTimestamp: iso(5), taskResult: { rows: 1 } });
    expect(record(deferred)).toEqual([{ configName: 'nightly', key: keyOf(deferred.run), version: 'v1', index: { indexNumber: 0 }, run: 'nightly', task: 'nightly-0-0', finishTimestamp: iso(5), result: { rows: 1 } }]);
    // Seen only after maxAge (the watcher was down): it would be evicted at once, so it is not written.
    expect(planRun({ ...deferred.snapshot(), now: new Date(T0 + 3605_000), cache: {} }).cache!.record).toEqual([]);

    const rendered = new RunSim(cachedRun({ materialization: 'Rendered', template: { cache: CACHE, maxAttempts: 2 } }));
    rendered.at(0).applyFirstAttempts().plan();
    rendered.at(5).finish('nightly-0-0', 'Succeeded');
    expect(record(rendered)).toEqual([]);
    const retried = new RunSim(cachedRun({ materialization: 'Rendered', template: { cache: CACHE, maxAttempts: 2 } }));
    retried.at(0).applyFirstAttempts().plan();
    retried.at(5).finish('nightly-0-0', 'Failed').plan();
    retried.at(6).finish('nightly-0-1', 'Succeeded');
    expect(record(retried).map((r) => r.task)).toEqual(['nightly-0-1']);
    // Already finished in the status: recorded once, when it finished.
    retried.plan();
    expect(record(retried)).toEqual([]);
  });
});
