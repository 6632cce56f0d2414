/**
 * Task results in status are bounded: one result at most MAX_RESULT_BYTES (a Pod's termination
 * message is capped at 4 KiB too), all results of the run at most RESULTS_BUDGET_BYTES. A result
 * that is not kept is marked (`resultOmitted`, with its size); the task object still has it.
 */
import type { TaskRef } from '../schema/resources.js';
import { compact } from './compact.js';

export const MAX_RESULT_BYTES = 4096;
export const RESULTS_BUDGET_BYTES = 64 * 1024;

export function resultBytes(ref: TaskRef): number {
  return ref.taskResult === undefined ? 0 : Buffer.byteLength(JSON.stringify(ref.taskResult));
}

/**
 * Applies the caps to the results of refs that finished in this plan (`isNew`); the results already
 * in status are records and count first. Refs are taken in order, so the decision is deterministic.
 */
export function boundResults(refs: readonly TaskRef[], isNew: (ref: TaskRef) => boolean): TaskRef[] {
  let spent = refs.filter((ref) => !isNew(ref)).reduce((sum, ref) => sum + resultBytes(ref), 0);
  return refs.map((ref) => {
    if (!isNew(ref) || ref.taskResult === undefined) return ref;
    const bytes = resultBytes(ref);
    const reason = bytes > MAX_RESULT_BYTES ? 'TooLarge' : spent + bytes > RESULTS_BUDGET_BYTES ? 'StatusBudget' : undefined;
    if (!reason) {
      spent += bytes;
      return ref;
    }
    return compact<TaskRef>({ ...ref, taskResult: undefined, resultOmitted: { reason, bytes } });
  });
}
