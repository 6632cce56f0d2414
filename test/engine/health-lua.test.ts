/**
 * The Argo CD health checks (engine/health/argocd.ts) judged by Argo CD's own code (argocd-vm.ts:
 * the argocd-cm that `GitOpsHealthChecks` emits, read by Argo CD's SettingsManager, each object
 * through gitops-engine's GetResourceHealth and util/lua's gopher-lua VM), on JobRuns the watcher
 * wrote (captured from the cluster tests) and on every phase with the conditions the engine writes.
 */
import { describe, expect, it } from 'vitest';
import { argoCdHealthChecks, argoCdHealthKey, JOB_CONFIG_HEALTH_LUA, JOB_RUN_HEALTH_LUA } from '../../engine/health/index.js';
import { runConditions } from '../../engine/run/kstatus.js';
import { RUN_PHASES, type RunPhase } from '../../engine/schema/resources.js';
import { JOB_CONFIG_CASES, JOB_RUN_CASES, readFixture } from '../fixtures/jobruns/cases.js';
import { argoCdHealth, argoHealth, constructArgoCdConfigMap, requireArgoCdVm } from './argocd-vm.js';

// Fails the whole file, with the build command, when Argo CD's health code is not built. Never skipped.
requireArgoCdVm();

/** What a user installs: the construct's argocd-cm. */
const ARGOCD_CM = constructArgoCdConfigMap();
const jobRun = (obj: unknown) => argoCdHealth(ARGOCD_CM, obj);
const jobConfig = (obj: unknown) => argoCdHealth(ARGOCD_CM, obj);
const base = readFixture('pending');
const NOW = '2026-11-21T06:00:00Z';

/** The pending fixture with another status. */
const withStatus = (status: unknown, generation = 1) => ({ ...base, metadata: { ...base.metadata, generation }, status });

/** A status as the watcher writes it for a phase: phase, reason, message and its kstatus conditions. */
function watcherStatus(phase: RunPhase, message = `${phase} message`) {
  return { phase, reason: `${phase}Reason`, message, progress: '1/2', observedGeneration: 1, conditions: runConditions({ phase, reason: `${phase}Reason`, message, generation: 1, now: NOW }) };
}

const FAILED = new Set<RunPhase>(['Failed', 'Killed', 'AdmissionError', 'FinishedUnknown']);
const expectedFor = (phase: RunPhase) => (phase === 'Succeeded' ? 'Healthy' : FAILED.has(phase) ? 'Degraded' : 'Progressing');

describe("Argo CD's VM, as the scripts meet it", () => {
  const probe = { apiVersion: 'taskplane.dev/v1alpha1', kind: 'JobRun' };
  const run = (script: string, obj: Record<string, unknown> = {}) => argoHealth(script, { ...probe, ...obj });

  it('opens base, table, package and a safe os module; no string library (strings have no methods), no math, no io', async () => {
    await expect(run('return { status = string.format("%s", "Healthy"), message = "" }')).rejects.toThrow("attempt to index a non-table object(nil) with key 'format'");
    await expect(run('local s = "x"; return { status = s:upper(), message = "" }')).rejects.toThrow("attempt to index a non-table object(string) with key 'upper'");
    await expect(run('return { status = "Healthy", message = tostring(math.floor(1.5)) }')).rejects.toThrow("attempt to index a non-table object(nil) with key 'floor'");
    // os is no global: `require("os")` gives a safe one (time and date only).
    const libraries = 'local t = {}; table.insert(t, "a"); local clock = require("os")\n'
      + 'return { status = "Healthy", message = type(os) .. " " .. type(clock.time()) .. " " .. type(clock.execute) .. " " .. t[1] .. " " .. type(io) .. " " .. type(string) }';
    await expect(run(libraries)).resolves.toEqual({ status: 'Healthy', message: 'nil number nil a nil nil' });
  });

  it('hands the object over decoded: arrays from 1, JSON null as nil, strings byte for byte', async () => {
    const echo = 'return { status = "Healthy", message = obj.metadata.name .. "|" .. #obj.list .. "|" .. tostring(obj.gone) .. "|" .. obj.list[1] }';
    await expect(run(echo, { metadata: { name: 'q"uo\tte ✓' }, list: ['first', 'second'], gone: null })).resolves.toEqual({ status: 'Healthy', message: 'q"uo\tte ✓|2|nil|first' });
  });

  it('a missing message is an empty one; a status Argo CD does not know is Unknown; a Lua error gives no health', async () => {
    await expect(run('return { status = "Healthy" }')).resolves.toEqual({ status: 'Healthy', message: '' });
    await expect(run('return { status = "Fine", message = "x" }')).resolves.toEqual({ status: 'Unknown', message: 'Lua returned an invalid health status' });
    await expect(run('error("boom")')).rejects.toThrow('<string>:1: boom');
  });

  it('stops a script after one second (the VM runs under a context deadline)', async () => {
    await expect(run('while true do end')).rejects.toThrow('context deadline exceeded');
  });
});

