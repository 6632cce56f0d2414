/**
 * The cache key of a task (Flyte's memoization, Argo Workflows' memoize): what the task does, not which
 * run or attempt does it. Pure: the same run and index give the same key at synth, in the watcher and
 * after a restart.
 */
import { createHash } from 'node:crypto';
import type { FieldError } from '../errors.js';
import { canonicalIndexJson, DEFAULT_INDEX, expandIndexes, type ParallelIndex } from '../indexes.js';
import { ANNOTATION_ARGOCD_IGNORE_HEALTH, ANNOTATION_PARALLEL_INDEX, LABEL_CONFIG, LABEL_RETRY_INDEX, LABEL_RUN, LABEL_TASK_INDEX } from '../labels.js';
import { renderTask, variableScope, type RuntimeContext } from '../render.js';
import { stableJson } from '../run/template-hash.js';
import { GROUP_VERSION, type JobConfigSpec, type JobRunObject } from '../schema/resources.js';
import { substitute, substituteString } from '../substitution.js';

/** Bumped when what goes into a key changes, so no entry written under the old rule is read under the new. */
export const CACHE_KEY_FORMAT = 1;

/**
 * Stand-ins for what names one run and one attempt: `${job.name}`, `${task.name}`, `${task.retry_index}`,
 * `${job.type}`, the UIDs. The same task in another run (a scheduled one, a retry) is the same work.
 */
const NEUTRAL_RUN_NAME = 'cached';
const NEUTRAL_RUNTIME: RuntimeContext = { jobUid: 'cached', jobConfigUid: 'cached' };
const TASKPLANE_LABELS = [LABEL_RUN, LABEL_CONFIG, LABEL_TASK_INDEX, LABEL_RETRY_INDEX];
const TASKPLANE_ANNOTATIONS = [ANNOTATION_PARALLEL_INDEX, ANNOTATION_ARGOCD_IGNORE_HEALTH];

export interface CacheKey {
  /** Hex SHA-256 over the key format, the run's namespace and JobConfig, the cache version, the index and the input. */
  readonly key: string;
  readonly version: string;
}

/**
 * The key of `index` in a run whose template has `cache`; none without. The input is the configured
 * `key` with its variables substituted, else the whole rendered task without its name and the labels
 * and annotations taskplane sets. The namespace and JobConfig are always part of it: a key never
 * reaches another JobConfig's entries. Errors are the run's problems at this index (as renderTask's).
 */
export function taskCacheKey(run: JobRunObject, index: ParallelIndex): { key?: CacheKey; errors: FieldError[] } {
  const cache = run.spec.template.cache;
  if (!cache) return { errors: [] };
  const neutral: JobRunObject = { ...run, metadata: { ...run.metadata, name: NEUTRAL_RUN_NAME }, spec: { ...run.spec, type: 'Adhoc' } };
  let input: unknown;
  if (cache.key !== undefined) {
    const { value, errors } = substitute(cache.key, variableScope(neutral, index, 0, NEUTRAL_RUNTIME), 'spec.template.cache.key');
    if (errors.length) return { errors };
    input = { key: value };
  } else {
    const { task, errors } = renderTask(neutral, index, 0, NEUTRAL_RUNTIME);
    if (!task) return { errors };
    input = { task: withoutTaskplaneMetadata(task.manifest) };
  }
  const identity = {
    format: CACHE_KEY_FORMAT,
    namespace: run.metadata.namespace ?? '',
    config: run.spec.configName,
    version: cache.version,
    index: canonicalIndexJson(index),
    input,
  };
  return { key: { key: createHash('sha256').update(stableJson(identity)).digest('hex'), version: cache.version }, errors: [] };
}

function withoutTaskplaneMetadata(manifest: { metadata: Record<string, unknown> }): unknown {
  const { name: _name, namespace: _namespace, labels, annotations, ...metadata } = manifest.metadata as Record<string, Record<string, string> | undefined>;
  const keep = (map: Record<string, string> | undefined, drop: readonly string[]) => Object.fromEntries(Object.entries(map ?? {}).filter(([k]) => !drop.includes(k)));
  return { ...manifest, metadata: { ...metadata, labels: keep(labels, TASKPLANE_LABELS), annotations: keep(annotations, TASKPLANE_ANNOTATIONS) } };
}

/**
 * The configured key's variables, checked on the JobConfig itself (its scheduled runs are made in the
 * cluster, where a bad key would only ever miss): every option and computed variable is known here.
 */
export function cacheKeyErrors(configName: string, spec: JobConfigSpec): FieldError[] {
  const key = spec.template?.cache?.key;
  if (key === undefined) return [];
  const options = Object.fromEntries((spec.options ?? []).map((option) => [`option.${option.name}`, '']));
  const standIn: JobRunObject = {
    apiVersion: GROUP_VERSION,
    kind: 'JobRun',
    metadata: { name: NEUTRAL_RUN_NAME, namespace: 'namespace' },
    spec: { configName, substitutions: options, template: spec.template },
  };
  const errors: FieldError[] = [];
  substituteString(key, variableScope(standIn, expandIndexes(spec.template.parallelism)[0] ?? DEFAULT_INDEX, 0, NEUTRAL_RUNTIME), 'spec.template.cache.key', errors);
  return errors;
}
