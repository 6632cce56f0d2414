/**
 * The size limit on whole objects. etcd refuses requests over 1.5 MiB (`--max-request-bytes`);
 * taskplane keeps what it writes to 1 MiB so that status (a JobRun's grows as it runs),
 * managedFields and the API server's own additions still fit.
 */
import { childField, type FieldError } from './errors.js';

export const MAX_OBJECT_BYTES = 1_048_576;

/** The object's size as JSON (what the API server stores for custom resources), or an error naming its largest value. */
export function objectSizeError(object: unknown, kind: string): FieldError | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(object));
  if (bytes <= MAX_OBJECT_BYTES) return undefined;
  const largest = largestValue(object, '');
  return {
    field: largest.field || '(object)',
    message: `the ${kind} is ${bytes} bytes as JSON; this value alone is ${largest.bytes} bytes`,
    valid: `at most ${MAX_OBJECT_BYTES} bytes (1 MiB) per object: etcd refuses 1.5 MiB, and status needs room`,
  };
}

function largestValue(value: unknown, field: string): { field: string; bytes: number } {
  let best = { field, bytes: Buffer.byteLength(JSON.stringify(value) ?? '') };
  if (value === null || typeof value !== 'object') return best;
  const children = Array.isArray(value) ? value.map((item, i) => [`${field}[${i}]`, item] as const) : Object.entries(value).map(([key, item]) => [field ? childField(field, key) : key, item] as const);
  let biggest = { field, bytes: -1 };
  for (const [path, child] of children) {
    const found = largestValue(child, path);
    if (found.bytes > biggest.bytes) biggest = found;
  }
  // Descend while one child holds a large share: stop at the value that makes the object too big,
  // not at one of many small ones.
  if (biggest.bytes * 3 >= best.bytes) best = biggest;
  return best;
}
