import { describe, expect, it } from 'vitest';
import { MAX_OBJECT_BYTES, objectSizeError } from '../../engine/limits.js';
import { buildRun } from '../../engine/run-object.js';
import type { JobConfigSpec } from '../../engine/schema/index.js';

const spec: JobConfigSpec = {
  concurrency: { policy: 'Allow' },
  options: [
    { type: 'String', name: 'payload', string: {} },
    { type: 'String', name: 'ticket', string: { trimSpaces: true } },
    { type: 'Select', name: 'env', select: { values: ['dev', 'prod'], default: 'dev' } },
    { type: 'Bool', name: 'full', bool: { default: false } },
    { type: 'Multi', name: 'tables', multi: { values: ['a', 'b'], delimiter: ',' } },
    { type: 'Date', name: 'at', date: { format: 'YYYY-MM-DD' } },
  ],
  template: { taskTemplate: { pod: { spec: { containers: [{ name: 'main', image: 'busybox' }] } } } },
};
const build = (optionValues: Record<string, unknown>) => buildRun({ name: 'nightly', namespace: 'batch', spec }, { name: 'nightly-r1', optionValues });

describe('buildRun stores each option value once', () => {
  it('keeps in optionValues only what substitutions cannot say', () => {
    const { run, errors } = build({ payload: 'p', ticket: ' T-1 ', env: 'prod', full: true, tables: ['a', 'b'], at: new Date('2026-01-02T03:04:05Z') });
    expect(errors).toEqual([]);
    // Strings rendered unchanged are only in substitutions; a trimmed string, a bool, a list and a date keep their given form.
    expect(run.spec.optionValues).toEqual({ ticket: ' T-1 ', full: true, tables: ['a', 'b'], at: '2026-01-02T03:04:05.000Z' });
    expect(run.spec.substitutions).toMatchObject({ 'option.payload': 'p', 'option.ticket': 'T-1', 'option.env': 'prod', 'option.full': 'true', 'option.tables': 'a,b', 'option.at': '2026-01-02' });
  });

  it('omits optionValues when every value is stored in substitutions', () => {
    expect(build({ payload: 'p', env: 'dev' }).run.spec).not.toHaveProperty('optionValues');
  });

  it('a 600 KB value leaves the JobRun under the object limit (stored twice it would not be)', () => {
    const big = 'x'.repeat(600_000);
    const { run, errors } = build({ payload: big });
    expect(errors).toEqual([]);
    expect(objectSizeError(run, 'JobRun')).toBeUndefined();
    expect(objectSizeError({ ...run, spec: { ...run.spec, optionValues: { payload: big } } }, 'JobRun')).toMatchObject({
      field: expect.stringMatching(/^spec\.(optionValues\.payload|substitutions\["option\.payload"\])$/),
    });
    expect(Buffer.byteLength(JSON.stringify(run))).toBeLessThan(MAX_OBJECT_BYTES);
  });

  it('reports an invalid Date with its field instead of throwing, and stores nothing for it', () => {
    const { run, errors } = build({ at: new Date('2026-13-45') });
    expect(errors).toEqual([{ field: 'spec.optionValues.at', message: 'invalid Date', value: 'Invalid Date', valid: 'an RFC 3339 timestamp, e.g. 2021-02-09T15:04:05+08:00' }]);
    expect(run.spec).not.toHaveProperty('optionValues');
  });
});
