/**
 * Flux `healthCheckExprs` for taskplane.dev/JobRun: the exact entry that `GitOpsHealthChecks` puts
 * into a Kustomization and `test/engine/health-cel.test.ts` evaluates with a real CEL evaluator.
 *
 * How kustomize-controller evaluates an entry (fluxcd/pkg runtime/cel, RFC-0009): if
 * `status.observedGeneration` is an integer and differs from `metadata.generation`, InProgress;
 * otherwise `inProgress`, `failed`, `current` in that order, the first that is true wins; none true,
 * InProgress; an evaluation error, Unknown. The expressions are parsed, not type-checked, and the
 * object's top-level fields are the variables (`apiVersion`, `kind`, `metadata`, `spec`, `status`).
 *
 * `has(status.x)` tests a key of the `status` map, but `status` itself must exist: with no status the
 * variable is unbound and every expression that mentions it fails (cel-go: "no such attribute(s):
 * status"), so a JobRun the watcher has not seen yet reads Unknown, which keeps Flux waiting exactly
 * like InProgress. Nothing in the object can tell "no status" apart without naming `status`.
 *
 * The rules match the Argo CD Lua check (./argocd.ts) and kstatus: Reconciling=True in progress,
 * Stalled=True failed, Ready decides where present; the phase where the conditions are absent.
 *
 * JobConfig gets no entry on purpose: kstatus' generic reader already gives what we want (no status:
 * Current; observedGeneration, Reconciling, Stalled and Ready once the watcher writes them), while
 * any CEL entry would turn today's status-less JobConfigs into Unknown and hold `wait: true` until
 * its timeout.
 */
import { GROUP_VERSION } from '../schema/resources.js';

/** One `spec.healthCheckExprs[]` entry of a Flux Kustomization (kustomize.toolkit.fluxcd.io/v1). */
export interface FluxHealthCheckExpr {
  readonly apiVersion: string;
  readonly kind: string;
  readonly current: string;
  readonly inProgress?: string;
  readonly failed?: string;
}

const hasCondition = (type: string) => `has(status.conditions) && status.conditions.exists(c, c.type == '${type}')`;
const conditionTrue = (type: string) => `has(status.conditions) && status.conditions.exists(c, c.type == '${type}' && c.status == 'True')`;

/** Furiko's terminal phases other than Succeeded. */
export const FAILED_RUN_PHASES = ['Failed', 'Killed', 'AdmissionError', 'FinishedUnknown'] as const;

export const JOB_RUN_HEALTH_CHECK_EXPR: FluxHealthCheckExpr = {
  apiVersion: GROUP_VERSION,
  kind: 'JobRun',
  inProgress: conditionTrue('Reconciling'),
  failed:
    `${conditionTrue('Stalled')} || !(${hasCondition('Ready')}) && has(status.phase) && ` +
    `status.phase in [${FAILED_RUN_PHASES.map((p) => `'${p}'`).join(', ')}]`,
  current: `${hasCondition('Ready')} ? status.conditions.exists(c, c.type == 'Ready' && c.status == 'True') : has(status.phase) && status.phase == 'Succeeded'`,
};

/** The `spec.healthCheckExprs` taskplane recommends (JobRun only; see above for JobConfig). */
export function fluxHealthCheckExprs(): FluxHealthCheckExpr[] {
  return [{ ...JOB_RUN_HEALTH_CHECK_EXPR }];
}
