import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalIndexJson,
  DEFAULT_INDEX,
  expandIndexes,
  indexVariables,
  sameIndex,
  validateParallelism,
  type ParallelIndex,
} from '../../engine/indexes.js';
import { MAX_PARALLEL_INDEXES, type ParallelismSpec } from '../../engine/schema/template.js';

const F = 'spec.template.parallelism';

describe('expandIndexes', () => {
  it.each<[string, ParallelismSpec | undefined, ParallelIndex[]]>([
    ['no parallelism: the default index', undefined, [{ indexNumber: 0 }]],
    ['withCount: 0..N-1', { withCount: 3 }, [{ indexNumber: 0 }, { indexNumber: 1 }, { indexNumber: 2 }]],
    ['withKeys: in list order', { withKeys: ['b', 'a', 'C'] }, [{ indexKey: 'b' }, { indexKey: 'a' }, { indexKey: 'C' }]],
    ['withMatrix, one key', { withMatrix: { os: ['linux', 'darwin'] } }, [{ matrixValues: { os: 'linux' } }, { matrixValues: { os: 'darwin' } }]],
  ])('%s', (_, spec, expected) => {
    expect(expandIndexes(spec)).toEqual(expected);
  });

  it('gives the default index as {indexNumber: 0}', () => {
    expect(DEFAULT_INDEX).toEqual({ indexNumber: 0 });
    expect(Object.isFrozen(DEFAULT_INDEX)).toBe(true);
  });

  it('orders a matrix as Furiko does: keys sorted, the last key varies fastest, values as listed', () => {
    const indexes = expandIndexes({ withMatrix: { goos: ['linux', 'darwin'], goarch: ['amd64', 'arm64'] } });
    expect(indexes.map((i) => [i.matrixValues!.goarch, i.matrixValues!.goos])).toEqual([
      ['amd64', 'linux'],
      ['amd64', 'darwin'],
      ['arm64', 'linux'],
      ['arm64', 'darwin'],
    ]);
  });

  it('orders a 2x3x4 matrix as an odometer over the sorted keys', () => {
    // Declared out of order on purpose: a (2) < b (3) < c (4) once sorted.
    const indexes = expandIndexes({ withMatrix: { c: ['c1', 'c2', 'c3', 'c4'], a: ['a1', 'a2'], b: ['b1', 'b2', 'b3'] } });
    const expected: string[] = [];
    for (const a of ['a1', 'a2']) for (const b of ['b1', 'b2', 'b3']) for (const c of ['c1', 'c2', 'c3', 'c4']) expected.push(`${a},${b},${c}`);
    expect(indexes).toHaveLength(24);
    expect(indexes.map((i) => `${i.matrixValues!.a},${i.matrixValues!.b},${i.matrixValues!.c}`)).toEqual(expected);
    expect(indexes.every((i) => Object.keys(i.matrixValues!).length === 3)).toBe(true);
  });

  it('gives count indexes only indexNumber, key indexes only indexKey, matrix indexes only matrixValues', () => {
    expect(Object.keys(expandIndexes({ withCount: 1 })[0]!)).toEqual(['indexNumber']);
    expect(Object.keys(expandIndexes({ withKeys: ['k'] })[0]!)).toEqual(['indexKey']);
    expect(Object.keys(expandIndexes({ withMatrix: { k: ['v'] } })[0]!)).toEqual(['matrixValues']);
  });

  it('does not mutate the spec', () => {
    const spec = Object.freeze({ withMatrix: Object.freeze({ b: Object.freeze(['1', '2']), a: Object.freeze(['x']) }) }) as unknown as ParallelismSpec;
    expect(() => expandIndexes(spec)).not.toThrow();
    expect(Object.keys(spec.withMatrix!)).toEqual(['b', 'a']);
  });
});

