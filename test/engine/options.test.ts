import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatFieldError } from '../../engine/errors.js';
import { defaultOptionValues, evaluateOptions, validateOptionSpecs } from '../../engine/options/index.js';
import type { OptionSpec } from '../../engine/schema/option.js';

/** Evaluates a single option named `opt`; `value` absent means "not given". */
function evaluateOne(spec: Omit<OptionSpec, 'name'>, ...value: [unknown?]) {
  const values = value.length ? { opt: value[0] } : {};
  return evaluateOptions([{ name: 'opt', ...spec } as OptionSpec], values);
}

const ab = ['a', 'b'];

// Furiko's TestEvaluateOption cases (pkg/core/options/options_test.go), plus taskplane's additions.
describe('evaluateOptions: one option', () => {
  const rendered: [string, Omit<OptionSpec, 'name'>, unknown[], string][] = [
    ['bool, nil value', { type: 'Bool', bool: { default: false, format: 'TrueFalse' } }, [], 'false'],
    ['bool, nil value with a default', { type: 'Bool', bool: { default: true, format: 'TrueFalse' } }, [], 'true'],
    ['bool, format defaults to TrueFalse', { type: 'Bool', bool: { default: true } }, [], 'true'],
    ['bool, OneZero default', { type: 'Bool', bool: { default: true, format: 'OneZero' } }, [], '1'],
    ['bool, OneZero false', { type: 'Bool', bool: { default: true, format: 'OneZero' } }, [false], '0'],
    ['bool, YesNo false', { type: 'Bool', bool: { default: true, format: 'YesNo' } }, [false], 'no'],
    ['bool, YesNo true', { type: 'Bool', bool: { default: false, format: 'YesNo' } }, [true], 'yes'],
    ['bool, Custom true', { type: 'Bool', bool: { default: false, format: 'Custom', trueVal: '--verbose' } }, [true], '--verbose'],
    ['bool, Custom false with no falseVal', { type: 'Bool', bool: { default: false, format: 'Custom', trueVal: '--verbose' } }, [false], ''],
    ['bool, Custom with empty trueVal', { type: 'Bool', bool: { default: true, format: 'Custom', trueVal: '', falseVal: 'off' } }, [], ''],
    ['bool, null means not given', { type: 'Bool', bool: { default: true, format: 'YesNo' } }, [null], 'yes'],
    ['string, nil value', { type: 'String', string: {} }, [], ''],
    ['string, no config', { type: 'String' }, [], ''],
    ['string, empty string', { type: 'String', string: {} }, [''], ''],
    ['string, value', { type: 'String', string: {} }, ['hello'], 'hello'],
    ['string, value kept untrimmed', { type: 'String', required: true, string: { default: 'hello' } }, [' world '], ' world '],
    ['string, trimSpaces', { type: 'String', required: true, string: { default: 'hello', trimSpaces: true } }, [' world '], 'world'],
    ['string, nil value, required, default', { type: 'String', required: true, string: { default: 'hello ' } }, [], 'hello '],
    ['string, nil value, default', { type: 'String', string: { default: 'default' } }, [], 'default'],
    ['string, trimSpaces applies to the default', { type: 'String', required: true, string: { default: 'hello ', trimSpaces: true } }, [], 'hello'],
    ['string, explicit empty string beats the default', { type: 'String', string: { default: 'hello' } }, [''], ''],
    ['string, trimSpaces trims as Go does (NEL, not BOM)', { type: 'String', string: { trimSpaces: true } }, ['\u0085\u00a0 x\t\n\uFEFF'], 'x\t\n\uFEFF'],
    ['select, nil value', { type: 'Select', select: { values: ab } }, [], ''],
    ['select, value', { type: 'Select', select: { values: ab } }, ['a'], 'a'],
    ['select, empty string when not required', { type: 'Select', select: { values: ab, default: 'a' } }, [''], ''],
    ['select, allowCustom', { type: 'Select', select: { values: ab, allowCustom: true } }, ['c'], 'c'],
    ['select, nil value with a default', { type: 'Select', required: true, select: { default: 'b', values: ab, allowCustom: true } }, [], 'b'],
    ['select, empty string with allowCustom', { type: 'Select', select: { default: 'a', values: ab, allowCustom: true } }, [''], ''],
    ['select, value with a default', { type: 'Select', required: true, select: { default: 'b', values: ab, allowCustom: true } }, ['a'], 'a'],
    ['multi, nil value', { type: 'Multi', multi: { values: ab, delimiter: ',' } }, [], ''],
    ['multi, one value', { type: 'Multi', multi: { values: ab, delimiter: ',' } }, [['a']], 'a'],
    ['multi, joined with the delimiter', { type: 'Multi', multi: { values: ab, delimiter: ',' } }, [['a', 'b']], 'a,b'],
    ['multi, empty delimiter', { type: 'Multi', multi: { values: ab, delimiter: '' } }, [['b', 'a']], 'ba'],
    ['multi, allowCustom', { type: 'Multi', multi: { values: ab, delimiter: ',', allowCustom: true } }, [['c']], 'c'],
    ['multi, nil value falls back to the default', { type: 'Multi', required: true, multi: { default: ['b'], values: ab, delimiter: ',', allowCustom: true } }, [], 'b'],
    ['multi, empty list falls back to the default', { type: 'Multi', required: true, multi: { values: ab, default: ['a'], delimiter: ',', allowCustom: true } }, [[]], 'a'],
    ['multi, value beats the default', { type: 'Multi', required: true, multi: { default: ['b'], values: ab, delimiter: ',', allowCustom: true } }, [['a']], 'a'],
    ['date, nil value', { type: 'Date' }, [], ''],
    ['date, empty string', { type: 'Date', date: { format: 'D MMM YYYY' } }, [''], ''],
    ['date, RFC 3339 by default', { type: 'Date' }, ['2021-02-09T12:06:09+08:00'], '2021-02-09T12:06:09+08:00'],
    ['date, custom format', { type: 'Date', date: { format: 'D MMM YYYY' } }, ['2021-02-09T12:06:09+08:00'], '9 Feb 2021'],
    ['date, formatted in the input offset, not UTC', { type: 'Date', date: { format: 'D MMM YYYY' } }, ['2021-02-09T23:30:00-08:00'], '9 Feb 2021'],
    ['date, offset kept for Z', { type: 'Date', date: { format: 'D MMM YYYY HH:mm Z' } }, ['2021-02-09T15:04:05+08:00'], '9 Feb 2021 15:04 +08:00'],
    ['date, a JS Date renders in UTC', { type: 'Date' }, [new Date('2021-02-09T12:06:09+08:00')], '2021-02-09T04:06:09+00:00'],
    // Furiko: Go's zero time is no value (t.IsZero()), in whatever offset it is written.
    ['date, Go zero time is empty', { type: 'Date' }, ['0001-01-01T00:00:00Z'], ''],
    ['date, Go zero time in another offset is empty', { type: 'Date', date: { format: 'YYYY' } }, ['0001-01-01T08:00:00+08:00'], ''],
    ['date, Go zero time as a Date is empty', { type: 'Date' }, [new Date(-62_135_596_800_000)], ''],
    ['date, one second after zero time is a date', { type: 'Date', date: { format: 'YYYY-MM-DD HH:mm:ss' } }, ['0001-01-01T00:00:01Z'], '0001-01-01 00:00:01'],
    ['date, UTC input with the default format', { type: 'Date' }, ['2021-02-09T04:06:09Z'], '2021-02-09T04:06:09+00:00'],
  ];
  it.each(rendered)('%s', (_name, spec, value, want) => {
    expect(validateOptionSpecs([{ name: 'opt', ...spec } as OptionSpec])).toEqual([]);
    expect(evaluateOne(spec, ...value)).toEqual({ values: { opt: want }, errors: [] });
  });

  const failing: [string, Omit<OptionSpec, 'name'>, unknown[], { field?: string; message: string; valid?: string }][] = [
    ['bool, not a bool', { type: 'Bool', bool: { default: false } }, ['true'], { message: 'expected bool, got string', valid: 'true or false' }],
    ['bool, empty string', { type: 'Bool', bool: { default: false } }, [''], { message: 'expected bool, got string' }],
    ['string, required, nil value, no default', { type: 'String', required: true }, [], { message: 'option is required' }],
    ['string, not a string', { type: 'String' }, [true], { message: 'expected string, got boolean' }],
    ['string, numbers are not coerced', { type: 'String' }, [42], { message: 'expected string, got number' }],
    ['string, required, empty string, no default', { type: 'String', required: true }, [''], { message: 'option is required' }],
    ['string, required, empty string beats the default', { type: 'String', required: true, string: { default: 'hello' } }, [''], { message: 'option is required' }],
    ['string, required, only spaces with trimSpaces', { type: 'String', required: true, string: { trimSpaces: true } }, ['  \t'], { message: 'option is required' }],
    ['select, not allowed without allowCustom', { type: 'Select', select: { values: ab } }, ['c'], { message: 'unsupported value', valid: 'one of: a, b' }],
    ['select, empty string when required', { type: 'Select', required: true, select: { default: 'b', values: ab, allowCustom: true } }, [''], { message: 'option is required' }],
    ['select, not a string', { type: 'Select', select: { values: ab } }, [true], { message: 'expected string, got boolean', valid: 'one of: a, b' }],
    ['select, did you mean', { type: 'Select', select: { values: ['dev', 'prod'] } }, ['prd'], { message: 'unsupported value; did you mean "prod"?', valid: 'one of: dev, prod' }],
    ['multi, not allowed without allowCustom', { type: 'Multi', multi: { values: ab, delimiter: ',' } }, [['c']], { field: 'spec.optionValues.opt[0]', message: 'unsupported value', valid: 'one of: a, b' }],
    ['multi, required, nil value, no default', { type: 'Multi', required: true, multi: { values: ab, delimiter: ',', allowCustom: true } }, [], { message: 'option is required' }],
    ['multi, required, empty list, no default', { type: 'Multi', required: true, multi: { values: ab, delimiter: ',', allowCustom: true } }, [[]], { message: 'option is required' }],
    ['multi, a string is not a list', { type: 'Multi', multi: { values: ab, delimiter: ',' } }, ['a'], { message: 'expected a list of strings, got string' }],
    ['multi, empty string is not a list', { type: 'Multi', multi: { values: ab, delimiter: ',' } }, [''], { message: 'expected a list of strings, got string' }],
    ['multi, non-string element', { type: 'Multi', multi: { values: ab, delimiter: ',', allowCustom: true } }, [['a', 2]], { field: 'spec.optionValues.opt[1]', message: 'expected string, got number' }],
    ['multi, empty element', { type: 'Multi', multi: { values: ab, delimiter: ',', allowCustom: true } }, [['a', '']], { field: 'spec.optionValues.opt[1]', message: 'value must not be empty' }],
    ['date, required', { type: 'Date', required: true }, [], { message: 'option is required' }],
    ['date, required, empty string', { type: 'Date', required: true }, [''], { message: 'option is required' }],
    ['date, unparsable', { type: 'Date' }, ['invalid'], { message: 'cannot parse time: not an RFC 3339 timestamp', valid: 'an RFC 3339 timestamp, e.g. 2021-02-09T15:04:05+08:00' }],
    ['date, numbers are not accepted', { type: 'Date', date: { format: 'D MMM YYYY' } }, [1612843569], { message: 'expected an RFC 3339 string or a Date, got number' }],
    ['date, invalid Date', { type: 'Date' }, [new Date('nope')], { message: 'invalid Date' }],
    ['date, Go zero time when required', { type: 'Date', required: true }, ['0001-01-01T00:00:00Z'], { message: "option is required: 0001-01-01T00:00:00Z is Go's zero time, which means no value" }],
  ];
  it.each(failing)('%s', (_name, spec, value, want) => {
    const { values, errors } = evaluateOne(spec, ...value);
    expect(values).toEqual({});
    expect(errors).toEqual([expect.objectContaining({ field: 'spec.optionValues.opt', ...want })]);
  });
});

