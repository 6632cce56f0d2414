import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalIndexJson, expandIndexes, type ParallelIndex } from '../../engine/indexes.js';
import { labelValueError } from '../../engine/labels.js';
import { DNS_LABEL_PATTERN, indexNamePart, MAX_NAME_LENGTH, MAX_RUN_NAME_LENGTH, shortHash, slugify, taskName } from '../../engine/names.js';

const hashOf = (index: ParallelIndex, length = 10) => shortHash(canonicalIndexJson(index), length);
const RUN_MAX = 'r'.repeat(MAX_RUN_NAME_LENGTH);

/** Every name must be a DNS-1123 label; the index part must also be a label value. */
function expectValidName(runName: string, index: ParallelIndex, retryIndex: number): string {
  const name = taskName(runName, index, retryIndex);
  expect(name).toMatch(DNS_LABEL_PATTERN);
  expect(name.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
  expect(name.startsWith(`${runName}-`)).toBe(true);
  expect(name.endsWith(`-${retryIndex}`)).toBe(true);
  expect(labelValueError(indexNamePart(runName, index), 'label')).toBeUndefined();
  return name;
}

describe('taskName examples', () => {
  it.each<[string, string, ParallelIndex, number, string]>([
    ['the default index', 'nightly', { indexNumber: 0 }, 0, 'nightly-0-0'],
    ['a count index, retried', 'nightly', { indexNumber: 9999 }, 49, 'nightly-9999-49'],
    ['a clean key', 'sync', { indexKey: 'eu-west-1' }, 0, 'sync-eu-west-1-0'],
    ['a key needing a hash', 'sync', { indexKey: 'Us_East' }, 1, `sync-us-east--${hashOf({ indexKey: 'Us_East' })}-1`],
    ['a key with a double dash', 'sync', { indexKey: 'us--east' }, 0, `sync-us-east--${hashOf({ indexKey: 'us--east' })}-0`],
    ['a key with a leading dash', 'sync', { indexKey: '-east' }, 0, `sync-east--${hashOf({ indexKey: '-east' })}-0`],
    ['a matrix, values in sorted key order', 'build', { matrixValues: { goos: 'linux', goarch: 'amd64' } }, 0, 'build-amd64-linux-0'],
    ['matrix values with dashes', 'build', { matrixValues: { region: 'eu-west', tier: 'a' } }, 0, `build-eu-west-a--${hashOf({ matrixValues: { region: 'eu-west', tier: 'a' } })}-0`],
    ['a non-ASCII key', 'sync', { indexKey: '日本' }, 0, `sync-idx--${hashOf({ indexKey: '日本' })}-0`],
    ['a partly non-ASCII key', 'sync', { indexKey: 'café' }, 0, `sync-caf--${hashOf({ indexKey: 'café' })}-0`],
  ])('%s: %s %j attempt %i → %s', (_, run, index, retry, expected) => {
    expect(expectValidName(run, index, retry)).toBe(expected);
  });

  it('shortens a very long key to a readable stem plus its hash', () => {
    const index = { indexKey: 'a'.repeat(100) };
    const name = expectValidName('sync', index, 0);
    expect(name).toMatch(new RegExp(`^sync-a+--${hashOf(index)}-0$`));
    // Budget: 63 - "sync-" - "-NN" leaves the index part 55 characters.
    expect(indexNamePart('sync', index)).toHaveLength(MAX_NAME_LENGTH - 'sync'.length - 1 - 3);
  });

  it('never ends a shortened stem with a dash', () => {
    const index = { indexKey: `${'a'.repeat(44)}-${'b'.repeat(30)}` };
    expect(indexNamePart('sync', index)).toMatch(/^a+--[a-z2-7]{10}$/);
  });

  it.each<[string, ParallelIndex]>([
    ['a count index', { indexNumber: 9999 }],
    ['a clean key of 10 characters', { indexKey: 'abcdefghij' }],
    ['a key needing a hash', { indexKey: 'Us_East' }],
    ['a non-ASCII key', { indexKey: '日本' }],
    ['a long clean key', { indexKey: 'a'.repeat(40) }],
    ['a matrix', { matrixValues: { goos: 'linux', goarch: 'amd64' } }],
  ])('a run name of the maximum length (46) still gives valid names: %s', (_, index) => {
    for (const retry of [0, 9, 49]) expectValidName(RUN_MAX, index, retry);
    expect(taskName(RUN_MAX, index, 49).length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
  });

  it('keeps the index part of a hashed index at the maximum run length a valid label value', () => {
    const part = indexNamePart(RUN_MAX, { indexKey: 'Us_East' });
    expect(part).toMatch(/^[a-z0-9]--[a-z2-7]{10}$/);
    expect(part).toHaveLength(13);
  });

  it("gives Furiko's colliding indexes 58 and 69 distinct names", () => {
    expect(taskName('job', { indexNumber: 58 }, 0)).toBe('job-58-0');
    expect(taskName('job', { indexNumber: 69 }, 0)).toBe('job-69-0');
  });

  it('names a hashed index the same at every attempt, apart from the attempt', () => {
    const index = { indexKey: 'Us_East' };
    expect(taskName('sync', index, 3)).toBe(taskName('sync', index, 0).replace(/-0$/, '-3'));
  });

  it.each([
    ['Hello, World!', 'hello-world'],
    ['--a__b--', 'a-b'],
    ['日本', ''],
    ['abc-123', 'abc-123'],
  ])('slugify(%j) = %j', (text, slug) => {
    expect(slugify(text)).toBe(slug);
  });
});

describe('shortHash', () => {
  it.each([
    ['', '4oymiquy7q'],
    ['{"indexKey":"Us_East"}', 'g3j7l44gvj'],
    ['{"indexNumber":0}', '5ituj2dnxd'],
  ])('is lowercase base32 of SHA-256: %j → %s', (text, hash) => {
    expect(shortHash(text)).toBe(hash);
  });

  it('is deterministic, of the asked length, and only [a-z2-7] (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.integer({ min: 1, max: 51 }), (text, length) => {
        const hash = shortHash(text, length);
        expect(hash).toMatch(new RegExp(`^[a-z2-7]{${length}}$`));
        expect(shortHash(text, length)).toBe(hash);
        expect(shortHash(text)).toBe(shortHash(text, 51).slice(0, 10));
      }),
    );
  });
});

