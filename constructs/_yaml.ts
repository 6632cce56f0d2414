import { Document, stringify, type CreateNodeOptions, type DocumentOptions, type Scalar, type SchemaOptions, type ToStringOptions } from 'yaml';
import { stringifyString, stringTag, type StringifyContext } from 'yaml/util';
import { childField, type FieldError } from '../engine/errors.js';

/**
 * YAML that every reader reads the same. cdk8s writes YAML 1.1 (plain `0o17`, plain `<<` keys);
 * Flux and kustomize read YAML 1.2 (go-yaml v3), Argo CD and kubectl YAML 1.1 (sigs.k8s.io/yaml).
 * A string that either version would resolve to something else (a number, a bool, null, a
 * timestamp, a merge key) is written double-quoted, so it reads back as the same string in both.
 */

type Resolver = { readonly default?: boolean; readonly tag: string; readonly test?: RegExp };
const resolvers = (version: '1.1' | '1.2') =>
  ((new Document(null, { version }).schema as unknown as { tags: Resolver[] }).tags).filter(
    (tag) => tag.default && tag.test && tag.tag !== 'tag:yaml.org,2002:str',
  );
const YAML_1_1 = resolvers('1.1');
const YAML_1_2 = resolvers('1.2');

const MERGE_TAG = 'tag:yaml.org,2002:merge';

const resolvesIn = (tags: readonly Resolver[], text: string) => tags.some((tag) => tag.test!.test(text));

/** Every non-string resolver of either version matches only text starting like this (or empty). */
const MAYBE_RESOLVED = /^(?:$|[-+.~<0-9NnYyTtFfOo])/;

/** True when a plain `text` would not read back as this string under YAML 1.1 or 1.2. */
export function needsQuotes(text: string): boolean {
  return MAYBE_RESOLVED.test(text) && (resolvesIn(YAML_1_1, text) || resolvesIn(YAML_1_2, text));
}

/**
 * The default string tag, written double-quoted: listed first, it claims exactly the strings that
 * need quotes (the writer asks each tag's `identify` in order).
 */
const quotedString = {
  ...stringTag,
  identify: (value: unknown) => typeof value === 'string' && needsQuotes(value),
  stringify: (item: Scalar, ctx: StringifyContext) => stringifyString({ value: String(item.value), type: 'QUOTE_DOUBLE' }, ctx),
};

const OPTIONS: DocumentOptions & SchemaOptions & CreateNodeOptions & ToStringOptions = {
  // cdk8s's settings: YAML 1.1, no line folding.
  version: '1.1',
  keepUndefined: true,
  lineWidth: 0,
  // Without the merge tag, which writes a `<<` key plain whatever the other tags say.
  customTags: (tags) => [quotedString, ...tags.filter((tag) => typeof tag === 'string' || tag.tag !== MERGE_TAG)],
};

/** The documents as YAML, as cdk8s writes them but with ambiguous strings quoted. */
export function stringifyDocuments(documents: readonly unknown[]): string {
  return documents.map((json) => stringify(json, OPTIONS)).join('---\n');
}

/**
 * Strings and keys that cdk8s's own YAML 1.1 writer leaves plain although a YAML 1.2 reader (Flux,
 * kustomize) or a YAML 1.1 reader resolves them to another type. `TaskplaneApp` quotes them; a plain
 * cdk8s App cannot, so there they are errors.
 */
export function misreadStrings(value: unknown, field: string, errors: FieldError[] = []): FieldError[] {
  // cdk8s's writer quotes what YAML 1.1 resolves, except a `<<` key (a merge key to 1.1 readers).
  const misread = (text: string) => !resolvesIn(YAML_1_1, text) && resolvesIn(YAML_1_2, text);
  if (typeof value === 'string') {
    if (misread(value)) errors.push(misreadError(value, field));
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => misreadStrings(item, `${field}[${i}]`, errors));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const path = childField(field, key);
      if (misread(key) || key === '<<') errors.push(misreadError(key, path));
      misreadStrings(item, path, errors);
    }
  }
  return errors;
}

function misreadError(text: string, field: string): FieldError {
  return {
    field,
    message: 'cdk8s writes this string unquoted, and YAML readers disagree on it (Flux reads YAML 1.2, Argo CD YAML 1.1)',
    value: text,
    valid: 'synthesize with TaskplaneApp instead of App (it writes such strings quoted)',
  };
}
