/**
 * What a failed reconcile means for its run. An error retrying cannot fix ends the run in
 * AdmissionError (the API server refuses the object itself, or its kind cannot be listed at all);
 * any other keeps the run retrying with backoff, with a `ReconcileError` condition saying why.
 */
import type { RunSnapshot } from '../engine/run/types.js';
import { ApiError } from './kube/client.js';
import { TaskCacheUnavailable } from './task-caches.js';

export type Rejection = NonNullable<RunSnapshot['rejection']>;

/** Answers to a create that say the object, not the moment, is wrong. */
const REFUSED: Record<number, string> = {
  400: 'TaskRejected',
  403: 'TaskForbidden',
  413: 'TaskRejected',
  422: 'TaskRejected',
};

/** The run's rejection when the API server refused to create one of its task objects for good. */
export function createRejection(error: unknown, kind: string, name: string): Rejection | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const reason = REFUSED[error.status];
  // 403 with a reason other than Forbidden (e.g. a namespace being terminated) passes once it is over.
  if (!reason || (error.status === 403 && error.reason !== 'Forbidden')) return undefined;
  return { reason, message: `the API server refused ${kind} ${name}: ${error.message.replace(/^\S+ \S+: /, '')}` };
}

/** A failed reconcile: the run's rejection when retrying cannot help, else the reason its condition shows. */
export function classifyFailure(error: unknown): { rejection: Rejection } | { transient: { reason: string; message: string } } {
  if (error instanceof TaskCacheUnavailable) {
    // 405: the kind has no list or watch (e.g. Binding); no permission or CRD can change that.
    if (error.status === 405) return { rejection: { reason: 'TaskKindNotWatchable', message: error.message } };
    return { transient: { reason: 'TaskCacheUnavailable', message: `${error.message}; retrying` } };
  }
  if (error instanceof ApiError) return { transient: { reason: 'ApiError', message: `${error.message}; retrying` } };
  return { transient: { reason: 'ReconcileError', message: `${(error as Error).message}; retrying` } };
}
