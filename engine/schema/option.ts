/**
 * Job options (Furiko's OptionSpec): typed parameters of a JobConfig whose evaluated values are
 * substituted as `${option.<name>}`.
 */
import Type, { type Static } from 'typebox';
import { StrictObject, StringEnum } from './_builders.js';

export const OPTION_TYPES = ['Bool', 'String', 'Select', 'Multi', 'Date'] as const;
export type OptionType = (typeof OPTION_TYPES)[number];

export const BOOL_FORMATS = ['TrueFalse', 'OneZero', 'YesNo', 'Custom'] as const;
export type BoolFormat = (typeof BOOL_FORMATS)[number];

/** Option names are used in `${option.<name>}`: Furiko's character set. */
export const OPTION_NAME_PATTERN = '^[a-zA-Z0-9_.-]+$';

export const BoolOptionConfigSchema = StrictObject({
  default: Type.Boolean({ description: 'Value used when none is given.' }),
  format: Type.Optional(StringEnum(BOOL_FORMATS, { description: 'How the value is rendered. Defaults to TrueFalse.' })),
  trueVal: Type.Optional(Type.String({ description: 'Rendering of true with format Custom.' })),
  falseVal: Type.Optional(Type.String({ description: 'Rendering of false with format Custom.' })),
});

export const StringOptionConfigSchema = StrictObject({
  default: Type.Optional(Type.String()),
  trimSpaces: Type.Optional(Type.Boolean({ description: 'Trim leading and trailing white space.' })),
});

export const SelectOptionConfigSchema = StrictObject({
  default: Type.Optional(Type.String({ description: 'Must be one of `values`.' })),
  values: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  allowCustom: Type.Optional(Type.Boolean({ description: 'Accept values outside `values`.' })),
});

export const MultiOptionConfigSchema = StrictObject({
  default: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Each must be one of `values`.' })),
  delimiter: Type.String({ description: 'Joins the selected values; may be empty.' }),
  values: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  allowCustom: Type.Optional(Type.Boolean()),
});

export const DateOptionConfigSchema = StrictObject({
  format: Type.Optional(
    Type.String({ description: 'moment.js-style format; RFC 3339 when empty. Rendered in the input\'s own UTC offset.' }),
  ),
});

export const OptionSpecSchema = StrictObject({
  type: StringEnum(OPTION_TYPES),
  name: Type.String({ pattern: OPTION_NAME_PATTERN, minLength: 1, maxLength: 63 }),
  label: Type.Optional(Type.String({ description: 'Human-readable label shown by tools.' })),
  required: Type.Optional(Type.Boolean({ description: 'A value must be given (or a default exist). Not allowed for Bool.' })),
  bool: Type.Optional(BoolOptionConfigSchema),
  string: Type.Optional(StringOptionConfigSchema),
  select: Type.Optional(SelectOptionConfigSchema),
  multi: Type.Optional(MultiOptionConfigSchema),
  date: Type.Optional(DateOptionConfigSchema),
});

export type BoolOptionConfig = Static<typeof BoolOptionConfigSchema>;
export type StringOptionConfig = Static<typeof StringOptionConfigSchema>;
export type SelectOptionConfig = Static<typeof SelectOptionConfigSchema>;
export type MultiOptionConfig = Static<typeof MultiOptionConfigSchema>;
export type DateOptionConfig = Static<typeof DateOptionConfigSchema>;
export type OptionSpec = Static<typeof OptionSpecSchema>;
