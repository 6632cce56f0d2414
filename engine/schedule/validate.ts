/** Validation of a JobConfig's schedule, at synth and wherever a JobConfig is checked (engine/config.ts). */
import type { FieldError } from '../errors.js';
import { evaluateOptions } from '../options/index.js';
import type { JobConfigSpec } from '../schema/resources.js';
import { compileSchedule } from './schedule.js';

/**
 * Every problem with `spec.schedule`: the expressions, zone and window (validated as Furiko does,
 * with an empty namespace for `H`: validity does not depend on it), the name's length, and options
 * a scheduled run could not fill (scheduled runs have no option values, only defaults).
 */
export function validateSchedule(name: string, spec: JobConfigSpec): FieldError[] {
  if (!spec.schedule) return [];
  const errors = compileSchedule(spec.schedule, '', name).errors;
  (spec.options ?? []).forEach((option, i) => {
    if (evaluateOptions([option], {}).errors.length === 0) return;
    errors.push({
      field: `spec.options[${i}]`,
      message: `option "${option.name}" is required and has no default, but scheduled runs have no option values`,
      value: option.name,
      valid: 'give it a default, or make it optional',
    });
  });
  return errors;
}