describe('JobRun, on objects the watcher wrote', () => {
  const messages: Record<string, string> = {
    'no-status': 'Waiting for the watcher',
    'stale-generation': 'Waiting for the watcher to observe generation 2',
    'queued-not-yet-due': `Queued: ${readFixture('queued-not-yet-due').status.message}`,
    'queued-concurrency': 'Queued: Run is queued and may be pending other concurrent runs to be finished',
    pending: 'Pending: 0/1 succeeded; Waiting for 1 task(s) to start running',
    running: 'Running: 1/3 succeeded',
    'retry-backoff': 'RetryBackoff: 0/1 succeeded; Waiting to retry creating 1 task(s)',
    retrying: 'Retrying: 0/1 succeeded; Waiting for 1 task(s) to start running',
    terminating: 'Terminating: 1/2 succeeded; Waiting for 1 task(s) to terminate',
    killing: 'Killing: 0/1 succeeded; Waiting for 1 out of 1 task(s) to be killed',
    succeeded: 'Succeeded: 1/1 indexes succeeded',
    'succeeded-after-retry': 'Succeeded: 1/1 indexes succeeded',
    failed: 'Failed: Index 0 failed (AllSuccessful)',
    killed: `Killed: ${readFixture('killed').status.message}`,
    'admission-error': `AdmissionError: ${readFixture('admission-error').status.message}`,
    'finished-unknown': 'FinishedUnknown: Tasks of index 0 were deleted before their result was known',
  };

  it.each(JOB_RUN_CASES)('$name ($what): $argo', async ({ name, phase, argo }) => {
    const obj = readFixture(name);
    expect(obj.status?.phase).toBe(phase);
    expect(await jobRun(obj)).toEqual({ status: argo, message: messages[name] });
  });

  it('a run whose first attempt failed and whose retry succeeded is Healthy, its failed task notwithstanding', async () => {
    const obj = readFixture('succeeded-after-retry');
    expect(obj.status.tasks.map((t: { status: { result: string } }) => t.status.result)).toEqual(['Failed', 'Succeeded']);
    expect((await jobRun(obj)).status).toBe('Healthy');
  });
});

