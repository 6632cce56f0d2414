/**
 * Evaluation of option values into the strings substituted for `${option.<name>}`, with Furiko's
 * per-type semantics (`pkg/core/options/options.go`), every error reported with its path, and
 * unknown option names rejected.
 */
import { childField, type FieldError } from '../errors.js';
import type { BoolOptionConfig, OptionSpec } from '../schema/option.js';
import { didYouMean, suggest } from '../suggest.js';
import { GO_ZERO_TIME_MS, RFC3339_EXAMPLE, formatMoment, parseRfc3339, type ZonedInstant } from './date.js';
import { listValues, oneOf, typeName } from './fields.js';

/** Rendered values by option name, and every problem found. */
export interface OptionEvaluation {
  /** Option name → the text substituted for `${option.<name>}`; options with errors are absent. */
  readonly values: Record<string, string>;
  readonly errors: FieldError[];
}

/** A rendered value, or why there is none. */
type Outcome = string | FieldError[];

/**
 * Evaluates every option in `specs` against `values` (absent, `undefined` and `null` mean "not
 * given": the default applies). Names in `values` that no spec declares are errors. Assumes the
 * specs passed `validateOptionSpecs`, but never throws on ones that did not.
 */
export function evaluateOptions(
  specs: readonly OptionSpec[],
  values: Readonly<Record<string, unknown>> | undefined,
  field = 'spec.optionValues',
): OptionEvaluation {
  const given = values ?? {};
  const rendered: [string, string][] = [];
  const errors: FieldError[] = [];
  for (const spec of specs) {
    const value = Object.hasOwn(given, spec.name) ? given[spec.name] : undefined;
    const outcome = evaluateOption(spec, value ?? undefined, childField(field, spec.name));
    if (typeof outcome === 'string') rendered.push([spec.name, outcome]);
    else errors.push(...outcome);
  }
  const names = specs.map((spec) => spec.name);
  for (const name of Object.keys(given)) {
    if (!names.includes(name)) errors.push(unknownOption(name, names, field));
  }
  // fromEntries defines own properties, so an option named `__proto__` is a value like any other.
  return { values: Object.fromEntries(rendered), errors };
}

/**
 * Every option's rendered default, ignoring `required` (Furiko's `MakeDefaultOptions`, used for
 * scheduled runs, which have no option values). Options whose spec is invalid are absent.
 */
export function defaultOptionValues(specs: readonly OptionSpec[]): Record<string, string> {
  const rendered: [string, string][] = [];
  for (const spec of specs) {
    const outcome = evaluateOption({ ...spec, required: false }, undefined, spec.name);
    if (typeof outcome === 'string') rendered.push([spec.name, outcome]);
  }
  return Object.fromEntries(rendered);
}

function unknownOption(name: string, names: readonly string[], field: string): FieldError {
  const hint = didYouMean(suggest(name, names));
  const known = names.length ? oneOf(names) : 'none: this config declares no options';
  return { field: childField(field, name), message: `unknown option "${name}"`, valid: hint ? `${hint} (${known})` : known };
}

function evaluateOption(spec: OptionSpec, value: unknown, path: string): Outcome {
  switch (spec.type) {
    case 'Bool': return evaluateBool(spec, value, path);
    case 'String': return evaluateString(spec, value, path);
    case 'Select': return evaluateSelect(spec, value, path);
    case 'Multi': return evaluateMulti(spec, value, path);
    case 'Date': return evaluateDate(spec, value, path);
    default: return [{ field: path, message: `option "${spec.name}" has an unsupported type`, value: spec.type }];
  }
}

function evaluateBool(spec: OptionSpec, value: unknown, path: string): Outcome {
  const chosen = value === undefined ? (spec.bool?.default ?? false) : value;
  if (typeof chosen !== 'boolean') {
    return [{ field: path, message: `expected bool, got ${typeName(chosen)}`, value: chosen, valid: 'true or false' }];
  }
  const text = formatBool(spec.bool, chosen);
  return text ?? [{ field: path, message: `option "${spec.name}" has an unsupported bool format`, value: spec.bool?.format }];
}

function formatBool(config: BoolOptionConfig | undefined, value: boolean): string | undefined {
  switch (config?.format ?? 'TrueFalse') {
    case 'TrueFalse': return value ? 'true' : 'false';
    case 'OneZero': return value ? '1' : '0';
    case 'YesNo': return value ? 'yes' : 'no';
    case 'Custom': return (value ? config?.trueVal : config?.falseVal) ?? '';
    default: return undefined;
  }
}

