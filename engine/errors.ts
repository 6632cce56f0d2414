/**
 * Every validation in the engine reports problems as FieldErrors and keeps going, so a user sees
 * every problem at once. Callers attach the construct path (synth) or the object reference (watcher).
 */
export interface FieldError {
  /** Where the problem is, as a dotted path into the object, e.g. `spec.optionValues.env`. */
  readonly field: string;
  /** What is wrong, e.g. `value is not allowed`. */
  readonly message: string;
  /** The offending value, when there is one. */
  readonly value?: unknown;
  /** What would be valid, e.g. `one of: dev, prod`. */
  readonly valid?: string;
}

/** `spec.optionValues.env: value is not allowed (got "qa"); valid: one of dev, prod` */
export function formatFieldError(error: FieldError): string {
  let text = `${error.field}: ${error.message}`;
  if ('value' in error && error.value !== undefined) text += ` (got ${describeValue(error.value)})`;
  if (error.valid) text += `; valid: ${error.valid}`;
  return text;
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Thrown where a caller cannot continue; carries every problem found, not only the first. */
export class ValidationError extends Error {
  constructor(
    readonly subject: string,
    readonly errors: readonly FieldError[],
  ) {
    super(`${subject} is invalid:\n${errors.map((e) => `  - ${formatFieldError(e)}`).join('\n')}`);
    this.name = 'ValidationError';
  }
}

/** Prefixes the fields of nested errors with the parent path. */
export function nestErrors(prefix: string, errors: readonly FieldError[]): FieldError[] {
  return errors.map((e) => ({ ...e, field: e.field ? `${prefix}.${e.field}` : prefix }));
}

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/** `parent.key`, or `parent["a.b"]` when the key (a label key, an option name) would make the path ambiguous. */
export function childField(parent: string, key: string): string {
  return PLAIN_KEY.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}
