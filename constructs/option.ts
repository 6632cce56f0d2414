import type { BoolFormat, OptionSpec } from '../engine/schema/option.js';

interface OptionCommonProps {
  /**
   * Human-readable label shown by tools such as `taskplane run`.
   * @default - the option's name
   */
  readonly label?: string;
}

export interface BoolOptionProps extends OptionCommonProps {
  /** Value used when a run gives none (a Bool option always has one). */
  readonly default: boolean;
  /**
   * How the value is rendered into `${option.<name>}`.
   * @default BoolOptionFormat.TRUE_FALSE - `true` / `false`, what most programs parse
   */
  readonly format?: BoolOptionFormat;
}

/** How a Bool option is rendered. Use `BoolOptionFormat.custom()` for other words. */
export class BoolOptionFormat {
  public static readonly TRUE_FALSE = new BoolOptionFormat('TrueFalse');
  public static readonly ONE_ZERO = new BoolOptionFormat('OneZero');
  public static readonly YES_NO = new BoolOptionFormat('YesNo');
  /** Renders `trueValue` / `falseValue` (either may be empty, e.g. for an optional CLI flag). */
  public static custom(trueValue: string, falseValue: string): BoolOptionFormat {
    return new BoolOptionFormat('Custom', trueValue, falseValue);
  }

  private constructor(
    /** @internal */ public readonly _format: BoolFormat,
    /** @internal */ public readonly _trueValue?: string,
    /** @internal */ public readonly _falseValue?: string,
  ) {}
}

export interface StringOptionProps extends OptionCommonProps {
  /** @default - empty string */
  readonly default?: string;
  /**
   * A run must give a non-empty value (after trimming, with `trimSpaces`).
   * @default false
   */
  readonly required?: boolean;
  /**
   * Trim leading and trailing white space from the value.
   * @default false - the value is used as given
   */
  readonly trimSpaces?: boolean;
}

export interface SelectOptionProps<V extends string> extends OptionCommonProps {
  /** The allowed values. Their union becomes the option's TypeScript type. */
  readonly values: readonly V[];
  /** @default - empty string */
  readonly default?: V;
  /** @default false */
  readonly required?: boolean;
}

export interface MultiOptionProps<V extends string> extends OptionCommonProps {
  /** The allowed values. */
  readonly values: readonly V[];
  /** Joins the selected values into `${option.<name>}`; may be empty. */
  readonly delimiter: string;
  /** @default - no value selected */
  readonly default?: readonly V[];
  /** @default false */
  readonly required?: boolean;
}

export interface DateOptionProps extends OptionCommonProps {
  /**
   * moment.js-style format, applied in the given time's own UTC offset (e.g. `YYYY-MM-DD`).
   * @default - RFC 3339, `YYYY-MM-DDTHH:mm:ssZ`
   */
  readonly format?: string;
  /** @default false */
  readonly required?: boolean;
}

/**
 * A typed job option. `TValue` is what a run passes for it; `TNeedsValue` is true when a run must
 * pass one (required and without a default), which makes the key mandatory in `config.run(...)`.
 */
export class Option<TValue, TNeedsValue extends boolean = false> {
  public static bool(props: BoolOptionProps): Option<boolean, false> {
    const format = props.format ?? BoolOptionFormat.TRUE_FALSE;
    return new Option('Bool', props, {
      bool: {
        default: props.default,
        format: format._format,
        ...(format._trueValue !== undefined && { trueVal: format._trueValue, falseVal: format._falseValue }),
      },
    });
  }

  public static string(props: StringOptionProps & { readonly required: true; readonly default?: undefined }): Option<string, true>;
  public static string(props?: StringOptionProps): Option<string, false>;
  public static string(props: StringOptionProps = {}): Option<string, boolean> {
    return new Option('String', props, { string: { default: props.default, trimSpaces: props.trimSpaces } });
  }

  /** One of `values`. */
  public static select<const V extends string>(props: SelectOptionProps<V> & { readonly required: true; readonly default?: undefined }): Option<V, true>;
  public static select<const V extends string>(props: SelectOptionProps<V>): Option<V, false>;
  public static select<const V extends string>(props: SelectOptionProps<V>): Option<V, boolean> {
    return new Option('Select', props, { select: { values: [...props.values], default: props.default } });
  }

  /** One of `values` or any other string. */
  public static selectOrCustom<const V extends string>(props: SelectOptionProps<V>): Option<V | (string & {}), false> {
    return new Option('Select', props, { select: { values: [...props.values], default: props.default, allowCustom: true } });
  }

  /** Any number of `values`, joined by `delimiter`. */
  public static multi<const V extends string>(props: MultiOptionProps<V> & { readonly required: true; readonly default?: undefined }): Option<V[], true>;
  public static multi<const V extends string>(props: MultiOptionProps<V>): Option<V[], false>;
  public static multi<const V extends string>(props: MultiOptionProps<V>): Option<V[], boolean> {
    return new Option('Multi', props, { multi: multiConfig(props) });
  }

  /** Any number of `values` or other non-empty strings, joined by `delimiter` (Furiko's `allowCustom`). */
  public static multiOrCustom<const V extends string>(
    props: MultiOptionProps<V> & { readonly required: true; readonly default?: undefined },
  ): Option<(V | (string & {}))[], true>;
  public static multiOrCustom<const V extends string>(props: MultiOptionProps<V>): Option<(V | (string & {}))[], false>;
  public static multiOrCustom<const V extends string>(props: MultiOptionProps<V>): Option<(V | (string & {}))[], boolean> {
    return new Option('Multi', props, { multi: { ...multiConfig(props), allowCustom: true } });
  }

  /** A point in time: a `Date` (rendered in UTC) or an RFC 3339 string (rendered in its own offset). */
  public static date(props: DateOptionProps & { readonly required: true }): Option<Date | string, true>;
  public static date(props?: DateOptionProps): Option<Date | string, false>;
  public static date(props: DateOptionProps = {}): Option<Date | string, boolean> {
    return new Option('Date', props, { date: props.format === undefined ? {} : { format: props.format } });
  }

  /** Phantom members: they carry the types to `config.run(...)` and never hold a value. */
  declare public readonly _value: TValue;
  declare public readonly _needsValue: TNeedsValue;

  private constructor(
    private readonly type: OptionSpec['type'],
    private readonly common: OptionCommonProps & { readonly required?: boolean },
    private readonly config: Partial<Pick<OptionSpec, 'bool' | 'string' | 'select' | 'multi' | 'date'>>,
  ) {}

  /** @internal */
  public _toSpec(name: string): OptionSpec {
    return JSON.parse(
      JSON.stringify({ type: this.type, name, label: this.common.label, required: this.common.required || undefined, ...this.config }),
    ) as OptionSpec;
  }
}

function multiConfig(props: MultiOptionProps<string>) {
  return { values: [...props.values], delimiter: props.delimiter, ...(props.default && { default: [...props.default] }) };
}

/** The options of a JobConfig, by name. Names are used as `${option.<name>}`. */
export type OptionDefinitions = Readonly<Record<string, Option<unknown, boolean>>>;

export type NeedsValueKeys<O extends OptionDefinitions> = { [K in keyof O]: O[K]['_needsValue'] extends true ? K : never }[keyof O];

/** What `config.run(...)` accepts for `options`: each option's type; mandatory where a value is needed. */
export type OptionValues<O extends OptionDefinitions> = { readonly [K in NeedsValueKeys<O>]: O[K]['_value'] } & {
  readonly [K in Exclude<keyof O, NeedsValueKeys<O>>]?: O[K]['_value'];
};