describe('evaluateOptions: several options', () => {
  const specs: OptionSpec[] = [
    { name: 'environment', type: 'Select', required: true, select: { values: ['dev', 'prod'] } },
    { name: 'regions', type: 'Multi', multi: { values: ['eu', 'us'], delimiter: ' ' } },
    { name: 'dry-run', type: 'Bool', bool: { default: true, format: 'YesNo' } },
    { name: 'ticket', type: 'String', required: true, string: { trimSpaces: true } },
    { name: 'date.start', type: 'Date', date: { format: 'YYYY-MM-DD' } },
  ];

  it('renders every option, defaults included', () => {
    expect(evaluateOptions(specs, { environment: 'prod', regions: ['us', 'eu'], ticket: ' OPS-1 ', 'date.start': '2026-11-21T00:00:00Z' })).toEqual({
      values: { environment: 'prod', regions: 'us eu', 'dry-run': 'yes', ticket: 'OPS-1', 'date.start': '2026-11-21' },
      errors: [],
    });
  });

  it('reports every error at once, each with its path, and renders the rest', () => {
    const { values, errors } = evaluateOptions(specs, { environment: 'qa', regions: ['eu', 'asia', 7], 'date.start': 'tomorrow', enviroment: 'dev' });
    expect(values).toEqual({ 'dry-run': 'yes' });
    expect(errors.map(formatFieldError)).toEqual([
      'spec.optionValues.environment: unsupported value (got "qa"); valid: one of: dev, prod',
      'spec.optionValues.regions[2]: expected string, got number (got 7)',
      'spec.optionValues.ticket: option is required (got ""); valid: a string that is not only white space',
      'spec.optionValues["date.start"]: cannot parse time: not an RFC 3339 timestamp (got "tomorrow"); valid: an RFC 3339 timestamp, e.g. 2021-02-09T15:04:05+08:00',
      'spec.optionValues.enviroment: unknown option "enviroment"; valid: did you mean "environment"? (one of: environment, regions, dry-run, ticket, date.start)',
    ]);
  });

  it('reports every bad element of a Multi', () => {
    const { errors } = evaluateOptions(specs, { environment: 'dev', ticket: 'x', regions: ['asia', 'eu', ''] });
    expect(errors.map((e) => [e.field, e.message])).toEqual([
      ['spec.optionValues.regions[0]', 'unsupported value'],
      ['spec.optionValues.regions[2]', 'value must not be empty'],
    ]);
  });

  it.each([
    ['a typo', { dryrun: false }, 'did you mean "dry-run"? (one of: opt, dry-run)'],
    ['nothing close', { zzzzzz: 1 }, 'one of: opt, dry-run'],
  ])('rejects an unknown option name: %s', (_name, values, valid) => {
    const { errors } = evaluateOptions([{ name: 'opt', type: 'String' }, specs[2]!], values);
    expect(errors).toEqual([{ field: `spec.optionValues.${Object.keys(values)[0]}`, message: `unknown option "${Object.keys(values)[0]}"`, valid }]);
  });

  it('rejects option values when the config declares no options', () => {
    expect(evaluateOptions([], { env: 'dev' }, 'spec.runs[0].optionValues').errors).toEqual([
      { field: 'spec.runs[0].optionValues.env', message: 'unknown option "env"', valid: 'none: this config declares no options' },
    ]);
  });

  it('handles an option named __proto__ like any other', () => {
    const { values, errors } = evaluateOptions([{ name: '__proto__', type: 'String' }], JSON.parse('{"__proto__": "x"}'));
    expect(errors).toEqual([]);
    expect(Object.entries(values)).toEqual([['__proto__', 'x']]);
  });

  it('treats undefined values and an undefined map as not given', () => {
    const optional = specs.filter((s) => !s.required);
    expect(evaluateOptions(optional, undefined)).toEqual(evaluateOptions(optional, { regions: undefined }));
  });
});

