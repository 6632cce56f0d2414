/**
 * The Flux healthCheckExprs (engine/health/flux.ts) evaluated with @bufbuild/cel the way
 * kustomize-controller evaluates them (observedGeneration rule, then inProgress, failed, current;
 * none true: InProgress; an error: Unknown; the object's top-level fields as variables), on the
 * JobRuns the watcher wrote and on every phase; and the same answers as the Argo CD Lua checks.
 */
import { parse } from '@bufbuild/cel';
import { describe, expect, it } from 'vitest';
import { FAILED_RUN_PHASES, fluxHealthCheckExprs, JOB_RUN_HEALTH_CHECK_EXPR, type FluxHealthCheckExpr } from '../../engine/health/index.js';
import { runConditions } from '../../engine/run/kstatus.js';
import { TERMINAL_PHASES } from '../../engine/run/phase.js';
import { RUN_PHASES, type RunPhase } from '../../engine/schema/resources.js';
import { JOB_CONFIG_CASES, JOB_RUN_CASES, readFixture } from '../fixtures/jobruns/cases.js';
import { argoCdHealth, constructArgoCdConfigMap, requireArgoCdVm } from './argocd-vm.js';
import { ARGO_TO_FLUX, evaluateCel, fluxHealth, kstatusHealth } from './health-eval.js';

const flux = (obj: Record<string, any>) => fluxHealth(JOB_RUN_HEALTH_CHECK_EXPR, obj);
const base = readFixture('pending');
const withStatus = (status: unknown, generation = 1) => ({ ...base, metadata: { ...base.metadata, generation }, status });
const watcherStatus = (phase: RunPhase) => ({
  phase,
  observedGeneration: 1,
  conditions: runConditions({ phase, reason: `${phase}Reason`, message: 'm', generation: 1, now: '2026-11-21T06:00:00Z' }),
});
const expectedFor = (phase: RunPhase) => (phase === 'Succeeded' ? 'Current' : TERMINAL_PHASES.has(phase) ? 'Failed' : 'InProgress');

describe('the entry', () => {
  it('is one entry, for taskplane.dev JobRuns, with inProgress, failed and current', () => {
    expect(fluxHealthCheckExprs()).toEqual([JOB_RUN_HEALTH_CHECK_EXPR]);
    expect(JOB_RUN_HEALTH_CHECK_EXPR).toMatchObject({ apiVersion: 'taskplane.dev/v1alpha1', kind: 'JobRun' });
    expect(Object.keys(JOB_RUN_HEALTH_CHECK_EXPR).sort()).toEqual(['apiVersion', 'current', 'failed', 'inProgress', 'kind']);
    expect(FAILED_RUN_PHASES).toEqual(RUN_PHASES.filter((p) => TERMINAL_PHASES.has(p) && p !== 'Succeeded'));
  });

  it('parses, and needs nothing but `status` (Flux parses without type-checking: a mistake would only show at run time)', () => {
    for (const expression of [JOB_RUN_HEALTH_CHECK_EXPR.current, JOB_RUN_HEALTH_CHECK_EXPR.failed!, JOB_RUN_HEALTH_CHECK_EXPR.inProgress!]) {
      expect(() => parse(expression)).not.toThrow();
      // apiVersion, kind, metadata and spec are bound to "no such attribute" errors here.
      for (const status of [{}, { phase: 'Failed' }, readFixture('running').status]) expect(typeof evaluateCel(expression, { status })).toBe('boolean');
    }
  });
});

describe('on objects the watcher wrote', () => {
  it.each(JOB_RUN_CASES)('$name ($what): $flux', ({ name, flux: expected }) => {
    expect(flux(readFixture(name))).toBe(expected);
  });

  it('a run whose first attempt failed and whose retry succeeded is Current', () => {
    expect(flux(readFixture('succeeded-after-retry'))).toBe('Current');
  });
});

describe('every phase', () => {
  it.each(RUN_PHASES.map((phase) => [phase, expectedFor(phase)]))('%s with the conditions the watcher writes: %s', (phase, expected) => {
    expect(flux(withStatus(watcherStatus(phase)))).toBe(expected);
  });

  it.each(RUN_PHASES.map((phase) => [phase, expectedFor(phase)]))('%s with the phase only: %s', (phase, expected) => {
    expect(flux(withStatus({ phase }))).toBe(expected);
  });
});

