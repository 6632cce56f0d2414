/** Reading task objects of a run out of a cache, in the engine's terms. */
import { selectExecutor, type Executor } from '../engine/executors/index.js';
import { HTTP_TASK_KIND } from '../engine/executors/http.js';
import type { ParallelIndex } from '../engine/indexes.js';
import { ANNOTATION_PARALLEL_INDEX, LABEL_RETRY_INDEX, LABEL_RUN } from '../engine/labels.js';
import type { ObservedTask } from '../engine/run/types.js';
import type { JobRunObject } from '../engine/schema/resources.js';
import type { KubeObject } from './kube/client.js';

export interface TaskKind {
  readonly apiVersion: string;
  readonly kind: string;
}

export interface RunExecutor {
  readonly executor: Executor<unknown>;
  readonly template: unknown;
  readonly taskKind: TaskKind;
}

const TYPED_KINDS: Record<string, TaskKind> = {
  pod: { apiVersion: 'v1', kind: 'Pod' },
  job: { apiVersion: 'batch/v1', kind: 'Job' },
  workflow: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow' },
  http: HTTP_TASK_KIND,
};

/** The run's executor and the kind of its task objects; undefined when the template is invalid (the plan reports it). */
export function runExecutor(run: JobRunObject): RunExecutor | undefined {
  const taskTemplate = run.spec?.template?.taskTemplate;
  if (!taskTemplate) return undefined;
  const { selected, errors } = selectExecutor(taskTemplate, 'spec.template.taskTemplate');
  if (!selected || errors.length) return undefined;
  const manifest = (selected.template as { manifest?: { apiVersion?: string; kind?: string } }).manifest;
  const taskKind = TYPED_KINDS[selected.executor.name] ?? { apiVersion: manifest!.apiVersion!, kind: manifest!.kind! };
  return { executor: selected.executor, template: selected.template, taskKind };
}

export function ownedBy(object: KubeObject, run: JobRunObject): boolean {
  return (object.metadata.ownerReferences ?? []).some((ref) => ref.uid === run.metadata.uid);
}

/** The task objects of `run` among `objects`, observed by its executor. Objects without taskplane's marks are ignored. */
export function observeTasks(run: JobRunObject, objects: readonly KubeObject[], runExecutor: RunExecutor): ObservedTask[] {
  const tasks: ObservedTask[] = [];
  for (const object of objects) {
    const { namespace, labels, annotations, name, creationTimestamp } = object.metadata;
    if (namespace !== run.metadata.namespace || labels?.[LABEL_RUN] !== run.metadata.name) continue;
    const indexJson = annotations?.[ANNOTATION_PARALLEL_INDEX];
    const retryIndex = Number(labels?.[LABEL_RETRY_INDEX]);
    if (!indexJson || !Number.isInteger(retryIndex)) continue;
    let index: ParallelIndex;
    try {
      index = JSON.parse(indexJson) as ParallelIndex;
    } catch {
      continue;
    }
    const createdByWatcher = ownedBy(object, run);
    tasks.push({
      name,
      index,
      retryIndex,
      uid: object.metadata.uid,
      creationTimestamp: creationTimestamp ?? '',
      observation: runExecutor.executor.observe({ object: object as never, createdByWatcher }, runExecutor.template),
      createdByWatcher,
    });
  }
  return tasks;
}