// Property tests run thousands of cases; give them room on a busy 2-core CI machine.
describe('taskName properties', { timeout: 30_000 }, () => {
  const runName = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,47}[a-z0-9])?$/);
  const longRunName = fc.integer({ min: 40, max: MAX_RUN_NAME_LENGTH }).chain((n) => fc.stringMatching(new RegExp(`^[a-z0-9][-a-z0-9]{${n - 2}}[a-z0-9]$`)));
  const anyRunName = fc.oneof(runName, longRunName, fc.constant(RUN_MAX));
  const ADVERSARIAL_KEYS = ['a', 'A', 'a-b', 'a--b', 'a_b', 'A_B', 'a b', 'a.b', '-a', 'a-', 'ab', 'a-b-', '日本', '日本語', 'ü', 'u', '0', '00', '1', 'a'.repeat(60), `${'a'.repeat(60)}b`, `us-east--${hashOf({ indexKey: 'Us_East' })}`, 'Us_East', 'us-east', 'idx', ''];
  const key = fc.oneof(fc.constantFrom(...ADVERSARIAL_KEYS), fc.string({ unit: 'binary', maxLength: 80 }), fc.stringMatching(/^[a-z0-9-]{1,70}$/));
  const matrixKey = fc.stringMatching(/^[a-z0-9_-]{1,12}$/);
  const matrixValue = fc.oneof(fc.constantFrom('a', 'A', 'a-b', 'b', 'x-y', 'y', 'x', 'z', 'y-z', '日本'), fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }));
  const index: fc.Arbitrary<ParallelIndex> = fc.oneof(
    fc.integer({ min: 0, max: 9999 }).map((indexNumber) => ({ indexNumber })),
    key.map((indexKey) => ({ indexKey })),
    fc.dictionary(matrixKey, matrixValue, { minKeys: 1, maxKeys: 5 }).map((matrixValues) => ({ matrixValues })),
  );

  it('every name is a DNS-1123 label of at most 63 characters', () => {
    fc.assert(fc.property(anyRunName, index, fc.integer({ min: 0, max: 49 }), (run, i, retry) => void expectValidName(run, i, retry)), { numRuns: 1000 });
  });

  it('distinct keys give distinct names', () => {
    fc.assert(
      fc.property(anyRunName, fc.uniqueArray(key, { minLength: 2, maxLength: 40 }), (run, keys) => {
        const names = keys.map((indexKey) => taskName(run, { indexKey }, 0));
        expect(new Set(names).size).toBe(keys.length);
      }),
      { numRuns: 500 },
    );
  });

  it('all adversarial keys together give distinct names, at any run name length', () => {
    for (const run of ['r', 'sync', 'r'.repeat(30), RUN_MAX]) {
      const names = ADVERSARIAL_KEYS.map((indexKey) => taskName(run, { indexKey }, 0));
      expect(new Set(names).size).toBe(ADVERSARIAL_KEYS.length);
    }
  });

  it('distinct matrix indexes give distinct names', () => {
    const matrix = fc.dictionary(matrixKey, fc.uniqueArray(matrixValue, { minLength: 1, maxLength: 4 }), { minKeys: 1, maxKeys: 3 });
    fc.assert(
      fc.property(anyRunName, matrix, (run, withMatrix) => {
        const indexes = expandIndexes({ withMatrix });
        const names = indexes.map((i) => taskName(run, i, 0));
        expect(new Set(names).size).toBe(indexes.length);
      }),
      { numRuns: 500 },
    );
  });

  it('matrix values whose dashes line up differently do not collide', () => {
    const indexes = expandIndexes({ withMatrix: { a: ['x-y', 'x'], b: ['z', 'y-z'] } });
    const names = indexes.map((i) => taskName('build', i, 0));
    expect(new Set(names).size).toBe(4);
    expect(taskName('build', { matrixValues: { a: 'x-y', b: 'z' } }, 0)).not.toBe(taskName('build', { matrixValues: { a: 'x', b: 'y-z' } }, 0));
  });

  it('empty matrix values (which the schema rejects) still do not collide', () => {
    const names = [{ a: '', b: 'x' }, { a: 'x', b: '' }, { a: 'x', b: 'x' }].map((matrixValues) => expectValidName('build', { matrixValues }, 0));
    expect(new Set(names).size).toBe(3);
  });

  it('distinct counts give distinct names, and distinct attempts of an index too', () => {
    fc.assert(
      fc.property(anyRunName, (run) => {
        const names = new Set(Array.from({ length: 10_000 }, (_, indexNumber) => taskName(run, { indexNumber }, 0)));
        expect(names.size).toBe(10_000);
        const attempts = new Set(Array.from({ length: 50 }, (_, retry) => taskName(run, { indexKey: 'Us_East' }, retry)));
        expect(attempts.size).toBe(50);
      }),
      { numRuns: 5 },
    );
  });
});
