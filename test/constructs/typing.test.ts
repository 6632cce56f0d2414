/**
 * Option values are typed from the options' definitions. The `@ts-expect-error` lines are checked by
 * `tsc` (part of `npm test`): if one of them stopped being an error, the type check would fail.
 */
import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { JobConfig, Option, TaskTemplate } from '../../constructs/index.js';

function typedConfig() {
  return new JobConfig(new Chart(Testing.app(), 'jobs'), 'typed', {
    options: {
      env: Option.select({ values: ['dev', 'prod'], default: 'dev' }),
      region: Option.selectOrCustom({ values: ['eu', 'us'] }),
      ticket: Option.string({ required: true }),
      note: Option.string({ required: true, default: 'none' }),
      dryRun: Option.bool({ default: false }),
      tags: Option.multi({ values: ['a', 'b'], delimiter: ',' }),
      labels: Option.multiOrCustom({ values: ['a', 'b'], delimiter: ',' }),
      at: Option.date(),
    },
    task: TaskTemplate.pod({ spec: { containers: [{ name: 'main', image: 'busybox' }] } }),
  });
}

describe('typed option values in config.run()', () => {
  it('accepts values of the declared types', () => {
    const config = typedConfig();
    const run = config.run('ok', {
      options: { env: 'prod', region: 'ap-south', ticket: 'T-1', dryRun: true, tags: ['a'], labels: ['b', 'custom'], at: new Date('2026-01-01T00:00:00Z') },
    });
    expect(run.object.spec.substitutions).toMatchObject({
      'option.env': 'prod',
      'option.region': 'ap-south',
      'option.note': 'none',
      'option.labels': 'b,custom',
      'option.at': '2026-01-01T00:00:00+00:00',
    });
  });

  it('rejects at compile time what synth would reject', () => {
    const config = typedConfig();
    // @ts-expect-error a Select's values are a union type
    config.run('a', { options: { ticket: 'T', env: 'staging' } });
    // @ts-expect-error an unknown option name
    config.run('b', { options: { ticket: 'T', enviroment: 'prod' } });
    // @ts-expect-error a Bool option takes a boolean
    config.run('c', { options: { ticket: 'T', dryRun: 'yes' } });
    // @ts-expect-error a Multi option takes its values
    config.run('d', { options: { ticket: 'T', tags: ['c'] } });
    // @ts-expect-error a Multi option with custom values still takes strings
    config.run('d2', { options: { ticket: 'T', labels: [1] } });
    // @ts-expect-error `ticket` is required and has no default
    config.run('e', { options: {} });
    // @ts-expect-error ...so `options` itself is required
    config.run('f', {});
    // A required option with a default needs no value.
    config.run('g', { options: { ticket: 'T' } });
    expect(config.node.children.map((c) => c.node.id)).toEqual(['Resource', 'a', 'b', 'c', 'd', 'd2', 'e', 'f', 'g']);
  });

  it('makes `options` optional when no option needs a value', () => {
    const config = new JobConfig(new Chart(Testing.app(), 'jobs'), 'plain', {
      options: { env: Option.select({ values: ['dev', 'prod'], default: 'dev' }) },
      task: TaskTemplate.pod({ spec: { containers: [{ name: 'main', image: 'busybox' }] } }),
    });
    expect(config.run('r', {}).object.spec.substitutions['option.env']).toBe('dev');
  });
});
