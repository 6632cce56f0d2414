/**
 * CustomResourceDefinitions for JobConfig, JobRun and HttpTask, generated from the same TypeBox schema that
 * types the TypeScript API and drives ajv validation.
 */
import type { TSchema } from 'typebox';
import { HttpTaskSpecSchema, HttpTaskStatusSchema } from './http.js';
import { TaskCacheEntrySpecSchema } from './cache-entry.js';
import { API_GROUP, API_VERSION, JobConfigSpecSchema, JobConfigStatusSchema, JobRunSpecSchema, JobRunStatusSchema } from './resources.js';

type JsonSchema = { readonly [key: string]: unknown };

/** Keys that carry over unchanged into a Kubernetes structural schema. */
const KEPT_KEYS = new Set([
  'type', 'description', 'format', 'enum', 'required', 'minimum', 'maximum', 'minLength', 'maxLength',
  'minItems', 'maxItems', 'pattern', 'x-kubernetes-preserve-unknown-fields',
]);

/**
 * Translates the JSON Schema subset our builders emit into a structural openAPIV3Schema.
 * Anything it cannot translate faithfully is a programming error, so it throws.
 */
export function toStructuralSchema(schema: TSchema | JsonSchema, path = '#'): JsonSchema {
  const source = schema as JsonSchema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    if (KEPT_KEYS.has(key)) out[key] = value;
    else if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([name, child]) => [name, toStructuralSchema(child, `${path}.${name}`)]),
      );
    } else if (key === 'items') out.items = toStructuralSchema(value as JsonSchema, `${path}[]`);
    else if (key === 'patternProperties') {
      const entries = Object.entries(value as Record<string, JsonSchema>);
      if (entries.length !== 1 || entries[0]![0] !== '^.*$') throw new Error(`${path}: only string-keyed maps are supported`);
      out.type = 'object';
      out.additionalProperties = toStructuralSchema(entries[0]![1], `${path}.*`);
    } else if (key === 'additionalProperties' && value === false) {
      // The API server prunes unknown fields of structural schemas anyway.
    } else if (key === 'default') {
      // No server-side defaults: the live object must equal what Git holds.
    } else {
      throw new Error(`${path}: schema keyword "${key}" has no structural CRD equivalent`);
    }
  }
  if (!out.type) throw new Error(`${path}: every node of a structural schema needs a type`);
  return out;
}

interface CrdNames {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
}

interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'date';
  readonly jsonPath: string;
  readonly priority?: number;
}

/** `status`: none for kinds that are plain records (TaskCacheEntry). */
function crd(names: CrdNames, spec: TSchema, status: TSchema | undefined, columns: readonly PrinterColumn[]) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      names: { kind: names.kind, listKind: `${names.kind}List`, plural: names.plural, singular: names.singular, shortNames: [...names.shortNames], categories: ['taskplane'] },
      scope: 'Namespaced',
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          ...(status && { subresources: { status: {} } }),
          additionalPrinterColumns: columns.map((c) => ({ ...c })),
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toStructuralSchema(spec, '#.spec'),
                ...(status && { status: toStructuralSchema(status, '#.status') }),
              },
            },
          },
        },
      ],
    },
  };
}

export type CustomResourceDefinition = ReturnType<typeof crd>;

export function jobConfigCrd(): CustomResourceDefinition {
  return crd({ kind: 'JobConfig', plural: 'jobconfigs', singular: 'jobconfig', shortNames: ['tpjc'] }, JobConfigSpecSchema, JobConfigStatusSchema, [
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Active', type: 'integer', jsonPath: '.status.active' },
    { name: 'Queued', type: 'integer', jsonPath: '.status.queued' },
    { name: 'Last Executed', type: 'date', jsonPath: '.status.lastExecuted' },
    { name: 'Last Scheduled', type: 'date', jsonPath: '.status.lastScheduled' },
    // A future time: kubectl would print a date column as an age ("<invalid>"), so it is shown as text.
    { name: 'Next Scheduled', type: 'string', jsonPath: '.status.nextScheduled' },
    { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule.cron.expression', priority: 1 },
    { name: 'Timezone', type: 'string', jsonPath: '.spec.schedule.cron.timezone', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ]);
}

export function jobRunCrd(): CustomResourceDefinition {
  return crd({ kind: 'JobRun', plural: 'jobruns', singular: 'jobrun', shortNames: ['tpjr'] }, JobRunSpecSchema, JobRunStatusSchema, [
    { name: 'Config', type: 'string', jsonPath: '.spec.configName' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Progress', type: 'string', jsonPath: '.status.progress' },
    { name: 'Started', type: 'date', jsonPath: '.status.startTime' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
  ]);
}

export function taskCacheEntryCrd(): CustomResourceDefinition {
  return crd({ kind: 'TaskCacheEntry', plural: 'taskcacheentries', singular: 'taskcacheentry', shortNames: ['tpce'] }, TaskCacheEntrySpecSchema, undefined, [
    { name: 'Config', type: 'string', jsonPath: '.spec.configName' },
    { name: 'Version', type: 'string', jsonPath: '.spec.version' },
    { name: 'Run', type: 'string', jsonPath: '.spec.run' },
    { name: 'Finished', type: 'date', jsonPath: '.spec.finishTimestamp' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ]);
}

export function httpTaskCrd(): CustomResourceDefinition {
  return crd({ kind: 'HttpTask', plural: 'httptasks', singular: 'httptask', shortNames: ['tpht'] }, HttpTaskSpecSchema, HttpTaskStatusSchema, [
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Code', type: 'integer', jsonPath: '.status.statusCode' },
    { name: 'Reason', type: 'string', jsonPath: '.status.reason' },
    { name: 'Started', type: 'date', jsonPath: '.status.startTime' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    { name: 'Method', type: 'string', jsonPath: '.spec.request.method', priority: 1 },
    { name: 'URL', type: 'string', jsonPath: '.spec.request.url', priority: 1 },
    { name: 'Executor', type: 'string', jsonPath: '.status.executor', priority: 1 },
  ]);
}
