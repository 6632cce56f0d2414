/**
 * kstatus conditions (reference/gitops.md §3): Ready on success, Reconciling while work goes on,
 * Stalled on terminal failure, plus TemplateChanged once started. A condition keeps its
 * lastTransitionTime while its status stays the same, so planning again writes the same status.
 */
import type { JobRunStatus, RunPhase, StrayTask } from '../schema/resources.js';
import { compact } from './compact.js';
import { TERMINAL_PHASES } from './phase.js';

export type Condition = NonNullable<JobRunStatus['conditions']>[number];

export const RECONCILE_ERROR = 'ReconcileError';

export interface ConditionInput {
  readonly phase: RunPhase;
  readonly reason?: string;
  readonly message?: string;
  /** Undefined until the run starts (nothing to compare with before). */
  readonly templateChanged?: boolean;
  /** Objects stopped because they appeared under finished tasks' names (strays.ts). */
  readonly strayTasks?: readonly StrayTask[];
  readonly previous?: readonly Condition[];
  readonly generation?: number;
  readonly now: string;
}

export function runConditions(input: ConditionInput): Condition[] {
  const { phase, reason, message, templateChanged } = input;
  const terminal = TERMINAL_PHASES.has(phase);
  const stalled = terminal && phase !== 'Succeeded';
  const conditions: Condition[] = [
    phase === 'Succeeded' ? { type: 'Ready', status: 'True', reason: 'Succeeded', message } : { type: 'Ready', status: 'False', reason: phase, message },
    { type: 'Reconciling', status: terminal ? 'False' : 'True', reason: phase, message },
    stalled ? { type: 'Stalled', status: 'True', reason: reason ?? phase, message } : { type: 'Stalled', status: 'False', reason: phase },
  ];
  if (templateChanged !== undefined) {
    conditions.push(
      templateChanged
        ? { type: 'TemplateChanged', status: 'True', reason: 'TemplateChanged', message: 'spec.template changed after the run started; the run goes on, and retries render from the changed template' }
        : { type: 'TemplateChanged', status: 'False', reason: 'TemplateUnchanged' },
    );
  }
  if (input.strayTasks?.length) {
    const names = [...new Set(input.strayTasks.map((stray) => stray.name))].join(', ');
    const message = `${input.strayTasks.length} object(s) created under the names of finished tasks were stopped in place and not counted as attempts: ${names}`;
    conditions.push({ type: 'StrayTasks', status: 'True', reason: 'StrayTask', message });
  }
  return stampConditions(conditions, input);
}

/** Refreshes observedGeneration only (a finished run's conditions otherwise stay as written; a reconcile error is over). */
export function restampConditions(conditions: readonly Condition[] | undefined, generation: number | undefined): Condition[] | undefined {
  return conditions?.filter((condition) => condition.type !== RECONCILE_ERROR).map((condition) => compact({ ...condition, observedGeneration: generation }));
}

/**
 * A reconcile failed with an error that retrying may fix (the API server, a task kind's cache): the
 * run's status says so in a `ReconcileError` condition until a reconcile succeeds (every plan
 * rebuilds its conditions without it). `changed` is false when the status already said the same.
 */
export function withReconcileError(
  status: JobRunStatus,
  error: { readonly reason: string; readonly message: string },
  generation: number | undefined,
  now: string,
): { status: JobRunStatus; changed: boolean } {
  const previous = status.conditions ?? [];
  const before = previous.find((c) => c.type === RECONCILE_ERROR);
  const [condition] = stampConditions([{ type: RECONCILE_ERROR, status: 'True', reason: error.reason, message: error.message }], { previous, generation, now });
  const changed = before?.reason !== error.reason || before.message !== error.message;
  return { status: { ...status, conditions: [...previous.filter((c) => c.type !== RECONCILE_ERROR), condition!] }, changed };
}

/**
 * Sets lastTransitionTime (kept from `previous` while a condition's status stays) and
 * observedGeneration on each condition; shared by JobRun and JobConfig status.
 */
export function stampConditions(
  conditions: readonly Condition[],
  { previous, generation, now }: { readonly previous?: readonly Condition[]; readonly generation?: number; readonly now: string },
): Condition[] {
  return conditions.map((condition) => {
    const before = previous?.find((c) => c.type === condition.type);
    const lastTransitionTime = before?.status === condition.status ? (before.lastTransitionTime ?? now) : now;
    return compact({ ...condition, lastTransitionTime, observedGeneration: generation });
  });
}
