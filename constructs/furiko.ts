import { Chart, Duration } from 'cdk8s';
import type { Construct } from 'constructs';
import { parseAllDocuments } from 'yaml';
import { ValidationError, type FieldError } from '../engine/errors.js';
import { writeFurikoJobConfig, type FurikoJobConfigObject } from '../engine/interop/furiko-export.js';
import { readFurikoJobConfig, type FurikoImport } from '../engine/interop/furiko-import.js';
import type { OptionSpec } from '../engine/schema/option.js';
import type { JobConfigSpec } from '../engine/schema/resources.js';
import { addFieldValidation } from './_validation.js';
import { Concurrency } from './concurrency.js';
import { JobConfig, type JobConfigProps } from './job-config.js';
import { BoolOptionFormat, Option, type OptionDefinitions } from './option.js';
import { CompletionStrategy, Parallelism } from './parallelism.js';
import { Schedule } from './schedule.js';
import { TaskTemplate } from './task-template.js';

/** Stands in for the task while the Furiko JobConfig has errors: synth reports them and writes nothing. */
const UNREAD = { pod: { spec: { containers: [{ name: 'main', image: 'unread' }] } } };

/** `JobConfig.fromFuriko`: the mapping is engine/interop/furiko-import.ts. @internal */
export function jobConfigFromFuriko(scope: Construct, id: string, source: string | FurikoJobConfigObject | Readonly<Record<string, unknown>>): JobConfig<OptionDefinitions> {
  const { object, errors: parseErrors } = typeof source === 'string' ? parseOne(source) : { object: source, errors: [] };
  const read: FurikoImport = parseErrors.length ? { labels: {}, errors: parseErrors } : readFurikoJobConfig(object);
  const props: JobConfigProps<OptionDefinitions> = read.spec
    ? { ...propsOf(read.spec), labels: read.labels }
    : { task: TaskTemplate._fromSpec(UNREAD) };
  const place = read.spec ? { ...(read.name && { name: read.name }), ...(read.namespace && { namespace: read.namespace }) } : {};
  const config = new JobConfig(scope, id, { ...props, ...place });
  const errors = read.errors.map((e) => ({ ...e, field: e.field ? `furiko ${e.field}` : 'furiko' }));
  addFieldValidation(config, () => errors);
  return config;
}

function parseOne(text: string): { object?: unknown; errors: FieldError[] } {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) return { errors: [{ field: '', message: 'is not YAML', valid: 'one Furiko JobConfig document' }] };
  const problems = documents.flatMap((d) => d.errors.map((e) => e.message));
  const objects = documents.filter((d) => d.contents !== null);
  if (problems.length === 0 && objects.length === 1) return { object: objects[0]!.toJS(), errors: [] };
  const message = problems.length ? `YAML does not parse: ${problems.join('; ')}` : `holds ${objects.length} documents`;
  return { errors: [{ field: '', message, valid: 'one Furiko JobConfig document' }] };
}

/** Typed props from a spec that passed validation. */
function propsOf(spec: JobConfigSpec): JobConfigProps<OptionDefinitions> {
  const { template } = spec;
  const options = Object.fromEntries((spec.options ?? []).map((o) => [o.name, optionOf(o)]));
  const schedule = spec.schedule;
  const cron = schedule?.cron;
  return {
    task: TaskTemplate._fromSpec(template.taskTemplate),
    ...(template.parallelism && { parallelism: parallelismOf(template.parallelism) }),
    ...(template.maxAttempts !== undefined && { maxAttempts: template.maxAttempts }),
    ...(template.retryDelaySeconds !== undefined && { retryDelay: Duration.seconds(template.retryDelaySeconds) }),
    ...(template.taskPendingTimeoutSeconds !== undefined && { pendingTimeout: Duration.seconds(template.taskPendingTimeoutSeconds) }),
    concurrency: concurrencyOf(spec.concurrency),
    ...(Object.keys(options).length > 0 && { options }),
    ...(cron && {
      schedule: Schedule.cron(cron.expressions ?? cron.expression ?? '', {
        ...(cron.timezone !== undefined && { timezone: cron.timezone }),
        ...(schedule.disabled !== undefined && { disabled: schedule.disabled }),
        ...(schedule.constraints?.notBefore && { notBefore: new Date(schedule.constraints.notBefore) }),
        ...(schedule.constraints?.notAfter && { notAfter: new Date(schedule.constraints.notAfter) }),
      }),
    }),
  };
}

