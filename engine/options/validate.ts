/** Validation of option specs (Furiko's `ValidateOptionSpec`), reporting every problem. */
import type { FieldError } from '../errors.js';
import { BOOL_FORMATS, OPTION_NAME_PATTERN, OPTION_TYPES, type OptionSpec, type OptionType } from '../schema/option.js';
import { didYouMean, suggest } from '../suggest.js';
import { oneOf, typeName } from './fields.js';

const NAME_PATTERN = new RegExp(OPTION_NAME_PATTERN);
const MAX_NAME_LENGTH = 63;

/** The config block each option type reads; every other block is forbidden. */
const CONFIG_KEY_BY_TYPE = {
  Bool: 'bool',
  String: 'string',
  Select: 'select',
  Multi: 'multi',
  Date: 'date',
} as const satisfies Record<OptionType, keyof OptionSpec>;

/**
 * Validates option specs as Furiko's webhook does, with every error and its exact path
 * (`spec.options[2].select.default`). Specs may come from untyped YAML, so shapes are not trusted.
 */
export function validateOptionSpecs(specs: readonly OptionSpec[], field = 'spec.options'): FieldError[] {
  const errors: FieldError[] = [];
  const firstIndexByName = new Map<string, number>();
  specs.forEach((spec, index) => {
    const path = `${field}[${index}]`;
    errors.push(...validateName(spec.name, `${path}.name`));
    const first = firstIndexByName.get(spec.name);
    if (first === undefined) firstIndexByName.set(spec.name, index);
    else {
      errors.push({
        field: `${path}.name`,
        message: `duplicate option name: "${spec.name}"`,
        valid: `a name not already used by ${field}[${first}]`,
      });
    }
    errors.push(...validateType(spec, path));
  });
  return errors;
}

function validateName(name: unknown, path: string): FieldError[] {
  if (typeof name !== 'string' || name === '') {
    return [{ field: path, message: 'option name is required', value: name, valid: `a string matching ${OPTION_NAME_PATTERN}` }];
  }
  const errors: FieldError[] = [];
  if (!NAME_PATTERN.test(name)) {
    errors.push({ field: path, message: `must match regex: ${OPTION_NAME_PATTERN}`, value: name, valid: 'letters, digits, "_", "." and "-"' });
  }
  if (name.length > MAX_NAME_LENGTH) {
    errors.push({ field: path, message: `option name is too long (${name.length} characters)`, value: name, valid: `at most ${MAX_NAME_LENGTH} characters` });
  }
  return errors;
}

function validateType(spec: OptionSpec, path: string): FieldError[] {
  const type: unknown = spec.type;
  if (type === undefined || type === '') {
    return [{ field: `${path}.type`, message: 'option type is required', valid: oneOf(OPTION_TYPES) }];
  }
  if (!isOptionType(type)) {
    const hint = typeof type === 'string' ? didYouMean(suggest(type, OPTION_TYPES)) : undefined;
    return [{
      field: `${path}.type`,
      message: `unsupported option type${hint ? `; ${hint}` : ''}`,
      value: type,
      valid: oneOf(OPTION_TYPES),
    }];
  }
  return [...validateConfigBlocks(spec, type, path), ...CONFIG_VALIDATORS[type](spec, path)];
}

function isOptionType(type: unknown): type is OptionType {
  return (OPTION_TYPES as readonly unknown[]).includes(type);
}

function validateConfigBlocks(spec: OptionSpec, type: OptionType, path: string): FieldError[] {
  const own = CONFIG_KEY_BY_TYPE[type];
  return Object.values(CONFIG_KEY_BY_TYPE)
    .filter((key) => key !== own && spec[key] !== undefined)
    .map((key) => ({
      field: `${path}.${key}`,
      message: `cannot specify ${key} options for option type ${type}`,
      valid: `only ${own} options`,
    }));
}

const CONFIG_VALIDATORS: Record<OptionType, (spec: OptionSpec, path: string) => FieldError[]> = {
  Bool: validateBool,
  String: () => [],
  Select: validateSelect,
  Multi: validateMulti,
  // moment.js treats unknown tokens as literal text, so no format is invalid.
  Date: () => [],
};

function validateBool(spec: OptionSpec, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const config = spec.bool;
  if (spec.required) {
    errors.push({
      field: `${path}.required`,
      message: 'bool option cannot be marked as required',
      value: spec.required,
      valid: 'false or absent (a bool option always has its default)',
    });
  }
  if (typeof config?.default !== 'boolean') {
    errors.push({
      field: `${path}.bool.default`,
      message: config?.default === undefined ? 'bool option needs a default' : `expected bool, got ${typeName(config.default)}`,
      value: config?.default,
      valid: 'true or false',
    });
  }
  const format = config?.format;
  if (format !== undefined && !BOOL_FORMATS.includes(format)) {
    errors.push({ field: `${path}.bool.format`, message: 'unsupported bool format', value: format, valid: oneOf(BOOL_FORMATS) });
  }
  // trueVal/falseVal only render with Custom; elsewhere they would be silently ignored.
  for (const key of ['trueVal', 'falseVal'] as const) {
    if (format !== 'Custom' && config?.[key] !== undefined) {
      errors.push({
        field: `${path}.bool.${key}`,
        message: `${key} is only used with format Custom`,
        value: config[key],
        valid: `format: Custom, or no ${key}`,
      });
    }
  }
  return errors;
}

function validateSelect(spec: OptionSpec, path: string): FieldError[] {
  const config = spec.select;
  const errors = validateValues(config?.values, `${path}.select.values`);
  const values = config?.values ?? [];
  if (config?.default && !values.includes(config.default)) {
    errors.push({
      field: `${path}.select.default`,
      message: `default is not one of the values${config.allowCustom ? ' (required even with allowCustom)' : ''}`,
      value: config.default,
      valid: oneOf(values),
    });
  }
  return errors;
}

function validateMulti(spec: OptionSpec, path: string): FieldError[] {
  const config = spec.multi;
  const errors = validateValues(config?.values, `${path}.multi.values`);
  if (typeof config?.delimiter !== 'string') {
    errors.push({
      field: `${path}.multi.delimiter`,
      message: 'delimiter is required',
      value: config?.delimiter,
      valid: 'a string that joins the selected values (may be empty)',
    });
  }
  const values = config?.values ?? [];
  (config?.default ?? []).forEach((value, index) => {
    const field = `${path}.multi.default[${index}]`;
    if (value === '') errors.push({ field, message: 'default value must not be empty', value, valid: oneOf(values) });
    else if (!values.includes(value)) {
      errors.push({
        field,
        message: `default is not one of the values${config?.allowCustom ? ' (required even with allowCustom)' : ''}`,
        value,
        valid: oneOf(values),
      });
    }
  });
  return errors;
}

function validateValues(values: readonly string[] | undefined, path: string): FieldError[] {
  if (!values?.length) return [{ field: path, message: 'at least 1 value is required', valid: 'a non-empty list of non-empty strings' }];
  return values.flatMap((value, index) =>
    value === '' ? [{ field: `${path}[${index}]`, message: 'value must not be empty', value, valid: 'a non-empty string' }] : [],
  );
}