describe('defaultOptionValues', () => {
  it("renders every default, ignoring required (Furiko's MakeDefaultOptions)", () => {
    expect(
      defaultOptionValues([
        { name: 'b', type: 'Bool', bool: { default: true, format: 'OneZero' } },
        { name: 's', type: 'String', required: true, string: { default: ' x ', trimSpaces: true } },
        { name: 'r', type: 'String', required: true },
        { name: 'sel', type: 'Select', select: { values: ab, default: 'b' } },
        { name: 'm', type: 'Multi', multi: { values: ab, default: ['b', 'a'], delimiter: '+' } },
        { name: 'd', type: 'Date', required: true },
      ]),
    ).toEqual({ b: '1', s: 'x', r: '', sel: 'b', m: 'b+a', d: '' });
  });
});

describe('validateOptionSpecs', () => {
  const cases: [string, OptionSpec[], { field: string; message: string; valid?: string }[]][] = [
    ['a valid spec of every type', [
      { name: 'a', type: 'Bool', bool: { default: false, format: 'Custom', trueVal: '--a' } },
      { name: 'b.c', type: 'String' },
      { name: 'd-e', type: 'Select', select: { values: ab, default: 'a' } },
      { name: 'f_g', type: 'Multi', multi: { values: ab, default: ['a', 'b'], delimiter: '' } },
      { name: 'H1', type: 'Date', date: { format: 'nonsense is literal' } },
    ], []],
    ['a bad name', [{ name: 'my option', type: 'String' }], [{ field: 'spec.options[0].name', message: 'must match regex: ^[a-zA-Z0-9_.-]+$' }]],
    ['an empty name', [{ name: '', type: 'String' }], [{ field: 'spec.options[0].name', message: 'option name is required' }]],
    ['a long name', [{ name: 'x'.repeat(64), type: 'String' }], [{ field: 'spec.options[0].name', message: 'option name is too long (64 characters)', valid: 'at most 63 characters' }]],
    ['a duplicate name', [{ name: 'x', type: 'String' }, { name: 'y', type: 'String' }, { name: 'x', type: 'Date' }],
      [{ field: 'spec.options[2].name', message: 'duplicate option name: "x"', valid: 'a name not already used by spec.options[0]' }]],
    ['an unknown type', [{ name: 'x', type: 'Strin' as OptionSpec['type'] }],
      [{ field: 'spec.options[0].type', message: 'unsupported option type; did you mean "String"?', valid: 'one of: Bool, String, Select, Multi, Date' }]],
    ['a missing type', [{ name: 'x' } as OptionSpec], [{ field: 'spec.options[0].type', message: 'option type is required' }]],
    ['a config block of another type', [{ name: 'x', type: 'String', select: { values: ab }, date: {} }], [
      { field: 'spec.options[0].select', message: 'cannot specify select options for option type String', valid: 'only string options' },
      { field: 'spec.options[0].date', message: 'cannot specify date options for option type String', valid: 'only string options' },
    ]],
    ['a required Bool', [{ name: 'x', type: 'Bool', required: true, bool: { default: true } }],
      [{ field: 'spec.options[0].required', message: 'bool option cannot be marked as required' }]],
    ['a Bool without a config', [{ name: 'x', type: 'Bool' }], [{ field: 'spec.options[0].bool.default', message: 'bool option needs a default', valid: 'true or false' }]],
    ['a Bool default that is not a bool', [{ name: 'x', type: 'Bool', bool: { default: 'yes' as unknown as boolean } }],
      [{ field: 'spec.options[0].bool.default', message: 'expected bool, got string' }]],
    ['a bad Bool format', [{ name: 'x', type: 'Bool', bool: { default: true, format: 'OnOff' as 'Custom' } }],
      [{ field: 'spec.options[0].bool.format', message: 'unsupported bool format', valid: 'one of: TrueFalse, OneZero, YesNo, Custom' }]],
    ['trueVal/falseVal without format Custom', [{ name: 'x', type: 'Bool', bool: { default: true, trueVal: 'on', falseVal: 'off' } }], [
      { field: 'spec.options[0].bool.trueVal', message: 'trueVal is only used with format Custom', valid: 'format: Custom, or no trueVal' },
      { field: 'spec.options[0].bool.falseVal', message: 'falseVal is only used with format Custom', valid: 'format: Custom, or no falseVal' },
    ]],
    ['a Select without values', [{ name: 'x', type: 'Select' }], [{ field: 'spec.options[0].select.values', message: 'at least 1 value is required' }]],
    ['a Select with an empty value', [{ name: 'x', type: 'Select', select: { values: ['a', ''] } }],
      [{ field: 'spec.options[0].select.values[1]', message: 'value must not be empty' }]],
    ['a Select default not in values, even with allowCustom', [{ name: 'x', type: 'Select', select: { values: ['dev', 'prod'], default: 'qa', allowCustom: true } }],
      [{ field: 'spec.options[0].select.default', message: 'default is not one of the values (required even with allowCustom)', valid: 'one of: dev, prod' }]],
    ['a Multi without values or delimiter', [{ name: 'x', type: 'Multi', multi: { values: [] } as unknown as OptionSpec['multi'] }], [
      { field: 'spec.options[0].multi.values', message: 'at least 1 value is required' },
      { field: 'spec.options[0].multi.delimiter', message: 'delimiter is required' },
    ]],
    ['Multi defaults not in values', [{ name: 'x', type: 'Multi', multi: { values: ab, default: ['a', 'c', ''], delimiter: ',' } }], [
      { field: 'spec.options[0].multi.default[1]', message: 'default is not one of the values', valid: 'one of: a, b' },
      { field: 'spec.options[0].multi.default[2]', message: 'default value must not be empty' },
    ]],
  ];
  it.each(cases)('%s', (_name, specs, want) => {
    expect(validateOptionSpecs(specs)).toEqual(want.map((w) => expect.objectContaining(w)));
  });

  it('reports every error of every option, under the given field', () => {
    const errors = validateOptionSpecs(
      [
        { name: 'a b', type: 'Bool', required: true, string: {} },
        { name: 'a b', type: 'Select', select: { values: ['x'], default: 'y' } },
      ],
      'spec.template.options',
    );
    expect(errors.map((e) => e.field)).toEqual([
      'spec.template.options[0].name',
      'spec.template.options[0].string',
      'spec.template.options[0].required',
      'spec.template.options[0].bool.default',
      'spec.template.options[1].name',
      'spec.template.options[1].name',
      'spec.template.options[1].select.default',
    ]);
  });
});

