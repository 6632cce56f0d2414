/** `taskplane run`'s flags become a JobRun through the engine: every name reaches it, none is lost on the way. */
import { describe, expect, it } from 'vitest';
import { prepareRun } from '../../cli/run.js';
import { UsageError } from '../../cli/usage.js';
import { GROUP_VERSION, type JobConfigObject } from '../../engine/schema/resources.js';

const config: JobConfigObject = {
  apiVersion: GROUP_VERSION,
  kind: 'JobConfig',
  metadata: { name: 'backup', namespace: 'batch' },
  spec: {
    template: { taskTemplate: { pod: { spec: { containers: [{ name: 'c', image: 'registry.example.com/backup:1', args: ['${option.db}', '${option.full}'] }] } } } },
    concurrency: { policy: 'Allow' },
    options: [
      { name: 'db', type: 'Select', select: { values: ['orders', 'billing'], default: 'orders' } },
      { name: 'full', type: 'Bool', bool: { default: false, format: 'TrueFalse' } },
    ],
  },
};
const NOW = new Date('2026-03-01T10:00:00Z');

describe('taskplane run flags', () => {
  it('types option values from the config (Bool) and keeps them', () => {
    const run = prepareRun(config, { output: 'table', options: ['db=billing', 'full=TRUE'] }, NOW);
    expect(run.spec.substitutions).toMatchObject({ 'option.db': 'billing', 'option.full': 'true' });
  });

  it('a JavaScript-own name such as __proto__ is an unknown option the engine names, not silently dropped', () => {
    expect(() => prepareRun(config, { output: 'table', options: ['__proto__=x'] }, NOW)).toThrow(UsageError);
    expect(() => prepareRun(config, { output: 'table', options: ['__proto__=x'] }, NOW)).toThrow(/__proto__/);
    const run = prepareRun(config, { output: 'table', substitutions: ['__proto__=eu'] }, NOW);
    expect(Object.hasOwn(run.spec.substitutions, '__proto__')).toBe(true);
  });

  it('--no-cache is the run\'s skipCache; without it the run uses the cache', () => {
    expect(prepareRun(config, { output: 'table', skipCache: true }, NOW).spec.skipCache).toBe(true);
    expect(prepareRun(config, { output: 'table' }, NOW).spec).not.toHaveProperty('skipCache');
  });
});
