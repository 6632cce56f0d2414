/** Small helpers shared by option validation and evaluation for building FieldErrors. */

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
