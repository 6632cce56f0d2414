import type { Construct } from 'constructs';
import { childField, formatFieldError, type FieldError } from '../engine/errors.js';
import { misreadStrings } from './_yaml.js';

/** Reports engine FieldErrors through cdk8s validation, so `synth` lists every one with its construct path. */
export function addFieldValidation(scope: Construct, errors: () => readonly FieldError[]): void {
  scope.node.addValidation({ validate: () => errors().map(formatFieldError) });
}

/**
 * Object keys cdk8s cannot write: its serializer throws "can't render non-simple object" on an own
 * `constructor` key and silently drops `__proto__`. (Other names of Object.prototype, such as
 * `toString`, are written like any key.)
 */
const UNWRITABLE_KEYS = new Map([
  ['constructor', 'its serializer crashes on it'],
  ['__proto__', 'its serializer drops it'],
]);

/** Every key of `value` (a JSON tree handed to an ApiObject) that cdk8s would crash on or drop. */
export function unwritableKeys(value: unknown, field: string, errors: FieldError[] = []): FieldError[] {
  if (Array.isArray(value)) value.forEach((item, i) => unwritableKeys(item, `${field}[${i}]`, errors));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const path = childField(field, key);
      const why = UNWRITABLE_KEYS.get(key);
      if (why) errors.push({ field: path, message: `cdk8s cannot write a key named "${key}": ${why}`, value: key, valid: 'another name' });
      unwritableKeys(item, path, errors);
    }
  }
  return errors;
}

/** Brand of TaskplaneApp (a Symbol.for, so two copies of the library recognise each other's apps). */
export const TASKPLANE_APP = Symbol.for('taskplane.dev/TaskplaneApp');

/**
 * What cdk8s cannot write faithfully in `value`: keys it drops or crashes on, and, unless the app is
 * a TaskplaneApp (which quotes them), strings YAML readers would read differently.
 */
export function unwritable(scope: Construct, value: unknown, field: string): FieldError[] {
  const errors = unwritableKeys(value, field);
  return quotesAmbiguousStrings(scope) ? errors : misreadStrings(value, field, errors);
}

/** True under a TaskplaneApp, whose writer quotes strings YAML readers disagree on. */
export function quotesAmbiguousStrings(scope: Construct): boolean {
  return TASKPLANE_APP in scope.node.root;
}
