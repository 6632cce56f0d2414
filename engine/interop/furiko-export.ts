/**
 * A taskplane JobConfig written as a Furiko JobConfig (`execution.furiko.io/v1alpha1`), for
 * clusters that run Furiko. Only what Furiko would run the same way is written; everything else
 * is an error at taskplane's field path.
 */
import type { FieldError } from '../errors.js';
import type { JobConfigSpec } from '../schema/resources.js';
import { FURIKO_GROUP_VERSION, FURIKO_NAME_LIMIT, mapStrings, toFurikoText } from './furiko.js';

export interface FurikoExportInput {
  readonly name: string;
  readonly namespace?: string;
  /** On the JobConfig and its runs in taskplane: on the JobConfig and its Jobs' template in Furiko. */
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: JobConfigSpec;
}

/** A Furiko JobConfig object, shaped for `new ApiObject(chart, id, object)`. */
export interface FurikoJobConfigObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec: Readonly<Record<string, unknown>>;
}

const OTHER_EXECUTORS = ['job', 'workflow', 'customResource'] as const;

/** The Furiko JobConfig, or every reason it cannot be written. */
export function writeFurikoJobConfig(input: FurikoExportInput): { object?: FurikoJobConfigObject; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const { spec } = input;
  const { template } = spec;
  if (input.name.length > FURIKO_NAME_LIMIT) {
    errors.push({ field: 'metadata.name', message: `is longer than Furiko allows for a JobConfig (${FURIKO_NAME_LIMIT}: it appends -<unix time> for scheduled Jobs)`, value: input.name, valid: `at most ${FURIKO_NAME_LIMIT} characters` });
  }
  for (const kind of OTHER_EXECUTORS) {
    if (template.taskTemplate[kind]) errors.push({ field: `spec.template.taskTemplate.${kind}`, message: "Furiko's only executor is pod", value: kind, valid: 'TaskTemplate.pod(...)' });
  }
  if (template.taskTimeoutSeconds) {
    errors.push({
      field: 'spec.template.taskTimeoutSeconds',
      message: 'Furiko has no task timeout',
      value: template.taskTimeoutSeconds,
      valid: "no taskTimeout; the pod spec's activeDeadlineSeconds is the nearest (it counts from the Pod's start, pending time included)",
    });
  }
  if (spec.schedule?.history) {
    errors.push({ field: 'spec.schedule.history', message: 'Furiko keeps no run history limit (its Jobs expire by ttlSecondsAfterFinished)', value: spec.schedule.history, valid: 'no keepSucceeded / keepFailed' });
  }
  if (spec.allowCustomTemplates) {
    errors.push({ field: 'spec.allowCustomTemplates', message: "a Furiko Job created from a JobConfig always gets the config's template", value: true, valid: 'false (a Furiko Job without configName may carry any template)' });
  }
  const pod = template.taskTemplate.pod
    ? mapStrings(template.taskTemplate.pod, (text, field) => toFurikoText(text, field, errors, `spec.template.taskTemplate.pod.${field}`))
    : undefined;
  if (errors.length > 0 || !pod) return { errors };

  // Two copies: one shared object would be written as a YAML anchor and alias.
  const labels = () => (Object.keys(input.labels).length > 0 ? { labels: { ...input.labels } } : undefined);
  const { cron, disabled, constraints } = spec.schedule ?? {};
  const object: FurikoJobConfigObject = {
    apiVersion: FURIKO_GROUP_VERSION,
    kind: 'JobConfig',
    metadata: { name: input.name, ...(input.namespace && { namespace: input.namespace }), ...labels() },
    spec: {
      concurrency: { ...spec.concurrency },
      ...(cron && { schedule: { cron: { ...cron }, ...(disabled !== undefined && { disabled }), ...(constraints && { constraints: { ...constraints } }) } }),
      ...(spec.options?.length && { option: { options: structuredClone(spec.options) } }),
      template: {
        ...(labels() && { metadata: labels() }),
        spec: {
          taskTemplate: { pod },
          ...(template.parallelism && { parallelism: structuredClone(template.parallelism) }),
          ...(template.maxAttempts !== undefined && { maxAttempts: template.maxAttempts }),
          ...(template.retryDelaySeconds !== undefined && { retryDelaySeconds: template.retryDelaySeconds }),
          ...(template.taskPendingTimeoutSeconds !== undefined && { taskPendingTimeoutSeconds: template.taskPendingTimeoutSeconds }),
          // taskplane's watcher never force-deletes a task; Furiko does after 15 minutes unless told not to.
          forbidTaskForceDeletion: true,
        },
      },
    },
  };
  return { object, errors };
}
