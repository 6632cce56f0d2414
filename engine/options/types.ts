/**
 * Option values typed from their specs, so the compiler checks `optionValues` (DESIGN §3.1): a
 * Select's values become a union. Precise types need the specs as literals (`as const`, or a
 * `const` type parameter); a spec typed only as `OptionSpec` accepts `unknown`.
 */

/** The value one option accepts. */
export type OptionValue<S> =
  S extends { readonly type: 'Bool' } ? boolean
  : S extends { readonly type: 'String' } ? string
  : S extends { readonly type: 'Select'; readonly select: { readonly allowCustom: true } } ? string
  : S extends { readonly type: 'Select'; readonly select: { readonly values: readonly (infer V extends string)[] } } ? V
  : S extends { readonly type: 'Multi'; readonly multi: { readonly allowCustom: true } } ? readonly string[]
  : S extends { readonly type: 'Multi'; readonly multi: { readonly values: readonly (infer V extends string)[] } } ? readonly V[]
  : S extends { readonly type: 'Date' } ? string | Date
  : unknown;

type HasDefault<S> = S extends
  | { readonly string: { readonly default: string } }
  | { readonly select: { readonly default: string } }
  | { readonly multi: { readonly default: readonly string[] } }
  ? true
  : false;

/** Required options without a default must be given; every other key is optional. */
type MustBeGiven<S> = S extends { readonly required: true } ? (HasDefault<S> extends true ? false : true) : false;

/** The `optionValues` accepted by a list of option specs. */
export type OptionValues<Specs extends readonly { readonly name: string }[]> = Simplify<
  { [S in Specs[number] as MustBeGiven<S> extends true ? S['name'] : never]: OptionValue<S> } & {
    [S in Specs[number] as MustBeGiven<S> extends true ? never : S['name']]?: OptionValue<S>;
  }
>;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
