import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { FieldError } from '../../engine/errors.js';
import { substitute, substituteString, type VariableScope } from '../../engine/substitution.js';
import { deepFreeze } from './helpers.js';

const UID_REASON = 'the UID exists only once the object is in the cluster';

const scope: VariableScope = {
  values: {
    'option.env': 'prod',
    'option.typo': 'x',
    'option.evil': '${task.name}',
    'option.escaped': '$${task.name}',
    'option.self': '${option.self}',
    'option.uid': '${job.uid}',
    'job.name': 'nightly',
    'task.name': 'nightly-0-0',
    'task.index_num': '0',
    'task.retry_index': '0',
    greeting: 'hello',
  },
  unavailable: { 'job.uid': UID_REASON },
};

function sub(text: string, field = 'f'): { out: string; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const out = substituteString(text, scope, field, errors);
  return { out, errors };
}

describe('substituteString', () => {
  it.each([
    ['plain text', 'plain text'],
    ['${option.env}', 'prod'],
    ['db-${option.env}-${task.index_num}', 'db-prod-0'],
    ['${option.env}${option.env}', 'prodprod'],
    ['${job.name}/${task.name}#${task.retry_index}', 'nightly/nightly-0-0#0'],
    ['${greeting}, world', 'hello, world'],
  ])('substitutes %j → %j', (input, expected) => {
    expect(sub(input)).toEqual({ out: expected, errors: [] });
  });

  it.each([
    ['$${option.env}', '${option.env}'],
    ['$${option.tpyo}', '${option.tpyo}'],
    ['$${HOME}', '${HOME}'],
    ['echo $${task.name} is ${task.name}', 'echo ${task.name} is nightly-0-0'],
    ['$${', '${'],
  ])('renders $${ as a literal ${: %j → %j, without errors', (input, expected) => {
    expect(sub(input)).toEqual({ out: expected, errors: [] });
  });

  it.each([
    ['${HOME}'],
    ['${job}'],
    ['${task}'],
    ['${jobconfig}'],
    ['${}'],
    ['${Option.env}'],
    ['$(VAR)'],
    ['$(option.env)'],
    ['$VAR and $option.env'],
    ['cost: $$5'],
    ['$'],
    ['${'],
    ['{option.env}'],
  ])('leaves %j untouched', (input) => {
    expect(sub(input)).toEqual({ out: input, errors: [] });
  });

  it.each([
    ['option.evil', '${task.name}'],
    ['option.escaped', '$${task.name}'],
    ['option.self', '${option.self}'],
  ])('is single pass: the value of ${%s} stays literal (%j)', (name, value) => {
    expect(sub(`[\${${name}}]`)).toEqual({ out: `[${value}]`, errors: [] });
  });

  it('does not report variables that only appear inside substituted values', () => {
    // option.uid's value names the unavailable ${job.uid}; it is text, not a variable.
    expect(sub('${option.uid}')).toEqual({ out: '${job.uid}', errors: [] });
  });

  it('reports an unknown reserved name with the field and a did-you-mean', () => {
    const { errors } = sub('run ${option.tpyo}', 'spec.containers[0].args[1]');
    expect(errors).toEqual([
      {
        field: 'spec.containers[0].args[1]',
        message: 'unknown variable ${option.tpyo}',
        value: '${option.tpyo}',
        valid: 'did you mean ${option.typo}?',
      },
    ]);
  });

  it('suggests only names of the same namespace', () => {
    const { errors } = sub('${task.nmae}');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.valid).toBe('did you mean ${task.name}?');
  });

  it('lists the namespace when nothing is close', () => {
    const { errors } = sub('${task.foo}');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toBe('unknown variable ${task.foo}');
    expect(errors[0]!.valid).toBe('one of ${task.name}, ${task.index_num}, ${task.retry_index}');
  });

  it('says when a namespace has no variables at all', () => {
    const { errors } = sub('${jobconfig.nme}');
    expect(errors[0]!.valid).toBe('no jobconfig.* variables are defined');
  });

  it('reports an unavailable name with its reason, not as unknown', () => {
    const { out, errors } = sub('uid=${job.uid}', 'spec.env');
    expect(errors).toEqual([{ field: 'spec.env', message: `\${job.uid} is not available here: ${UID_REASON}`, value: '${job.uid}' }]);
    expect(out).toBe('uid=${job.uid}');
  });

  it.each([
    ['${OUT_DIR:-${option.env}}', '${OUT_DIR:-prod}'],
    ['${${option.env}}', '${prod}'],
    ['${A:-${B:-${task.index_num}}}', '${A:-${B:-0}}'],
    ['${HOME}/${X:-${greeting}}', '${HOME}/${X:-hello}'],
    ['${A:-$${option.env}}', '${A:-${option.env}}'],
    ['${unclosed ${option.env}', '${unclosed prod'],
  ])('substitutes the innermost ${...} of nested braces: %j → %j', (input, expected) => {
    expect(sub(input)).toEqual({ out: expected, errors: [] });
  });

  it.each([
    ['${option.env', 'a taskplane variable is not closed with "}"', '${option.env'],
    ['tail ${task.name', 'a taskplane variable is not closed with "}"', '${task.name'],
    ['${option.env ${HOME}}', 'a taskplane variable is not closed with "}"', '${option.env '],
    ['${ option.env }', 'a taskplane variable cannot have spaces inside its braces', '${ option.env }'],
    ['${option.env:-dev}', 'unknown variable ${option.env:-dev}', '${option.env:-dev}'],
    ['${X:-${option.nope}}', 'unknown variable ${option.nope}', '${option.nope}'],
  ])('never leaves a taskplane variable behind silently: %j', (input, message, value) => {
    const { out, errors } = sub(input);
    expect(errors).toEqual([expect.objectContaining({ field: 'f', message, value })]);
    expect(out).toBe(input);
  });

  it('never leaves a taskplane variable unsubstituted without an error, however braces nest (property)', () => {
    // Fragments that make nested, unclosed and spaced braces; values hold no `$`, `{` or `}`.
    const fragment = fc.constantFrom('${', '}', '$', ' ', ':-', 'X', 'option.env', 'option.nope', 'task.name', 'job.uid', 'HOME', '${option.env}', '${task.index_num}');
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        fc.pre(!text.includes('$${'));
        const { out, errors } = sub(text);
        if (errors.length === 0) expect(out).not.toMatch(/\$\{\s*(option|job|jobconfig|task)\./);
      }),
      { numRuns: 3000 },
    );
  });

  it('reports every bad variable of a string, in order', () => {
    const { errors } = sub('${task.nmae} ${option.tpyo} ${job.uid}');
    expect(errors.map((e) => e.value)).toEqual(['${task.nmae}', '${option.tpyo}', '${job.uid}']);
  });
});