describe('the rules in order', () => {
  it('no status: every expression fails on the unbound `status`, so Unknown; Flux keeps waiting as for InProgress', () => {
    const fresh = readFixture('no-status');
    expect(fresh.status).toBeUndefined();
    expect(flux(fresh)).toBe('Unknown');
    // Why not `has(status)`: `has()` needs a field selection, and the variable itself is what is missing.
    expect(String((evaluateCel('has(status.conditions)', fresh) as Error).message)).toMatch(/no such attribute\(s\): status/);
    // Without the entry, kstatus would call a status-less JobRun Current at once: the reason the entry exists.
    expect(kstatusHealth(fresh)).toBe('Current');
  });

  it('an empty status is InProgress (the map exists, its keys do not)', () => {
    expect(flux(withStatus({}))).toBe('InProgress');
  });

  it('observedGeneration behind the spec: InProgress before any expression, even when it says Succeeded or Failed', () => {
    expect(flux(readFixture('stale-generation'))).toBe('InProgress');
    for (const name of ['succeeded', 'failed']) {
      const obj = readFixture(name);
      obj.metadata.generation = 2;
      expect(flux(obj)).toBe('InProgress');
    }
  });

  it('conditions win over the phase; the phase decides where Ready is absent', () => {
    const c = (type: string, status = 'True') => ({ type, status });
    expect(flux(withStatus({ phase: 'Running', conditions: [c('Ready')] }))).toBe('Current');
    expect(flux(withStatus({ phase: 'Succeeded', conditions: [c('Ready', 'False'), c('Stalled')] }))).toBe('Failed');
    expect(flux(withStatus({ phase: 'Failed', conditions: [c('Stalled'), c('Reconciling')] }))).toBe('InProgress');
    expect(flux(withStatus({ phase: 'Succeeded', conditions: [c('Ready', 'Unknown')] }))).toBe('InProgress');
    expect(flux(withStatus({ phase: 'Failed', conditions: [c('Ready', 'False')] }))).toBe('InProgress');
    expect(flux(withStatus({ phase: 'Failed', conditions: [c('TemplateChanged')] }))).toBe('Failed');
    expect(flux(withStatus({ phase: 'Succeeded', conditions: [c('Stalled', 'False')] }))).toBe('Current');
  });

  it('conditions only (no phase)', () => {
    const only = (type: string, status = 'True') => withStatus({ observedGeneration: 1, conditions: [{ type, status }] });
    expect(flux(only('Ready'))).toBe('Current');
    expect(flux(only('Ready', 'False'))).toBe('InProgress');
    expect(flux(only('Reconciling'))).toBe('InProgress');
    expect(flux(only('Stalled'))).toBe('Failed');
    const fromWatcher = readFixture('failed');
    delete fromWatcher.status.phase;
    expect(flux(fromWatcher)).toBe('Failed');
  });
});

describe('Argo CD and Flux agree', () => {
  requireArgoCdVm();
  const argocdCm = constructArgoCdConfigMap();
  const samples: [string, Record<string, any>][] = [
    ...JOB_RUN_CASES.map(({ name }) => [name, readFixture(name)] as [string, Record<string, any>]),
    ...RUN_PHASES.flatMap((phase) => [[`${phase}+conditions`, withStatus(watcherStatus(phase))], [`${phase} phase only`, withStatus({ phase })]] as [string, Record<string, any>][]),
  ];

  it.each(samples)('%s', async (name, obj) => {
    const argo = (await argoCdHealth(argocdCm, obj)).status;
    // The one difference: Flux cannot name a missing `status`, so Unknown where Argo CD says Progressing.
    expect(flux(obj)).toBe(name === 'no-status' ? 'Unknown' : ARGO_TO_FLUX[argo]);
  });
});

describe('JobConfig', () => {
  it.each(JOB_CONFIG_CASES)('$name: no entry, kstatus decides: $flux', ({ name, flux: expected }) => {
    expect(kstatusHealth(readFixture(name))).toBe(expected);
  });

  it('kstatus already reads the conditions the watcher will write; a CEL entry would turn today\'s status-less JobConfigs Unknown', () => {
    const config = readFixture('jobconfig-no-status');
    expect(config.status).toBeUndefined();
    const at = (status: unknown) => kstatusHealth({ ...config, status });
    expect(at({ observedGeneration: 1, conditions: [{ type: 'Stalled', status: 'True' }] })).toBe('Failed');
    expect(at({ observedGeneration: 1, conditions: [{ type: 'Reconciling', status: 'True' }] })).toBe('InProgress');
    expect(at({ observedGeneration: 0 })).toBe('InProgress');
    expect(at({ state: 'Ready', observedGeneration: 1 })).toBe('Current');
    const wouldBe: FluxHealthCheckExpr = { apiVersion: 'taskplane.dev/v1alpha1', kind: 'JobConfig', failed: "has(status.conditions) && status.conditions.exists(c, c.type == 'Stalled' && c.status == 'True')", current: 'true' };
    expect(fluxHealth(wouldBe, config)).toBe('Unknown');
  });
});