function parallelismOf(spec: NonNullable<JobConfigSpec['template']['parallelism']>): Parallelism {
  const options = spec.completionStrategy ? { completionStrategy: spec.completionStrategy as CompletionStrategy } : {};
  if (spec.withKeys) return Parallelism.withKeys(spec.withKeys, options);
  if (spec.withMatrix) return Parallelism.withMatrix(spec.withMatrix, options);
  return Parallelism.withCount(spec.withCount ?? 1, options);
}

function concurrencyOf(spec: JobConfigSpec['concurrency']): Concurrency {
  if (spec.policy === 'Forbid') return Concurrency.forbid(spec.maxConcurrency);
  if (spec.policy === 'Enqueue') return Concurrency.enqueue(spec.maxConcurrency);
  return Concurrency.allow();
}

const BOOL_FORMATS = { TrueFalse: BoolOptionFormat.TRUE_FALSE, OneZero: BoolOptionFormat.ONE_ZERO, YesNo: BoolOptionFormat.YES_NO };

function optionOf(spec: OptionSpec): Option<unknown, boolean> {
  const common = { ...(spec.label !== undefined && { label: spec.label }) };
  const required = spec.required ? { required: true as const } : {};
  switch (spec.type) {
    case 'Bool': {
      const { default: value, format, trueVal, falseVal } = spec.bool!;
      const written = format === 'Custom' ? BoolOptionFormat.custom(trueVal ?? '', falseVal ?? '') : BOOL_FORMATS[format ?? 'TrueFalse'];
      return Option.bool({ ...common, default: value, format: written });
    }
    case 'String':
      return Option.string({ ...common, ...required, ...spec.string } as never);
    case 'Select': {
      const props = { ...common, ...required, ...spec.select! };
      return spec.select!.allowCustom ? Option.selectOrCustom(props) : Option.select(props as never);
    }
    case 'Multi': {
      const props = { ...common, ...required, ...spec.multi! };
      return spec.multi!.allowCustom ? Option.multiOrCustom(props as never) : Option.multi(props as never);
    }
    case 'Date':
      return Option.date({ ...common, ...required, ...(spec.date?.format !== undefined && { format: spec.date.format }) } as never);
  }
}

/** `JobConfig.toFuriko`: the Furiko JobConfig, or a ValidationError naming every field Furiko cannot express. @internal */
export function furikoJobConfigOf(config: JobConfig<any>): FurikoJobConfigObject {
  // A JobConfig with problems of its own (or imported with errors) is not written, whatever Furiko could take.
  const own = config.node.validate().map(fieldErrorOf);
  if (own.length > 0) throw new ValidationError(`${config.node.path} as a Furiko JobConfig`, own);
  const { object, errors } = writeFurikoJobConfig({
    name: config.name,
    ...(config.namespace && { namespace: config.namespace }),
    labels: { ...Chart.of(config).labels, ...config._labels },
    spec: config._spec,
  });
  if (!object) throw new ValidationError(`${config.node.path} as a Furiko JobConfig`, errors);
  return object;
}

/** A formatted FieldError (`field: message...`) back as one, so it is listed the same way. */
function fieldErrorOf(text: string): FieldError {
  const at = text.indexOf(': ');
  return at > 0 ? { field: text.slice(0, at), message: text.slice(at + 2) } : { field: '', message: text };
}