describe('substitute', () => {
  const template = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      labels: { env: '${option.env}', 'keep-${option.env}': 'k' },
      annotations: { 'note/${task.name}': 'task ${task.name}' },
    },
    spec: {
      containers: [{ name: 'main', image: 'img:${option.env}', args: ['a', ['${task.index_num}', '${job.name}']], env: [{ name: 'X', value: '$${option.env}' }] }],
      replicas: 3,
      enabled: true,
      nothing: null,
    },
  };

  it('substitutes every string value, including metadata and nested arrays, and never a key', () => {
    const { value, errors } = substitute(template, scope, 'spec.template.taskTemplate.pod');
    expect(errors).toEqual([]);
    expect(value).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        labels: { env: 'prod', 'keep-${option.env}': 'k' },
        annotations: { 'note/${task.name}': 'task nightly-0-0' },
      },
      spec: {
        containers: [{ name: 'main', image: 'img:prod', args: ['a', ['0', 'nightly']], env: [{ name: 'X', value: '${option.env}' }] }],
        replicas: 3,
        enabled: true,
        nothing: null,
      },
    });
  });

  it('does not mutate its input (which may be frozen)', () => {
    const input = deepFreeze(structuredClone(template));
    const before = structuredClone(input);
    const { value } = substitute(input, scope, 'x');
    expect(input).toEqual(before);
    expect(value).not.toBe(input);
    expect(value.spec.containers[0]).not.toBe(input.spec.containers[0]);
  });

  it('names each error by its full path', () => {
    const input = { spec: { containers: [{ args: ['ok', '${task.nmae}'] }], metadata: { labels: { team: '${option.tpyo}' } } } };
    const { errors } = substitute(input, scope, 'spec.template.taskTemplate.pod');
    expect(errors.map((e) => e.field)).toEqual([
      'spec.template.taskTemplate.pod.spec.containers[0].args[1]',
      'spec.template.taskTemplate.pod.spec.metadata.labels.team',
    ]);
  });

  it('keeps a "__proto__" key as an ordinary key', () => {
    const input = JSON.parse('{"__proto__": {"a": "${option.env}"}, "b": "x"}') as Record<string, unknown>;
    const { value } = substitute(input, scope, 'x');
    expect(Object.keys(value)).toEqual(['__proto__', 'b']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toEqual({ a: 'prod' });
  });
});

