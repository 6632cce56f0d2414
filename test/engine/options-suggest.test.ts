import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { didYouMean, suggest } from '../../engine/suggest.js';

describe('suggest', () => {
  const options = ['environment', 'dryRun', 'regions', 'ticket', 'date.start'];
  const variables = ['task.name', 'task.namespace', 'task.index_num', 'task.index_key', 'task.retry_index', 'job.name'];

  it.each([
    ['enviroment', options, ['environment']],
    ['dryrun', options, ['dryRun']],
    ['DRYRUN', options, ['dryRun']],
    ['region', options, ['regions']],
    ['date_start', options, ['date.start']],
    ['xyz', options, []],
    ['task.indx_num', variables, ['task.index_num', 'task.index_key']],
    ['task.nme', variables, ['task.name']],
    ['job.nam', variables, ['job.name']],
    ['c', ['a', 'b'], []],
    ['a', ['A', 'a', 'ab'], ['a', 'A', 'ab']],
    ['anything', [], []],
  ])('%s', (name, candidates, want) => {
    expect(suggest(name, candidates)).toEqual(want);
  });

  it('returns at most `limit` candidates, best first, ignoring duplicates', () => {
    expect(suggest('ab', ['ax', 'ab', 'xb', 'ab', 'abc'], 2)).toEqual(['ab', 'abc']);
  });

  it('puts an exact match first, whatever the other candidates', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.array(fc.string()), (name, others) => {
        expect(suggest(name, [...others, name])[0]).toBe(name);
      }),
    );
  });

  it('is deterministic: candidate order does not matter', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 6 }), fc.uniqueArray(fc.string({ maxLength: 6 })), (name, candidates) => {
        expect(suggest(name, [...candidates].reverse())).toEqual(suggest(name, candidates));
      }),
    );
  });
});

describe('didYouMean', () => {
  it.each([
    [[], undefined],
    [['a'], 'did you mean "a"?'],
    [['a', 'b'], 'did you mean "a" or "b"?'],
    [['a', 'b', 'c'], 'did you mean "a", "b" or "c"?'],
  ])('%j', (suggestions, want) => {
    expect(didYouMean(suggestions)).toBe(want);
  });
});
