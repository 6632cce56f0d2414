import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import {
  isRfc3339,
  jobConfigCrd,
  jobRunCrd,
  taskCacheEntryCrd,
  toStructuralSchema,
  validateJobConfigSpec,
  validateJobRunSpec,
  type CustomResourceDefinition,
} from '../../engine/schema/index.js';

type Node = Record<string, unknown>;

/** Every schema node of a CRD with its path: properties, items and additionalProperties. */
function nodes(schema: Node, path = '#'): [string, Node][] {
  const out: [string, Node][] = [[path, schema]];
  for (const [name, child] of Object.entries((schema.properties as Record<string, Node> | undefined) ?? {})) out.push(...nodes(child, `${path}.${name}`));
  if (schema.items) out.push(...nodes(schema.items as Node, `${path}[]`));
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') out.push(...nodes(schema.additionalProperties as Node, `${path}.*`));
  return out;
}

const openApi = (crd: CustomResourceDefinition) => crd.spec.versions[0]!.schema.openAPIV3Schema as Node;

/** The schema node a printer column's `.a.b` jsonPath points at. */
function nodeAt(schema: Node, jsonPath: string): Node | undefined {
  let node: Node | undefined = schema;
  for (const name of jsonPath.split('.').slice(1)) node = (node?.properties as Record<string, Node> | undefined)?.[name];
  return node;
}

const CRDS = [
  ['JobConfig', jobConfigCrd, 'jobconfigs'],
  ['JobRun', jobRunCrd, 'jobruns'],
  ['TaskCacheEntry', taskCacheEntryCrd, 'taskcacheentries'],
] as const;