describe('properties', () => {
  const value = fc.stringMatching(/^[a-z0-9]{1,8}$/);

  it('a Multi output splits back into its inputs when the delimiter is absent from the values', () => {
    fc.assert(
      fc.property(fc.uniqueArray(value, { minLength: 1, maxLength: 6 }), fc.constantFrom(',', ' ', '|', ', '), fc.boolean(), (values, delimiter, allowCustom) => {
        fc.pre(values.every((v) => !v.includes(delimiter)));
        const spec: OptionSpec = { name: 'm', type: 'Multi', multi: { values, delimiter, allowCustom } };
        const { values: out, errors } = evaluateOptions([spec], { m: values });
        expect(errors).toEqual([]);
        expect(out.m!.split(delimiter)).toEqual(values);
      }),
    );
  });

  it('a String without trimSpaces renders any string unchanged', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (text) => {
        expect(evaluateOptions([{ name: 's', type: 'String', required: true }], { s: text }).values.s).toBe(text);
      }),
    );
  });

  it('a Select accepts exactly its values unless allowCustom', () => {
    fc.assert(
      fc.property(fc.uniqueArray(value, { minLength: 1, maxLength: 5 }), value, fc.boolean(), (values, given, allowCustom) => {
        const { values: out, errors } = evaluateOptions([{ name: 's', type: 'Select', select: { values, allowCustom } }], { s: given });
        const accepted = allowCustom || values.includes(given);
        expect(errors.length === 0).toBe(accepted);
        expect(out).toEqual(accepted ? { s: given } : {});
      }),
    );
  });

  it('every unknown option name is reported, never silently ignored', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), fc.string()), (values) => {
        const { errors } = evaluateOptions([], values);
        expect(errors).toHaveLength(Object.keys(values).length);
      }),
    );
  });
});
