/** Small helpers shared by option validation and evaluation for building FieldErrors. */

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/** `parent.key`, or `parent["a.b"]` when the key would make the dotted path ambiguous. */
export function keyField(parent: string, key: string): string {
  return PLAIN_KEY.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

/** The type of a value as a user writing YAML or TypeScript would name it. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'Date';
  return typeof value;
}

const MAX_LISTED = 20;

/** `one of: dev, prod` */
export function oneOf(values: readonly string[]): string {
  return `one of: ${listValues(values)}`;
}

/** `dev, prod`: values quoted only where needed to read them unambiguously, long lists cut short. */
export function listValues(values: readonly string[]): string {
  const shown = values.slice(0, MAX_LISTED).map((v) => (/^[^\s,"]+$/.test(v) ? v : JSON.stringify(v)));
  const more = values.length > MAX_LISTED ? `, ... (${values.length - MAX_LISTED} more)` : '';
  return shown.join(', ') + more;
}
