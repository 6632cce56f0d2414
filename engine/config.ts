/** Validation of a JobConfig definition, shared by the constructs (synth) and the CLI (cluster objects). */
import { cacheKeyErrors } from './cache/index.js';
import type { FieldError } from './errors.js';
import { executorErrors } from './executors/index.js';
import { validateParallelism } from './indexes.js';
import { DNS_LABEL_PATTERN } from './names.js';
import { validateOptionSpecs } from './options/index.js';
import { retryPolicyErrors } from './retry/validate.js';
import type { JobConfigSpec } from './schema/resources.js';
import { validateJobConfigSpec } from './schema/validate.js';
import { validateSchedule } from './schedule/validate.js';

/** Every problem with a JobConfig's name and spec: schema, options, parallelism, executor, concurrency, schedule. */
export function validateJobConfig(name: string, spec: JobConfigSpec): FieldError[] {
  const errors = validateJobConfigSpec(spec);
  if (name.length > 63 || !DNS_LABEL_PATTERN.test(name)) {
    errors.push({ field: 'metadata.name', message: 'must be a DNS label (it is also a label value)', value: name, valid: 'lowercase letters, digits and "-", at most 63 characters' });
  }
  if (!spec?.template?.taskTemplate) return errors;
  errors.push(...validateOptionSpecs(spec.options ?? []));
  errors.push(...validateParallelism(spec.template.parallelism, 'spec.template.parallelism'));
  errors.push(...executorErrors(spec.template.taskTemplate, 'spec.template.taskTemplate', errors));
  errors.push(...retryPolicyErrors(spec.template, 'spec.template', errors));
  const { policy, maxConcurrency } = spec.concurrency ?? {};
  if (policy === 'Allow' && maxConcurrency !== undefined) {
    errors.push({ field: 'spec.concurrency.maxConcurrency', message: 'cannot be set with policy Allow', value: maxConcurrency, valid: 'policy Forbid or Enqueue' });
  }
  errors.push(...validateSchedule(name, spec));
  errors.push(...cacheKeyErrors(name, spec));
  return errors;
}
