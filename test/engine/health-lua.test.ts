/**
 * The Argo CD health checks (engine/health/argocd.ts) run by a real Lua 5.1 interpreter, sandboxed
 * like Argo CD's VM (no string, math or io libraries), on JobRuns the watcher wrote (captured from
 * the cluster tests) and on every phase with the conditions the engine itself writes.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { argoCdHealthChecks, argoCdHealthKey, JOB_CONFIG_HEALTH_LUA, JOB_RUN_HEALTH_LUA } from '../../engine/health/index.js';
import { runConditions } from '../../engine/run/kstatus.js';
import { RUN_PHASES, type RunPhase } from '../../engine/schema/resources.js';
import { JOB_CONFIG_CASES, JOB_RUN_CASES, readFixture } from '../fixtures/jobruns/cases.js';
import { argoHealth, LUA, luaLiteral, luaProgram, requireLua } from './health-eval.js';

// Fails the whole file, with the install command, when the interpreter is missing. Never skipped.
requireLua();

const jobRun = (obj: unknown) => argoHealth(JOB_RUN_HEALTH_LUA, obj);
const jobConfig = (obj: unknown) => argoHealth(JOB_CONFIG_HEALTH_LUA, obj);
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

describe('the harness', () => {
  it('runs Lua 5.1, without the libraries Argo CD leaves closed', () => {
    expect(spawnSync(LUA, ['-v'], { encoding: 'utf8' }).stderr + spawnSync(LUA, ['-v'], { encoding: 'utf8' }).stdout).toMatch(/^Lua 5\.1/);
    expect(() => argoHealth('return { status = string.format("%s", "Healthy"), message = "" }', {})).toThrow(/attempt to index global 'string'/);
    expect(() => argoHealth('local s = "x"; return { status = s:upper(), message = "" }', {})).toThrow(/Lua error/);
    expect(() => argoHealth('return { status = "Healthy" }', {})).toThrow(/message: nil/);
  });

  it('hands the object over as Argo CD does: arrays from 1, null as nil, strings byte for byte', () => {
    expect(luaLiteral({ a: [1, 'x', null], b: null, 'c"d': 'é\n\\' })).toBe('{["a"] = {1, "x", nil}, ["b"] = nil, ["c\\"d"] = "é\\010\\\\"}');
    const echo = 'return { status = "Healthy", message = obj.metadata.name .. "|" .. #obj.list .. "|" .. tostring(obj.gone) .. "|" .. obj.list[1] }';
    expect(argoHealth(echo, { metadata: { name: 'q"uo\tte ✓' }, list: ['first', 'second'], gone: null })).toEqual({ status: 'Healthy', message: 'q"uo\tte ✓|2|nil|first' });
    expect(luaProgram('return 1', {})).toContain('obj = {}');
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

  it.each(JOB_RUN_CASES)('$name ($what): $argo', ({ name, phase, argo }) => {
    const obj = readFixture(name);
    expect(obj.status?.phase).toBe(phase);
    expect(jobRun(obj)).toEqual({ status: argo, message: messages[name] });
  });

  it('a run whose first attempt failed and whose retry succeeded is Healthy, its failed task notwithstanding', () => {
    const obj = readFixture('succeeded-after-retry');
    expect(obj.status.tasks.map((t: { status: { result: string } }) => t.status.result)).toEqual(['Failed', 'Succeeded']);
    expect(jobRun(obj).status).toBe('Healthy');
  });
});

describe('JobRun, every phase', () => {
  it('covers all 13 phases', () => expect(RUN_PHASES).toHaveLength(13));

  it.each(RUN_PHASES.map((phase) => [phase, expectedFor(phase)]))('%s with the conditions the watcher writes: %s', (phase, expected) => {
    const health = jobRun(withStatus(watcherStatus(phase)));
    expect(health.status).toBe(expected);
    expect(health.message).toBe(
      expected === 'Progressing' ? `${phase}: 1/2 succeeded; ${phase} message` : `${phase}: ${phase} message`,
    );
  });

  it.each(RUN_PHASES.map((phase) => [phase, expectedFor(phase)]))('%s with the phase only (no conditions): %s', (phase, expected) => {
    expect(jobRun(withStatus({ phase, observedGeneration: 1 })).status).toBe(expected);
  });

  it('Queued is Progressing, not Suspended: a Suspended resource makes the whole Application Suspended (argo-cd#19126)', () => {
    const queued = jobRun(readFixture('queued-not-yet-due'));
    expect(queued.status).toBe('Progressing');
    expect(queued.message).toMatch(/^Queued: Run is queued to start no earlier than /);
  });

  it('Degraded says why: the message, else the reason, else the Stalled condition', () => {
    expect(jobRun(withStatus({ phase: 'Failed', reason: 'TasksFailed' })).message).toBe('Failed: TasksFailed');
    expect(jobRun(withStatus({ phase: 'Killed' })).message).toBe('Killed');
    expect(jobRun(withStatus({ conditions: [{ type: 'Stalled', status: 'True' }] })).message).toBe('Degraded');
    const stalledOnly = { conditions: [{ type: 'Stalled', status: 'True', reason: 'ConcurrencyForbidden', message: 'Cannot start new JobRun' }] };
    expect(jobRun(withStatus(stalledOnly))).toEqual({ status: 'Degraded', message: 'Cannot start new JobRun' });
  });
});

describe('JobRun, the rules in order', () => {
  it('no status, an empty one, or null: Progressing, waiting for the watcher', () => {
    const { status: _, ...fresh } = base;
    for (const obj of [fresh, withStatus({}), withStatus(null)]) expect(jobRun(obj)).toEqual({ status: 'Progressing', message: 'Waiting for the watcher' });
  });

  it('a status older than the spec is Progressing whatever it says, even Succeeded or Failed', () => {
    for (const name of ['succeeded', 'failed']) {
      const obj = readFixture(name);
      obj.metadata.generation = 2;
      expect(jobRun(obj)).toEqual({ status: 'Progressing', message: 'Waiting for the watcher to observe generation 2' });
    }
    // No observedGeneration at all: nothing to compare (kstatus skips the rule too).
    expect(jobRun(withStatus({ phase: 'Succeeded' }, 7)).status).toBe('Healthy');
  });

  it('conditions win over the phase where they exist', () => {
    const conditions = (ready: string, stalled = 'False', reconciling = 'False') => [
      { type: 'Ready', status: ready, message: 'ready says' },
      { type: 'Stalled', status: stalled, message: 'stalled says' },
      { type: 'Reconciling', status: reconciling, message: 'reconciling says' },
    ];
    expect(jobRun(withStatus({ phase: 'Running', conditions: conditions('True') })).status).toBe('Healthy');
    expect(jobRun(withStatus({ phase: 'Succeeded', conditions: conditions('False', 'True') })).status).toBe('Degraded');
    expect(jobRun(withStatus({ phase: 'Failed', conditions: conditions('False', 'True', 'True') })).status).toBe('Progressing');
    expect(jobRun(withStatus({ phase: 'Succeeded', conditions: conditions('Unknown') })).status).toBe('Progressing');
    // Other conditions alone do not decide: the phase does.
    expect(jobRun(withStatus({ phase: 'Failed', conditions: [{ type: 'TemplateChanged', status: 'False' }] })).status).toBe('Degraded');
  });

  it('conditions only (no phase): they decide, and their message is the message', () => {
    const only = (type: string, status = 'True') => withStatus({ observedGeneration: 1, conditions: [{ type, status, reason: `${type}Reason`, message: `${type} message` }] });
    expect(jobRun(only('Ready'))).toEqual({ status: 'Healthy', message: 'Ready message' });
    expect(jobRun(only('Ready', 'False'))).toEqual({ status: 'Progressing', message: 'Ready message' });
    expect(jobRun(only('Reconciling'))).toEqual({ status: 'Progressing', message: 'Reconciling message' });
    expect(jobRun(only('Stalled'))).toEqual({ status: 'Degraded', message: 'Stalled message' });
  });

  it('a template edited after the start is said, not judged', () => {
    const obj = readFixture('running');
    obj.status.conditions.find((c: { type: string }) => c.type === 'TemplateChanged').status = 'True';
    expect(jobRun(obj)).toEqual({ status: 'Progressing', message: 'Running: 1/3 succeeded; spec.template changed after the run started' });
  });

  it('odd shapes never raise a Lua error (Argo CD would show Unknown)', () => {
    for (const status of ['Running', 42, [], { conditions: 'Ready' }, { conditions: [null, 'x', { type: 'Ready' }] }, { phase: 7, message: false, progress: {} }]) {
      expect(['Progressing', 'Healthy', 'Degraded']).toContain(jobRun(withStatus(status)).status);
    }
    expect(jobRun({ ...base, metadata: undefined, status: { phase: 'Succeeded', observedGeneration: 3 } }).status).toBe('Healthy');
  });
});

describe('JobConfig', () => {
  it.each(JOB_CONFIG_CASES)('$name ($what): $argo', ({ name, argo }) => {
    expect(jobConfig(readFixture(name))).toEqual({ status: argo, message: '' });
  });

  it('Healthy unless its status says otherwise', () => {
    const config = readFixture('jobconfig-no-status');
    const at = (status: unknown, generation = 1) => jobConfig({ ...config, metadata: { ...config.metadata, generation }, status });
    expect(at({})).toEqual({ status: 'Healthy', message: '' });
    expect(at({ state: 'Executing', active: 1, queued: 2, observedGeneration: 1 })).toEqual({ status: 'Healthy', message: 'Executing: 1 active, 2 queued' });
    expect(at({ state: 'ReadyDisabled', observedGeneration: 1 })).toEqual({ status: 'Healthy', message: 'ReadyDisabled' });
    expect(at({ state: 'Ready', observedGeneration: 1 }, 2)).toEqual({ status: 'Progressing', message: 'Waiting for the watcher to observe generation 2' });
    expect(at({ conditions: [{ type: 'Stalled', status: 'True', reason: 'InvalidSpec', message: 'spec.template is invalid' }] })).toEqual({ status: 'Degraded', message: 'spec.template is invalid' });
    expect(at({ conditions: [{ type: 'Reconciling', status: 'True', reason: 'Starting' }], active: 1 })).toEqual({ status: 'Progressing', message: 'Starting; 1 active, 0 queued' });
    expect(at({ conditions: [{ type: 'Ready', status: 'False', reason: 'NotYet' }] }).status).toBe('Progressing');
    expect(at({ conditions: [{ type: 'Ready', status: 'True' }, { type: 'Stalled', status: 'False' }] }).status).toBe('Healthy');
  });
});

describe('argocd-cm keys', () => {
  it('are resource.customizations.health.<group>_<kind>, one per kind, holding the scripts as run here', () => {
    expect(argoCdHealthKey('JobRun')).toBe('resource.customizations.health.taskplane.dev_JobRun');
    expect(argoCdHealthChecks()).toEqual({
      'resource.customizations.health.taskplane.dev_JobConfig': JOB_CONFIG_HEALTH_LUA,
      'resource.customizations.health.taskplane.dev_JobRun': JOB_RUN_HEALTH_LUA,
    });
  });

  it('use no tab or trailing blank, so YAML can keep them as literal blocks', () => {
    for (const script of [JOB_RUN_HEALTH_LUA, JOB_CONFIG_HEALTH_LUA]) {
      expect(script).not.toMatch(/\t| \n/);
      expect(script.endsWith('\n')).toBe(true);
    }
  });
});