describe('JobRun, every phase', () => {
  it('covers all 13 phases', () => expect(RUN_PHASES).toHaveLength(13));

  it.each(RUN_PHASES.map((phase) => [phase, expectedFor(phase)]))('%s with the conditions the watcher writes: %s', async (phase, expected) => {
    const health = await jobRun(withStatus(watcherStatus(phase)));
    expect(health.status).toBe(expected);
    expect(health.message).toBe(
      expected === 'Progressing' ? `${phase}: 1/2 succeeded; ${phase} message` : `${phase}: ${phase} message`,
    );
  });

  it.each(RUN_PHASES.map((phase) => [phase, expectedFor(phase)]))('%s with the phase only (no conditions): %s', async (phase, expected) => {
    expect((await jobRun(withStatus({ phase, observedGeneration: 1 }))).status).toBe(expected);
  });

  it('Queued is Progressing, not Suspended: a Suspended resource makes the whole Application Suspended (argo-cd#19126)', async () => {
    const queued = await jobRun(readFixture('queued-not-yet-due'));
    expect(queued.status).toBe('Progressing');
    expect(queued.message).toMatch(/^Queued: Run is queued to start no earlier than /);
  });

  it('Degraded says why: the message, else the reason, else the Stalled condition', async () => {
    expect((await jobRun(withStatus({ phase: 'Failed', reason: 'TasksFailed' }))).message).toBe('Failed: TasksFailed');
    expect((await jobRun(withStatus({ phase: 'Killed' }))).message).toBe('Killed');
    expect((await jobRun(withStatus({ conditions: [{ type: 'Stalled', status: 'True' }] }))).message).toBe('Degraded');
    const stalledOnly = { conditions: [{ type: 'Stalled', status: 'True', reason: 'ConcurrencyForbidden', message: 'Cannot start new JobRun' }] };
    expect(await jobRun(withStatus(stalledOnly))).toEqual({ status: 'Degraded', message: 'Cannot start new JobRun' });
  });
});

describe('JobRun, the rules in order', () => {
  it('no status, an empty one, or null: Progressing, waiting for the watcher', async () => {
    const { status: _, ...fresh } = base;
    for (const obj of [fresh, withStatus({}), withStatus(null)]) expect(await jobRun(obj)).toEqual({ status: 'Progressing', message: 'Waiting for the watcher' });
  });

  it('a status older than the spec is Progressing whatever it says, even Succeeded or Failed', async () => {
    for (const name of ['succeeded', 'failed']) {
      const obj = readFixture(name);
      obj.metadata.generation = 2;
      expect(await jobRun(obj)).toEqual({ status: 'Progressing', message: 'Waiting for the watcher to observe generation 2' });
    }
    // No observedGeneration at all: nothing to compare (kstatus skips the rule too).
    expect((await jobRun(withStatus({ phase: 'Succeeded' }, 7))).status).toBe('Healthy');
  });

  it('conditions win over the phase where they exist', async () => {
    const conditions = (ready: string, stalled = 'False', reconciling = 'False') => [
      { type: 'Ready', status: ready, message: 'ready says' },
      { type: 'Stalled', status: stalled, message: 'stalled says' },
      { type: 'Reconciling', status: reconciling, message: 'reconciling says' },
    ];
    expect((await jobRun(withStatus({ phase: 'Running', conditions: conditions('True') }))).status).toBe('Healthy');
    expect((await jobRun(withStatus({ phase: 'Succeeded', conditions: conditions('False', 'True') }))).status).toBe('Degraded');
    expect((await jobRun(withStatus({ phase: 'Failed', conditions: conditions('False', 'True', 'True') }))).status).toBe('Progressing');
    expect((await jobRun(withStatus({ phase: 'Succeeded', conditions: conditions('Unknown') }))).status).toBe('Progressing');
    // Other conditions alone do not decide: the phase does.
    expect((await jobRun(withStatus({ phase: 'Failed', conditions: [{ type: 'TemplateChanged', status: 'False' }] }))).status).toBe('Degraded');
  });

  it('conditions only (no phase): they decide, and their message is the message', async () => {
    const only = (type: string, status = 'True') => withStatus({ observedGeneration: 1, conditions: [{ type, status, reason: `${type}Reason`, message: `${type} message` }] });
    expect(await jobRun(only('Ready'))).toEqual({ status: 'Healthy', message: 'Ready message' });
    expect(await jobRun(only('Ready', 'False'))).toEqual({ status: 'Progressing', message: 'Ready message' });
    expect(await jobRun(only('Reconciling'))).toEqual({ status: 'Progressing', message: 'Reconciling message' });
    expect(await jobRun(only('Stalled'))).toEqual({ status: 'Degraded', message: 'Stalled message' });
  });

  it('a template edited after the start is said, not judged', async () => {
    const obj = readFixture('running');
    obj.status.conditions.find((c: { type: string }) => c.type === 'TemplateChanged').status = 'True';
    expect(await jobRun(obj)).toEqual({ status: 'Progressing', message: 'Running: 1/3 succeeded; spec.template changed after the run started' });
  });

  it('odd shapes never raise a Lua error (Argo CD would show Unknown)', async () => {
    for (const status of ['Running', 42, [], { conditions: 'Ready' }, { conditions: [null, 'x', { type: 'Ready' }] }, { phase: 7, message: false, progress: {} }]) {
      expect(['Progressing', 'Healthy', 'Degraded']).toContain((await jobRun(withStatus(status))).status);
    }
    expect((await jobRun({ ...base, metadata: undefined, status: { phase: 'Succeeded', observedGeneration: 3 } })).status).toBe('Healthy');
  });
});