function evaluateString(spec: OptionSpec, value: unknown, path: string): Outcome {
  const chosen = value === undefined ? (spec.string?.default ?? '') : value;
  if (typeof chosen !== 'string') {
    return [{ field: path, message: `expected string, got ${typeName(chosen)}`, value: chosen, valid: 'a string (other types are not converted)' }];
  }
  const trim = spec.string?.trimSpaces ?? false;
  const text = trim ? trimSpace(chosen) : chosen;
  if (spec.required && text === '') {
    return [{ field: path, message: 'option is required', value: chosen, valid: trim ? 'a string that is not only white space' : 'a non-empty string' }];
  }
  return text;
}

// Go's strings.TrimSpace (unicode.IsSpace), which differs from String.prototype.trim at U+0085 and U+FEFF.
const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]';
const GO_TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, 'g');

function trimSpace(text: string): string {
  return text.replace(GO_TRIM, '');
}

function evaluateSelect(spec: OptionSpec, value: unknown, path: string): Outcome {
  const allowed = spec.select?.values ?? [];
  const allowCustom = spec.select?.allowCustom ?? false;
  const valid = allowCustom ? `a string, e.g. ${listValues(allowed)}` : oneOf(allowed);
  const chosen = value === undefined ? (spec.select?.default ?? '') : value;
  if (typeof chosen !== 'string') {
    return [{ field: path, message: `expected string, got ${typeName(chosen)}`, value: chosen, valid }];
  }
  if (chosen !== '' && !allowCustom && !allowed.includes(chosen)) return [notAllowed(path, chosen, allowed)];
  if (chosen === '' && spec.required) return [{ field: path, message: 'option is required', value: chosen, valid }];
  return chosen;
}

function evaluateMulti(spec: OptionSpec, value: unknown, path: string): Outcome {
  const allowed = spec.multi?.values ?? [];
  const allowCustom = spec.multi?.allowCustom ?? false;
  const valid = allowCustom ? 'a list of non-empty strings' : `a list, each ${oneOf(allowed)}`;
  const chosen = value === undefined ? [] : value;
  if (!Array.isArray(chosen)) {
    return [{ field: path, message: `expected a list of strings, got ${typeName(chosen)}`, value: chosen, valid }];
  }
  const typeErrors = chosen.flatMap((element: unknown, index) =>
    typeof element === 'string' ? [] : [{ field: `${path}[${index}]`, message: `expected string, got ${typeName(element)}`, value: element }],
  );
  if (typeErrors.length) return typeErrors;

  // Furiko: an empty list, given or not, means the default.
  const selected: readonly string[] = chosen.length ? (chosen as string[]) : (spec.multi?.default ?? []);
  if (selected.length === 0 && spec.required) return [{ field: path, message: 'option is required', value: chosen, valid }];
  const elementErrors = selected.flatMap((element, index) => {
    const field = `${path}[${index}]`;
    if (element === '') return [{ field, message: 'value must not be empty', value: element, valid: allowCustom ? 'a non-empty string' : oneOf(allowed) }];
    if (!allowCustom && !allowed.includes(element)) return [notAllowed(field, element, allowed)];
    return [];
  });
  return elementErrors.length ? elementErrors : selected.join(spec.multi?.delimiter ?? '');
}

function notAllowed(field: string, value: string, allowed: readonly string[]): FieldError {
  const hint = didYouMean(suggest(value, allowed));
  return { field, message: `unsupported value${hint ? `; ${hint}` : ''}`, value, valid: oneOf(allowed) };
}

function evaluateDate(spec: OptionSpec, value: unknown, path: string): Outcome {
  const valid = `an RFC 3339 timestamp, e.g. ${RFC3339_EXAMPLE}`;
  if (value === undefined || value === '') {
    return spec.required ? [{ field: path, message: 'option is required', value, valid }] : '';
  }
  let instant: ZonedInstant;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return [{ field: path, message: 'invalid Date', value: String(value), valid }];
    // A Date carries no offset: render it in UTC.
    instant = { epochMs: value.getTime(), offsetMinutes: 0 };
  } else if (typeof value === 'string') {
    const parsed = parseRfc3339(value);
    if ('error' in parsed) return [{ field: path, message: `cannot parse time: ${parsed.error}`, value, valid }];
    instant = parsed;
  } else {
    return [{ field: path, message: `expected an RFC 3339 string or a Date, got ${typeName(value)}`, value, valid }];
  }
  if (instant.epochMs === GO_ZERO_TIME_MS) {
    // Furiko treats Go's zero time as no value (`t.IsZero()`), in whatever offset it is written.
    return spec.required ? [{ field: path, message: 'option is required: 0001-01-01T00:00:00Z is Go\'s zero time, which means no value', value, valid }] : '';
  }
  return formatMoment(instant, spec.date?.format ?? '');
}