describe('validateParallelism', () => {
  it('accepts no spec and each single type', () => {
    expect(validateParallelism(undefined, F)).toEqual([]);
    expect(validateParallelism({ withCount: 2, completionStrategy: 'AnySuccessful' }, F)).toEqual([]);
    expect(validateParallelism({ withKeys: ['a', 'b'] }, F)).toEqual([]);
    expect(validateParallelism({ withMatrix: { os: ['linux'], 'go_arch-1': ['amd64'] } }, F)).toEqual([]);
  });

  it.each<[string, ParallelismSpec, { field: string; message: string | RegExp }[]]>([
    ['no type', { completionStrategy: 'AllSuccessful' }, [{ field: F, message: 'must specify a parallelism type' }]],
    ['two types', { withCount: 2, withKeys: ['a'] }, [{ field: F, message: 'cannot specify more than one parallelism type (got withCount, withKeys)' }]],
    ['three types', { withCount: 2, withKeys: ['a'], withMatrix: { a: ['1'] } }, [{ field: F, message: 'cannot specify more than one parallelism type (got withCount, withKeys, withMatrix)' }]],
    ['a matrix key with a space and capitals', { withMatrix: { 'Bad Key': ['1'] } }, [{ field: `${F}.withMatrix.Bad Key`, message: 'matrix key has characters that are not allowed' }]],
    ['a matrix key with a dot', { withMatrix: { 'a.b': ['1'] } }, [{ field: `${F}.withMatrix.a.b`, message: 'matrix key has characters that are not allowed' }]],
    ['an empty matrix', { withMatrix: {} }, [{ field: `${F}.withMatrix`, message: 'must have at least one key' }]],
    ['a duplicate key', { withKeys: ['a', 'b', 'a'] }, [{ field: `${F}.withKeys[2]`, message: 'duplicate value: each must be unique' }]],
    ['a duplicate matrix value', { withMatrix: { os: ['linux', 'darwin', 'linux'] } }, [{ field: `${F}.withMatrix.os[2]`, message: 'duplicate value: each must be unique' }]],
    ['too many counted indexes', { withCount: MAX_PARALLEL_INDEXES + 1 }, [{ field: F, message: `expands to ${MAX_PARALLEL_INDEXES + 1} task indexes, more than the limit` }]],
    [
      'a matrix whose product is too large',
      { withMatrix: { a: Array.from({ length: 101 }, (_, i) => `v${i}`), b: Array.from({ length: 100 }, (_, i) => `w${i}`) } },
      [{ field: F, message: 'expands to 10100 task indexes, more than the limit' }],
    ],
  ])('rejects %s', (_, spec, expected) => {
    const errors = validateParallelism(spec, F);
    expect(errors.map(({ field, message }) => ({ field, message }))).toEqual(expected);
  });

  it('accepts exactly the maximum number of indexes', () => {
    expect(validateParallelism({ withCount: MAX_PARALLEL_INDEXES }, F)).toEqual([]);
    expect(validateParallelism({ withMatrix: { a: Array.from({ length: 100 }, (_, i) => `${i}`), b: Array.from({ length: 100 }, (_, i) => `${i}`) } }, F)).toEqual([]);
  });

  it('names the allowed characters and the duplicate value', () => {
    const [keyError] = validateParallelism({ withMatrix: { 'Bad Key': ['1'] } }, F);
    expect(keyError).toMatchObject({ value: 'Bad Key', valid: expect.stringContaining('^[a-z0-9_-]+$') });
    const [duplicate] = validateParallelism({ withKeys: ['x', 'x'] }, F);
    expect(duplicate).toMatchObject({ value: 'x' });
    const [tooMany] = validateParallelism({ withCount: 20_000 }, F);
    expect(tooMany!.valid).toBe(`at most ${MAX_PARALLEL_INDEXES} indexes per run`);
  });

  it('reports every problem at once', () => {
    const errors = validateParallelism({ withKeys: ['a', 'a'], withMatrix: { 'Bad Key': ['1', '1'] } }, F);
    expect(errors.map((e) => e.field)).toEqual([F, `${F}.withKeys[1]`, `${F}.withMatrix.Bad Key`, `${F}.withMatrix.Bad Key[1]`]);
  });
});

describe('indexVariables', () => {
  it.each<[ParallelIndex, Record<string, string>]>([
    [{ indexNumber: 0 }, { 'task.index_num': '0' }],
    [{ indexNumber: 42 }, { 'task.index_num': '42' }],
    [{ indexKey: 'eu-west-1' }, { 'task.index_key': 'eu-west-1' }],
    [{ indexKey: '' }, { 'task.index_key': '' }],
    [{ matrixValues: { goos: 'linux', goarch: 'amd64' } }, { 'task.index_matrix.goos': 'linux', 'task.index_matrix.goarch': 'amd64' }],
  ])('%j → only its own variant: %j', (index, expected) => {
    expect(indexVariables(index)).toEqual(expected);
  });
});

describe('canonicalIndexJson', () => {
  it.each<[ParallelIndex, string]>([
    [{ indexNumber: 0 }, '{"indexNumber":0}'],
    [{ indexNumber: 7 }, '{"indexNumber":7}'],
    [{ indexKey: 'a"b' }, '{"indexKey":"a\\"b"}'],
    [{ matrixValues: { b: '2', a: '1' } }, '{"matrixValues":{"a":"1","b":"2"}}'],
  ])('%j → %s', (index, json) => {
    expect(canonicalIndexJson(index)).toBe(json);
  });

  it('is stable under matrix key order (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.string(), { maxKeys: 6 }), fc.integer(), (matrix, seed) => {
        const entries = Object.entries(matrix);
        const shuffled = entries.map((e, i) => [e, (i * 7919 + seed) % 101] as const).sort((x, y) => x[1] - y[1]).map(([e]) => e);
        const a: ParallelIndex = { matrixValues: Object.fromEntries(entries) };
        const b: ParallelIndex = { matrixValues: Object.fromEntries(shuffled) };
        expect(canonicalIndexJson(a)).toBe(canonicalIndexJson(b));
        expect(sameIndex(a, b)).toBe(true);
        expect(JSON.parse(canonicalIndexJson(a))).toEqual({ matrixValues: matrix });
      }),
    );
  });

  it('tells different indexes apart', () => {
    expect(sameIndex({ indexNumber: 1 }, { indexKey: '1' })).toBe(false);
    expect(sameIndex({ matrixValues: { a: '1' } }, { matrixValues: { a: '2' } })).toBe(false);
    expect(sameIndex({ matrixValues: { a: '1' } }, { matrixValues: { b: '1' } })).toBe(false);
  });
});
