/**
 * Runs the Flux health checks the way Flux does, for tests (Argo CD's: argocd-vm.ts, Argo CD's own code):
 * - `fluxHealth`: a healthCheckExprs entry with @bufbuild/cel, in kustomize-controller's order.
 * - `kstatusHealth`: kstatus' generic rules (what Flux uses for a kind with no entry).
 */
import { celError, celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import type { FluxHealthCheckExpr } from '../../engine/health/index.js';
import type { ArgoHealthStatus } from './argocd-vm.js';

export type { ArgoHealth, ArgoHealthStatus } from './argocd-vm.js';

// ---- Flux (CEL) ----

export type KStatus = 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'Unknown';

const ENV = celEnv();
const FLUX_VARIABLES = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

/**
 * Evaluates one expression with the object's top-level fields as variables, as Flux does. A
 * variable the object lacks is unresolvable in cel-go even inside `has()` ("no such attribute(s)");
 * @bufbuild/cel would answer `has()` with false instead, so missing variables are bound to that error.
 */
export function evaluateCel(expression: string, obj: Record<string, unknown>): unknown {
  const bindings: Record<string, unknown> = { ...obj };
  for (const name of FLUX_VARIABLES) if (!(name in obj)) bindings[name] = celError(`no such attribute(s): ${name}`);
  return plan(ENV, parse(expression))(bindings as never);
}

/** kustomize-controller's CEL status reader (fluxcd/pkg runtime/cel StatusEvaluator + generic reader). */
export function fluxHealth(entry: FluxHealthCheckExpr, obj: Record<string, any>): KStatus {
  const observed = obj.status?.observedGeneration;
  const generation = obj.metadata?.generation;
  if (Number.isInteger(observed) && Number.isInteger(generation) && observed !== generation) return 'InProgress';
  const order: [string | undefined, KStatus][] = [[entry.inProgress, 'InProgress'], [entry.failed, 'Failed'], [entry.current, 'Current']];
  for (const [expression, result] of order) {
    if (!expression) continue;
    const value = evaluateCel(expression, obj);
    // An evaluation error or a non-boolean makes the reader fail; the poller reports Unknown.
    if (isCelError(value as never) || typeof value !== 'boolean') return 'Unknown';
    if (value) return result;
  }
  return 'InProgress';
}

/** kstatus `status.Compute` for a custom resource (reference/gitops.md §3). */
export function kstatusHealth(obj: Record<string, any>): KStatus {
  if (obj.metadata?.deletionTimestamp) return 'Terminating';
  const observed = obj.status?.observedGeneration;
  if (observed !== undefined && observed !== obj.metadata?.generation) return 'InProgress';
  const conditions: { type: string; status: string }[] = obj.status?.conditions ?? [];
  const condition = (type: string) => conditions.find((c) => c.type === type);
  if (condition('Reconciling')?.status === 'True') return 'InProgress';
  if (condition('Stalled')?.status === 'True') return 'Failed';
  const ready = condition('Ready');
  if (ready) return ready.status === 'True' ? 'Current' : 'InProgress';
  return 'Current';
}

/** Argo CD's health → the kstatus word a Flux user reads, to compare the two engines. */
export const ARGO_TO_FLUX: Record<ArgoHealthStatus, KStatus> = {
  Healthy: 'Current',
  Progressing: 'InProgress',
  Degraded: 'Failed',
  Suspended: 'InProgress',
  Missing: 'Unknown',
  Unknown: 'Unknown',
};