describe('JobConfig', () => {
  it.each(JOB_CONFIG_CASES)('$name ($what): $argo', async ({ name, argo }) => {
    expect(await jobConfig(readFixture(name))).toEqual({ status: argo, message: '' });
  });

  it('Healthy unless its status says otherwise', async () => {
    const config = readFixture('jobconfig-no-status');
    const at = (status: unknown, generation = 1) => jobConfig({ ...config, metadata: { ...config.metadata, generation }, status });
    expect(await at({})).toEqual({ status: 'Healthy', message: '' });
    expect(await at({ state: 'Executing', active: 1, queued: 2, observedGeneration: 1 })).toEqual({ status: 'Healthy', message: 'Executing: 1 active, 2 queued' });
    expect(await at({ state: 'ReadyDisabled', observedGeneration: 1 })).toEqual({ status: 'Healthy', message: 'ReadyDisabled' });
    expect(await at({ state: 'Ready', observedGeneration: 1 }, 2)).toEqual({ status: 'Progressing', message: 'Waiting for the watcher to observe generation 2' });
    expect(await at({ conditions: [{ type: 'Stalled', status: 'True', reason: 'InvalidSpec', message: 'spec.template is invalid' }] })).toEqual({ status: 'Degraded', message: 'spec.template is invalid' });
    expect(await at({ conditions: [{ type: 'Reconciling', status: 'True', reason: 'Starting' }], active: 1 })).toEqual({ status: 'Progressing', message: 'Starting; 1 active, 0 queued' });
    expect((await at({ conditions: [{ type: 'Ready', status: 'False', reason: 'NotYet' }] })).status).toBe('Progressing');
    expect((await at({ conditions: [{ type: 'Ready', status: 'True' }, { type: 'Stalled', status: 'False' }] })).status).toBe('Healthy');
  });
});

describe('argocd-cm keys', () => {
  it('are resource.customizations.health.<group>_<kind>, one per kind, holding the scripts as run here', async () => {
    expect(argoCdHealthKey('JobRun')).toBe('resource.customizations.health.taskplane.dev_JobRun');
    expect(argoCdHealthChecks()).toEqual({
      'resource.customizations.health.taskplane.dev_JobConfig': JOB_CONFIG_HEALTH_LUA,
      'resource.customizations.health.taskplane.dev_JobRun': JOB_RUN_HEALTH_LUA,
    });
  });

  it('use no tab or trailing blank, so YAML can keep them as literal blocks', async () => {
    for (const script of [JOB_RUN_HEALTH_LUA, JOB_CONFIG_HEALTH_LUA]) {
      expect(script).not.toMatch(/\t| \n/);
      expect(script.endsWith('\n')).toBe(true);
    }
  });
});
