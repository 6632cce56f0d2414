/**
 * `customResource`: each task is any namespaced object. Its state is read with CEL expressions over
 * the live object (`self`), compiled at synth so a typo fails before anything reaches a cluster.
 */
import { parse } from '@bufbuild/cel';
import type { FieldError } from '../errors.js';
import type { CustomResourceTemplate } from '../schema/template.js';
import type { Executor, Manifest } from './types.js';

/** Fields taskplane sets itself on every task object. */
const RESERVED_METADATA = ['name', 'generateName', 'namespace'] as const;
const EXPRESSIONS = ['successCondition', 'failureCondition', 'runningCondition', 'resultExpression'] as const;

/** Syntax check of a CEL expression; undefined when it parses. */
export function celSyntaxError(expression: string): string | undefined {
  try {
    parse(expression);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export const customResourceExecutor: Executor<CustomResourceTemplate> = {
  name: 'customResource',
  validate(template, field) {
    const errors: FieldError[] = [];
    const manifest = template.manifest as Partial<Manifest>;
    for (const key of ['apiVersion', 'kind'] as const) {
      if (typeof manifest[key] !== 'string' || manifest[key] === '') {
        errors.push({ field: `${field}.manifest.${key}`, message: 'is required', value: manifest[key], valid: 'e.g. apiVersion: tekton.dev/v1, kind: TaskRun' });
      }
    }
    for (const key of RESERVED_METADATA) {
      if (manifest.metadata?.[key] !== undefined) {
        errors.push({ field: `${field}.manifest.metadata.${key}`, message: 'is set by taskplane for each task; remove it', value: manifest.metadata[key] });
      }
    }
    for (const key of EXPRESSIONS) {
      const expression = template[key];
      const problem = expression === undefined ? undefined : celSyntaxError(expression);
      if (problem) errors.push({ field: `${field}.${key}`, message: `CEL does not compile: ${problem}`, value: expression });
    }
    return errors;
  },
  manifest(template) {
    const manifest = structuredClone(template.manifest) as unknown as Manifest;
    manifest.metadata = { ...manifest.metadata };
    return manifest;
  },
};
