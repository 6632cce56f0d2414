/**
 * ajv validation of JobConfig and JobRun specs against the schema, reported as FieldErrors.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { TSchema } from 'typebox';
import type { FieldError } from '../errors.js';
import { JobConfigSpecSchema, JobRunSpecSchema } from './resources.js';

/** RFC 3339 as Kubernetes accepts for metav1.Time. */
export const RFC3339_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** RFC 3339 with real calendar and clock values: the API server rejects `2026-02-30T25:00:00Z`. */
export function isRfc3339(text: string): boolean {
  if (!RFC3339_PATTERN.test(text)) return false;
  const [year, month, day, hour, minute, second] = [0, 5, 8, 11, 14, 17].map((at) => Number(text.slice(at, at + (at ? 2 : 4))));
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(text);
  const leap = year! % 4 === 0 && (year! % 100 !== 0 || year! % 400 === 0);
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month! - 1] ?? 0;
  return (
    month! >= 1 && month! <= 12 && day! >= 1 && day! <= daysInMonth &&
    hour! < 24 && minute! < 60 && second! < 60 &&
    (!offset || (Number(offset[2]) < 24 && Number(offset[3]) < 60))
  );
}

// Compiling is most of a small synth's fixed cost (bench/README.md). validateSchema off: checking our
// static schemas against the meta-schema compiled the meta-schema on every start (strict mode still
// rejects unknown keywords); optimize off halves the compile, and validating is as fast.
const ajv = new Ajv({ allErrors: true, strict: true, verbose: true, validateSchema: false, code: { optimize: false } });
ajv.addKeyword('x-kubernetes-preserve-unknown-fields');
ajv.addFormat('date-time', isRfc3339);

const compiled = new Map<TSchema, ValidateFunction>();

/** Validates `value` against `schema`; every violation becomes a FieldError under `field`. */
export function validateAgainst(schema: TSchema, value: unknown, field: string): FieldError[] {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => toFieldError(e, field));
}

export const validateJobConfigSpec = (spec: unknown, field = 'spec') => validateAgainst(JobConfigSpecSchema, spec, field);
export const validateJobRunSpec = (spec: unknown, field = 'spec') => validateAgainst(JobRunSpecSchema, spec, field);

function toFieldError(error: ErrorObject, base: string): FieldError {
  const segments = error.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let field = base;
  for (const segment of segments) field += /^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { field: `${field}.${String(params.missingProperty)}`, message: 'is required' };
    case 'additionalProperties':
      return { field: `${field}.${String(params.additionalProperty)}`, message: 'is not a known field' };
    case 'enum':
      return { field, message: 'is not supported', value: error.data, valid: `one of ${(params.allowedValues as unknown[]).join(', ')}` };
    case 'minimum':
    case 'maximum':
      return { field, message: `must be ${error.keyword === 'minimum' ? '>=' : '<='} ${String(params.limit)}`, value: error.data };
    case 'pattern':
      return { field, message: 'has characters that are not allowed', value: error.data, valid: `matching ${String(params.pattern)}` };
    default:
      return { field, message: error.message ?? error.keyword, value: error.data };
  }
}
