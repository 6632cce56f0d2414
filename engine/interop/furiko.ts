/**
 * What Furiko JobConfigs and taskplane JobConfigs share, and where they differ in substitution.
 *
 * Furiko substitutes `${...}` only in the `image`, `command`, `args` and `env[].value` of each
 * container and init container, and has no escape; taskplane substitutes every string and reads
 * `$${` as a literal `${`. These helpers translate a string of a pod template between the two so
 * that it renders the same, or say why it cannot.
 */
import type { FieldError } from '../errors.js';

export const FURIKO_GROUP_VERSION = 'execution.furiko.io/v1alpha1';
/** Furiko's JobConfig name limit (63 − 14, room for `-<unix time>` of scheduled Jobs). */
export const FURIKO_NAME_LIMIT = 49;

/** A `${` that Furiko or taskplane substitutes starts like this. */
const RESERVED_START = /^\s*(option|job|jobconfig|task)\./;

const SUBSTITUTED_CONTAINER_FIELD = /^spec\.(containers|initContainers)\[\d+\]\.(image|command\[\d+\]|args\[\d+\]|env\[\d+\]\.value)$/;

/** True for the fields of a pod template (`spec.containers[0].args[1]`) Furiko substitutes. */
export function furikoSubstitutes(field: string): boolean {
  return SUBSTITUTED_CONTAINER_FIELD.test(field);
}

/** Every string leaf of a JSON tree through `map(text, field)`, the field relative to the root. */
export function mapStrings(value: unknown, map: (text: string, field: string) => string, field = ''): unknown {
  if (typeof value === 'string') return map(value, field);
  if (Array.isArray(value)) return value.map((item, i) => mapStrings(item, map, `${field}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, mapStrings(item, map, field ? `${field}.${key}` : key)]));
  }
  return value;
}

/**
 * A Furiko pod-template string as taskplane text that renders the same. Outside the substituted
 * fields every `${` becomes the escape `$${`; inside them a `$` right before a variable cannot be
 * written in taskplane (`$${` is its escape), and other `$${` get one more `$`.
 */
export function fromFurikoText(text: string, field: string, errors: FieldError[], at: string): string {
  if (!text.includes('${')) return text;
  // A replacer function: in a replacement string "$$" would mean one "$".
  if (!furikoSubstitutes(field)) return text.replaceAll('${', () => '$${');
  let out = '';
  for (let i = 0; i < text.length; ) {
    if (text.startsWith('$${', i)) {
      if (RESERVED_START.test(text.slice(i + 3))) {
        errors.push({ field: at, message: 'Furiko renders a "$" then the variable here; in taskplane "$${" is a literal "${"', value: text, valid: 'a character between "$" and "${"' });
      }
      out += '$$${';
      i += 3;
    } else out += text[i++];
  }
  return out;
}

/**
 * A taskplane pod-template string as Furiko text that renders the same: escapes resolved. A
 * variable outside the substituted fields (Furiko leaves it as text) and an escaped variable inside
 * them (Furiko would substitute it) cannot be written.
 */
export function toFurikoText(text: string, field: string, errors: FieldError[], at: string): string {
  if (!text.includes('${')) return text;
  const substituted = furikoSubstitutes(field);
  let out = '';
  let problem: string | undefined;
  for (let i = 0; i < text.length; ) {
    const escape = text.startsWith('$${', i);
    if (escape || text.startsWith('${', i)) {
      i += escape ? 3 : 2;
      if (escape && substituted && RESERVED_START.test(text.slice(i))) problem = 'Furiko has no escape: it would substitute this literal "${"';
      if (!escape && !substituted && RESERVED_START.test(text.slice(i))) {
        problem = "Furiko substitutes variables only in containers' image, command, args and env values; here it would stay text";
      }
      out += '${';
    } else out += text[i++];
  }
  if (problem) errors.push({ field: at, message: problem, value: text, valid: 'a variable in a container image, command, args or env value, or text without one' });
  return out;
}
