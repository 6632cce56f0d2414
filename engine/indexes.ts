/**
 * Parallel task indexes (Furiko's ParallelIndex): one per parallel task of a run.
 */
import type { FieldError } from './errors.js';
import { MATRIX_KEY_PATTERN, MAX_PARALLEL_INDEXES, type ParallelismSpec } from './schema/template.js';

/** Exactly one member is set. */
export interface ParallelIndex {
  readonly indexNumber?: number;
  readonly indexKey?: string;
  readonly matrixValues?: Readonly<Record<string, string>>;
}

/** A run without parallelism has one task index, Furiko's default `{indexNumber: 0}`. */
export const DEFAULT_INDEX: ParallelIndex = Object.freeze({ indexNumber: 0 });

const matrixKeyPattern = new RegExp(MATRIX_KEY_PATTERN);

/** Structural problems the schema cannot express: one parallelism type, unique keys and values, size. */
export function validateParallelism(spec: ParallelismSpec | undefined, field: string): FieldError[] {
  if (!spec) return [];
  const errors: FieldError[] = [];
  const kinds = (['withCount', 'withKeys', 'withMatrix'] as const).filter((k) => spec[k] !== undefined);
  if (kinds.length === 0) errors.push({ field, message: 'must specify a parallelism type', valid: 'one of withCount, withKeys, withMatrix' });
  if (kinds.length > 1) errors.push({ field, message: `cannot specify more than one parallelism type (got ${kinds.join(', ')})` });
  if (spec.withKeys) pushDuplicates(errors, spec.withKeys, `${field}.withKeys`);
  if (spec.withMatrix) {
    const keys = Object.keys(spec.withMatrix);
    if (keys.length === 0) errors.push({ field: `${field}.withMatrix`, message: 'must have at least one key' });
    for (const key of keys) {
      if (!matrixKeyPattern.test(key)) {
        errors.push({ field: `${field}.withMatrix.${key}`, message: 'matrix key has characters that are not allowed', value: key, valid: `lowercase letters, digits, "_" and "-" (${MATRIX_KEY_PATTERN})` });
      }
      pushDuplicates(errors, spec.withMatrix[key]!, `${field}.withMatrix.${key}`);
    }
  }
  const count = indexCount(spec);
  if (count > MAX_PARALLEL_INDEXES) {
    errors.push({ field, message: `expands to ${count} task indexes, more than the limit`, valid: `at most ${MAX_PARALLEL_INDEXES} indexes per run` });
  }
  return errors;
}

function pushDuplicates(errors: FieldError[], values: readonly string[], field: string): void {
  const seen = new Set<string>();
  values.forEach((value, i) => {
    if (seen.has(value)) errors.push({ field: `${field}[${i}]`, message: 'duplicate value: each must be unique', value });
    seen.add(value);
  });
}

function indexCount(spec: ParallelismSpec): number {
  if (spec.withCount !== undefined) return spec.withCount;
  if (spec.withKeys) return spec.withKeys.length;
  if (spec.withMatrix) return Object.values(spec.withMatrix).reduce((n, values) => n * values.length, 1);
  return 1;
}

/**
 * Every index of a run, in Furiko's order: count ascending, keys as listed, and the matrix as an
 * odometer over its keys sorted lexicographically, the last key varying fastest.
 */
export function expandIndexes(spec: ParallelismSpec | undefined): ParallelIndex[] {
  if (spec?.withCount !== undefined) return Array.from({ length: spec.withCount }, (_, indexNumber) => ({ indexNumber }));
  if (spec?.withKeys) return spec.withKeys.map((indexKey) => ({ indexKey }));
  if (spec?.withMatrix) {
    let rows: Record<string, string>[] = [{}];
    for (const key of Object.keys(spec.withMatrix).sort()) {
      rows = rows.flatMap((row) => spec.withMatrix![key]!.map((value) => ({ ...row, [key]: value })));
    }
    return rows.map((matrixValues) => ({ matrixValues }));
  }
  return [DEFAULT_INDEX];
}

/** The index as stable JSON (sorted matrix keys), used for annotations and name hashes. */
export function canonicalIndexJson(index: ParallelIndex): string {
  if (index.matrixValues) {
    const sorted = Object.fromEntries(Object.keys(index.matrixValues).sort().map((k) => [k, index.matrixValues![k]]));
    return JSON.stringify({ matrixValues: sorted });
  }
  if (index.indexKey !== undefined) return JSON.stringify({ indexKey: index.indexKey });
  return JSON.stringify({ indexNumber: index.indexNumber ?? 0 });
}

/** `task.index_num`, `task.index_key` or `task.index_matrix.<key>`: only the variant the index has. */
export function indexVariables(index: ParallelIndex): Record<string, string> {
  if (index.matrixValues) {
    return Object.fromEntries(Object.entries(index.matrixValues).map(([k, v]) => [`task.index_matrix.${k}`, v]));
  }
  if (index.indexKey !== undefined) return { 'task.index_key': index.indexKey };
  return { 'task.index_num': String(index.indexNumber ?? 0) };
}

export function sameIndex(a: ParallelIndex, b: ParallelIndex): boolean {
  return canonicalIndexJson(a) === canonicalIndexJson(b);
}
