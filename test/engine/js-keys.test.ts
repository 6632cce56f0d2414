/**
 * Names that are JavaScript's own (`__proto__`, `constructor`, `toString`...) are names like any
 * other in the engine: as option names, substitution names, matrix keys and withKeys values they
 * validate, evaluate, substitute and render without being dropped or confused with Object.prototype.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateJobConfig } from '../../engine/config.js';
import { renderFirstAttempts } from '../../engine/render.js';
import { buildRun } from '../../engine/run-object.js';
import type { JobConfigSpec, OptionSpec } from '../../engine/schema/index.js';

const OWN_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'propertyIsEnumerable'];
/** Those that are also valid matrix keys (lowercase). */
const MATRIX_KEYS = ['__proto__', 'constructor', 'valueof', 'x'];

const entries = <T>(pairs: [string, T][]) => Object.fromEntries(pairs);

describe('JavaScript-own names in the engine', () => {
  it('work as option names, substitution names, withKeys values and matrix keys (property)', () => {
    fc.assert(
      fc.property(
        fc.subarray(OWN_NAMES, { minLength: 1 }),
        fc.subarray(OWN_NAMES, { minLength: 1 }),
        fc.oneof(fc.constant('keys' as const), fc.constant('matrix' as const)),
        fc.subarray(MATRIX_KEYS, { minLength: 1 }),
        fc.string({ unit: fc.constantFrom('a', 'b', '1', '-'), minLength: 1, maxLength: 5 }),
        (optionNames, variableNames, parallel, matrixKeys, value) => {
          const options: OptionSpec[] = optionNames.map((name) => ({ type: 'String', name, string: { default: '' } }));
          const args = [
            ...optionNames.map((name) => `\${option.${name}}`),
            ...variableNames.map((name) => `\${${name}}`),
            parallel === 'keys' ? '${task.index_key}' : matrixKeys.map((key) => `\${task.index_matrix.${key}}`).join('/'),
          ];
          const spec: JobConfigSpec = {
            concurrency: { policy: 'Allow' },
            options,
            template: {
              taskTemplate: { pod: { spec: { containers: [{ name: 'main', image: 'busybox', args }] } } },
              parallelism: parallel === 'keys' ? { withKeys: [...OWN_NAMES] } : { withMatrix: entries(matrixKeys.map((key) => [key, [`${key}-v`]])) },
            },
          };
          expect(validateJobConfig('nightly', spec)).toEqual([]);
          const { run, errors } = buildRun(
            { name: 'nightly', namespace: 'batch', spec },
            {
              name: 'nightly-r1',
              optionValues: entries(optionNames.map((name) => [name, `${name}=${value}`])),
              substitutions: entries(variableNames.map((name) => [name, `var-${name}`])),
            },
          );
          expect(errors).toEqual([]);
          for (const name of optionNames) expect(Object.hasOwn(run.spec.substitutions, `option.${name}`)).toBe(true);
          for (const name of variableNames) expect(Object.getOwnPropertyDescriptor(run.spec.substitutions, name)?.value).toBe(`var-${name}`);
          const rendered = renderFirstAttempts(run);
          expect(rendered.errors).toEqual([]);
          const indexTexts = parallel === 'keys' ? OWN_NAMES : [matrixKeys.map((key) => `${key}-v`).join('/')];
          expect(rendered.tasks.map((task) => (task.manifest.spec as any).containers[0].args)).toEqual(
            indexTexts.map((indexText) => [...optionNames.map((name) => `${name}=${value}`), ...variableNames.map((name) => `var-${name}`), indexText]),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('does not mistake Object.prototype members for variables, options or values', () => {
    const spec: JobConfigSpec = {
      concurrency: { policy: 'Allow' },
      template: { taskTemplate: { pod: { spec: { containers: [{ name: 'main', image: 'busybox', args: ['${toString}', '${constructor}', '${option.toString}'] }] } } } },
    };
    const { run, errors } = buildRun({ name: 'nightly', spec }, { name: 'nightly-r1', optionValues: entries([['toString', 'x']]) });
    expect(errors).toEqual([expect.objectContaining({ field: 'spec.optionValues.toString', message: 'unknown option "toString"' })]);
    expect(renderFirstAttempts(run).errors).toEqual([expect.objectContaining({ message: 'unknown variable ${option.toString}' })]);
  });
});