describe('CRDs', () => {
  it.each(CRDS)('%s is a namespaced taskplane.dev/v1alpha1 CRD (JobConfig and JobRun with the status subresource)', (kind, make, plural) => {
    const crd = make();
    expect(crd.metadata.name).toBe(`${plural}.taskplane.dev`);
    expect(crd.spec).toMatchObject({ group: 'taskplane.dev', scope: 'Namespaced', names: { kind, plural, listKind: `${kind}List` } });
    expect(crd.spec.versions).toHaveLength(1);
    // A TaskCacheEntry is a record the watcher writes whole: no status, so no subresource.
    expect(crd.spec.versions[0]).toMatchObject({ name: 'v1alpha1', served: true, storage: true, ...(kind !== 'TaskCacheEntry' && { subresources: { status: {} } }) });
    if (kind === 'TaskCacheEntry') expect(crd.spec.versions[0]).not.toHaveProperty('subresources');
  });

  it.each(CRDS)('%s has a structural schema: every node typed, no unsupported keywords', (_, make) => {
    const all = nodes(openApi(make()));
    expect(all.length).toBeGreaterThan(make === taskCacheEntryCrd ? 8 : 50);
    for (const [path, node] of all) {
      expect(typeof node.type, path).toBe('string');
      // No `default` either: no server-side defaults, so the live object equals what Git holds.
      for (const keyword of ['anyOf', 'oneOf', 'allOf', 'not', 'const', '$ref', 'patternProperties', 'default', '$id']) {
        expect(node, `${path} has ${keyword}`).not.toHaveProperty(keyword);
      }
      expect(node.additionalProperties, path).not.toBe(false);
      if (node['x-kubernetes-preserve-unknown-fields']) expect(node.type, path).toBe('object');
      if (node.type === 'array') expect(node.items, path).toBeDefined();
      // TypeBox markers must not leak into the CRD.
      expect(Object.keys(node).filter((k) => k.startsWith('~')), path).toEqual([]);
    }
  });

  it('keeps the JobRun spec fields, maps, enums and required lists', () => {
    const spec = openApi(jobRunCrd()).properties as Record<string, Node>;
    const runSpec = spec.spec!;
    expect(runSpec.required).toEqual(expect.arrayContaining(['configName', 'substitutions', 'template']));
    expect(runSpec.properties).toHaveProperty('substitutions.additionalProperties', { type: 'string' });
    expect(runSpec.properties).toHaveProperty('type.enum', ['Adhoc', 'Scheduled']);
    expect(runSpec.properties).toHaveProperty('startAfter.format', 'date-time');
    expect(Object.keys(nodeAt(runSpec, '.template.taskTemplate')!.properties as object)).toEqual(['pod', 'job', 'workflow', 'customResource', 'http']);
    expect(nodeAt(runSpec, '.template.taskTemplate.pod.spec')).toMatchObject({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    expect(nodeAt(runSpec, '.template.maxAttempts')).toMatchObject({ type: 'integer', minimum: 1, maximum: 50 });
    expect(nodeAt(runSpec, '.template.parallelism.withMatrix')).toMatchObject({ type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } });
  });

  it('gives JobRun the Phase, Progress and Age printer columns, each pointing at a real field', () => {
    const crd = jobRunCrd();
    const columns = crd.spec.versions[0]!.additionalPrinterColumns;
    expect(columns).toEqual(
      expect.arrayContaining([
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Progress', type: 'string', jsonPath: '.status.progress' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ]),
    );
    for (const column of columns) {
      if (column.jsonPath.startsWith('.metadata.')) continue;
      expect(nodeAt(openApi(crd), column.jsonPath), column.jsonPath).toBeDefined();
    }
  });

  it('gives JobConfig State and Age printer columns, each pointing at a real field', () => {
    const crd = jobConfigCrd();
    const columns = crd.spec.versions[0]!.additionalPrinterColumns;
    expect(columns.map((c) => c.name)).toEqual(expect.arrayContaining(['State', 'Age']));
    for (const column of columns) {
      if (column.jsonPath.startsWith('.metadata.')) continue;
      expect(nodeAt(openApi(crd), column.jsonPath), column.jsonPath).toBeDefined();
    }
  });

  it('is deterministic', () => {
    expect(JSON.stringify(jobRunCrd())).toBe(JSON.stringify(jobRunCrd()));
    expect(JSON.stringify(jobConfigCrd())).toBe(JSON.stringify(jobConfigCrd()));
  });
});

describe('toStructuralSchema', () => {
  it('turns a string-keyed map into additionalProperties and drops additionalProperties: false and defaults', () => {
    const schema = Type.Object(
      { labels: Type.Record(Type.String(), Type.String()), replicas: Type.Integer({ default: 1, minimum: 0 }) },
      { additionalProperties: false },
    );
    expect(toStructuralSchema(schema)).toEqual({
      type: 'object',
      required: ['labels', 'replicas'],
      properties: { labels: { type: 'object', additionalProperties: { type: 'string' } }, replicas: { type: 'integer', minimum: 0 } },
    });
  });

  it.each([
    ['a union (anyOf)', Type.Object({ x: Type.Union([Type.String(), Type.Number()]) }), /^#\.x: schema keyword "anyOf" has no structural CRD equivalent$/],
    ['a literal (const)', Type.Object({ x: Type.Literal('a') }), /^#\.x: schema keyword "const"/],
    ['oneOf', { type: 'object', properties: { x: { type: 'string', oneOf: [] } } }, /^#\.x: schema keyword "oneOf"/],
    ['additionalProperties: true', { type: 'object', additionalProperties: true }, /^#: schema keyword "additionalProperties"/],
    ['a pattern-keyed map', { type: 'object', patternProperties: { '^a': { type: 'string' } } }, /^#: only string-keyed maps are supported$/],
    ['a node without a type', { type: 'object', properties: { x: { description: 'untyped' } } }, /^#\.x: every node of a structural schema needs a type$/],
    ['an untyped array item', { type: 'array', items: { minLength: 1 } }, /^#\[\]: every node of a structural schema needs a type$/],
  ])('throws on %s, naming the path', (_, schema, message) => {
    expect(() => toStructuralSchema(schema)).toThrow(message);
  });
});

const validRunSpec = () => ({
  configName: 'nightly',
  substitutions: { 'option.env': 'prod' },
  template: { taskTemplate: { pod: { spec: { containers: [{ name: 'main', image: 'busybox' }] } } }, maxAttempts: 3, parallelism: { withKeys: ['a'] } },
});

describe('validateJobRunSpec', () => {
  it('accepts a valid spec', () => {
    expect(validateJobRunSpec(validRunSpec())).toEqual([]);
    expect(validateJobRunSpec({ ...validRunSpec(), type: 'Scheduled', materialization: 'Deferred', startAfter: '2026-11-21T10:00:00Z', killTimestamp: '2024-02-29T23:59:59.999+05:30' })).toEqual([]);
  });

  it('reports every problem at once, each with its path', () => {
    const spec = {
      ...validRunSpec(),
      bogus: true,
      type: 'Nope',
      startAfter: 'tomorrow',
      template: { ...validRunSpec().template, maxAttempts: 0, retryDelay: 5 },
    };
    expect(validateJobRunSpec(spec)).toEqual(
      expect.arrayContaining([
        { field: 'spec.bogus', message: 'is not a known field' },
        { field: 'spec.template.retryDelay', message: 'is not a known field' },
        { field: 'spec.type', message: 'is not supported', value: 'Nope', valid: 'one of Adhoc, Scheduled' },
        { field: 'spec.template.maxAttempts', message: 'must be >= 1', value: 0 },
        expect.objectContaining({ field: 'spec.startAfter', value: 'tomorrow' }),
      ]),
    );
    expect(validateJobRunSpec(spec)).toHaveLength(5);
  });

  it.each([
    [0, 'must be >= 1'],
    [51, 'must be <= 50'],
  ])('rejects maxAttempts %i: %s', (maxAttempts, message) => {
    expect(validateJobRunSpec({ ...validRunSpec(), template: { ...validRunSpec().template, maxAttempts } })).toEqual([{ field: 'spec.template.maxAttempts', message, value: maxAttempts }]);
  });

  it('names the allowed values of an enum', () => {
    const errors = validateJobRunSpec({ ...validRunSpec(), materialization: 'Lazy' });
    expect(errors).toEqual([{ field: 'spec.materialization', message: 'is not supported', value: 'Lazy', valid: 'one of Rendered, Deferred' }]);
  });

  it.each([
    'tomorrow',
    '2026-11-21',
    '2026-11-21T10:00:00',
    '2026-11-21T10:00Z',
    '2026-02-30T10:00:00Z',
    '2025-02-29T10:00:00Z',
    '2026-13-01T10:00:00Z',
    '2026-11-21T24:00:00Z',
    '2026-11-21T10:60:00Z',
    '2026-11-21T10:00:00+25:00',
  ])('rejects the timestamp %j', (startAfter) => {
    expect(validateJobRunSpec({ ...validRunSpec(), startAfter })).toEqual([expect.objectContaining({ field: 'spec.startAfter', value: startAfter })]);
  });

  it.each(['2026-11-21T10:00:00Z', '2026-11-21T10:00:00.123456Z', '2026-11-21T10:00:00-07:00', '2024-02-29T00:00:00Z', '2000-02-29T00:00:00Z'])('accepts the timestamp %j', (text) => {
    expect(isRfc3339(text)).toBe(true);
    expect(validateJobRunSpec({ ...validRunSpec(), killTimestamp: text })).toEqual([]);
  });

  it('reports missing required fields', () => {
    expect(validateJobRunSpec({ substitutions: {}, template: validRunSpec().template })).toEqual([{ field: 'spec.configName', message: 'is required' }]);
  });

  it('writes array indexes in brackets and unescapes JSON pointer keys', () => {
    const errors = validateJobRunSpec({ ...validRunSpec(), substitutions: { 'example.com/x': 1 }, template: { ...validRunSpec().template, parallelism: { withKeys: ['a', ''] } } });
    expect(errors.map((e) => e.field).sort()).toEqual(['spec.substitutions.example.com/x', 'spec.template.parallelism.withKeys[1]']);
  });

  it('rejects a misspelt executor field', () => {
    const spec = { ...validRunSpec(), template: { taskTemplate: { pod: { spce: {} } } } };
    expect(validateJobRunSpec(spec)).toEqual(
      expect.arrayContaining([
        { field: 'spec.template.taskTemplate.pod.spec', message: 'is required' },
        { field: 'spec.template.taskTemplate.pod.spce', message: 'is not a known field' },
      ]),
    );
  });
});

describe('validateJobConfigSpec', () => {
  it('validates the concurrency policy and option names', () => {
    const errors = validateJobConfigSpec({
      template: validRunSpec().template,
      concurrency: { policy: 'Sometimes' },
      options: [{ type: 'String', name: 'bad name' }],
    });
    expect(errors).toEqual([
      { field: 'spec.concurrency.policy', message: 'is not supported', value: 'Sometimes', valid: 'one of Allow, Forbid, Enqueue' },
      { field: 'spec.options[0].name', message: 'has characters that are not allowed', value: 'bad name', valid: 'matching ^[a-zA-Z0-9_.-]+$' },
    ]);
  });
});
