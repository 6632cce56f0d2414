/**
 * Which HttpTasks the watcher performs (DESIGN §7.1: the watcher is a deputy). Anyone who may create
 * an HttpTask object must not be able to make the watcher send a request of their own, with Secret
 * headers only the watcher can read. So a request is sent only for an HttpTask that is exactly its
 * run's task: the run recorded it (by name, and by uid once known), the run was admitted (its
 * template is its JobConfig's), and the object's spec is what the run's template renders for that
 * index and attempt, byte for byte (render parity).
 */
import { isDeepStrictEqual } from 'node:util';
import type { ParallelIndex } from '../engine/indexes.js';
import { ANNOTATION_PARALLEL_INDEX, LABEL_RETRY_INDEX, LABEL_RUN } from '../engine/labels.js';
import { renderTask, type RuntimeContext } from '../engine/render.js';
import { recordedTask } from '../engine/run/pack.js';
import type { HttpTaskSpec } from '../engine/schema/http.js';
import type { JobRunObject } from '../engine/schema/resources.js';
import type { KubeObject } from './kube/client.js';

/** `send`; `wait` until the run has recorded the task; `refuse` with why (the task fails, nothing is sent). */
export type HttpTaskVerdict = { readonly decision: 'send' } | { readonly decision: 'wait' } | { readonly decision: 'refuse'; readonly why: string };

export function admitHttpTask(task: KubeObject & { spec: HttpTaskSpec }, run: JobRunObject | undefined, runtime: RuntimeContext): HttpTaskVerdict {
  const { name, labels, annotations, uid } = task.metadata;
  const runName = labels?.[LABEL_RUN];
  if (!runName) return { decision: 'refuse', why: `HttpTask ${name} belongs to no run (no ${LABEL_RUN} label); the watcher sends only runs' tasks` };
  // The run may not be in the cache yet (GitOps applies a run's file in one go): its arrival looks again.
  if (!run) return { decision: 'wait' };
  if (run.status?.phase === 'AdmissionError') return { decision: 'refuse', why: `run ${runName} was not admitted: ${run.status.message ?? run.status.reason ?? 'AdmissionError'}` };
  // A run of many tasks at once packs them (engine/run/pack.ts): they are recorded all the same.
  const { ref, stray } = recordedTask(run, name, task.metadata.creationTimestamp, uid);
  if (!ref) return { decision: 'wait' };
  if (stray) return { decision: 'refuse', why: `run ${runName} recorded another object under the name ${name}${ref.uid ? ` (uid ${ref.uid})` : ''}; this one is a stray` };
  let index: ParallelIndex;
  try {
    index = JSON.parse(annotations?.[ANNOTATION_PARALLEL_INDEX] ?? '') as ParallelIndex;
  } catch {
    return { decision: 'refuse', why: `HttpTask ${name} has no valid ${ANNOTATION_PARALLEL_INDEX} annotation` };
  }
  const { task: rendered } = renderTask(run, index, Number(labels?.[LABEL_RETRY_INDEX]), runtime);
  const { killTimestamp: _, ...spec } = task.spec;
  if (!rendered || rendered.name !== name || !isDeepStrictEqual(rendered.manifest.spec, spec)) {
    return { decision: 'refuse', why: `HttpTask ${name} is not what run ${runName}'s template renders for its index and attempt; the watcher sends only that` };
  }
  return { decision: 'send' };
}