describe('substitution cannot change structure (property)', () => {
  const HOSTILE = [
    '',
    'a\nb',
    'line1\n---\nkind: Secret',
    '---',
    '...',
    '--- !!binary',
    'key: value',
    '{}',
    '[]',
    '{a: 1}',
    '"double" \'single\'',
    '${task.name}',
    '$${option.v}',
    '  leading and trailing  ',
    '# comment',
    '&anchor *alias',
    '!!str tag',
    '|\n  block',
    '- item',
    'null',
    'true',
    '0x1F',
    '1e3',
    '\t\r\n\u0000\u2028',
  ];
  const hasLoneSurrogate = (s: string) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
  const hostile = fc.oneof(
    fc.constantFrom(...HOSTILE),
    fc.string({ unit: 'binary' }).filter((s) => !hasLoneSurrogate(s)),
    fc.array(fc.constantFrom(...HOSTILE, 'x', ' ', ':', '\n'), { maxLength: 6 }).map((parts) => parts.join('')),
  );

  const templateWith = (leaf: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { labels: { env: leaf }, annotations: { note: `before ${leaf} after` } },
    spec: { containers: [{ name: 'main', command: ['sh', '-c', leaf], env: [{ name: 'V', value: leaf }] }], nested: [[leaf], { deep: leaf }] },
  });

  function shape(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(shape);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
    return typeof value;
  }

  it('keeps the key set and array lengths after YAML round trip; the value lands verbatim in its leaf', () => {
    fc.assert(
      fc.property(hostile, (v) => {
        const valueScope: VariableScope = { values: { 'option.v': v } };
        const { value, errors } = substitute(templateWith('${option.v}'), valueScope, 'x');
        expect(errors).toEqual([]);
        const roundTripped = parse(stringify(value)) as unknown;
        expect(shape(roundTripped)).toEqual(shape(templateWith('x')));
        expect(roundTripped).toEqual(templateWith(v));
        const leaves = roundTripped as ReturnType<typeof templateWith>;
        expect(leaves.spec.containers[0]!.command[2]).toBe(v);
        expect(leaves.metadata.annotations.note).toBe('before ' + v + ' after');
      }),
      { numRuns: 300 },
    );
  });

  it('puts any value in exactly once, however it is built from $, {, } and names', () => {
    const tricky = fc.string({ unit: fc.constantFrom('$', '{', '}', '$${', '${', '${task.name}', '${option.v}', '${job.uid}', 'task.', 'a') });
    fc.assert(
      fc.property(tricky, (v) => {
        const errors: FieldError[] = [];
        const valueScope: VariableScope = { values: { 'option.v': v, 'task.name': 'T' }, unavailable: { 'job.uid': 'no' } };
        expect(substituteString('<${option.v}>', valueScope, 'x', errors)).toBe('<' + v + '>');
        expect(errors).toEqual([]);
      }),
    );
  });

  it('returns text without variables unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }).filter((s) => !s.includes('$')), (text) => {
        const errors: FieldError[] = [];
        expect(substituteString(text, scope, 'x', errors)).toBe(text);
        expect(errors).toEqual([]);
      }),
    );
  });
});
