/**
 * Every string taskplane writes reads back as the same string under YAML 1.1 (cdk8s, kubectl,
 * Argo CD: sigs.k8s.io/yaml) and YAML 1.2 (Flux, kustomize: go-yaml v3), as values and as keys.
 */
import { Chart, Yaml } from 'cdk8s';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { misreadStrings, stringifyDocuments } from '../../constructs/_yaml.js';
import { JobConfig, Option, TaskplaneApp, TaskTemplate } from '../../constructs/index.js';
import { synthToTree, tempOutdir } from '../_synth.js';

const read = (text: string, version: '1.1' | '1.2') => parseAllDocuments(text, { version }).map((d) => d.toJS());

/** Strings some YAML reader resolves to another type, in every notation the two versions know. */
const scalarLike = (): fc.Arbitrary<string> => {
  const n = fc.integer({ min: 0, max: 99_999 });
  const sign = fc.constantFrom('', '+', '-');
  return fc.oneof(
    fc.constantFrom(
      'y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'No', 'NO', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE',
      'on', 'On', 'ON', 'off', 'Off', 'OFF', 'null', 'Null', 'NULL', '~', '', '.inf', '-.Inf', '+.INF', '.nan', '.NaN', '.NAN',
      '<<', '=', '0', '-0', '00', '0.', '.0', '1e3', '1E3', '1e+3', '1.5e-3', '.5e3', '1_000', '0x_1F', '0b1_0', '1:20', '190:20:30', '1:20.5',
      '2001-12-14', '2001-12-14t21:59:43.10-05:00', '2001-12-14 21:59:43.10 -5', '2001-1-1', '0o17', '0O17', '0o8', '0777', '0789',
    ),
    fc.tuple(sign, n).map(([s, v]) => `${s}${v}`),
    fc.tuple(sign, n).map(([s, v]) => `${s}0${v.toString(8)}`),
    fc.tuple(sign, n).map(([s, v]) => `${s}0o${v.toString(8)}`),
    fc.tuple(sign, n).map(([s, v]) => `${s}0x${v.toString(16)}`),
    fc.tuple(sign, n).map(([s, v]) => `${s}0b${v.toString(2)}`),
    fc.tuple(sign, n, n).map(([s, a, b]) => `${s}${a}.${b}`),
    fc.tuple(sign, n, fc.integer({ min: -40, max: 40 })).map(([s, a, e]) => `${s}${a}e${e}`),
    fc.tuple(n, fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 })).map(([h, m, s]) => `${h}:${m}:${String(s).padStart(2, '0')}`),
    fc.date({ noInvalidDate: true, min: new Date('0001-01-01'), max: new Date('9999-12-31') }).map((d) => d.toISOString().slice(0, 10)),
    fc.date({ noInvalidDate: true, min: new Date('0001-01-01'), max: new Date('9999-12-31') }).map((d) => d.toISOString()),
    fc.string(),
  );
};

describe('stringifyDocuments', () => {
  it('writes strings that read back unchanged under YAML 1.1 and 1.2, as values, list items and keys (property)', () => {
    fc.assert(
      fc.property(scalarLike(), scalarLike(), (value, key) => {
        const document = { metadata: { labels: { [key]: value } }, args: [value], value };
        const text = stringifyDocuments([document, { second: value }]);
        expect(read(text, '1.2')).toEqual([document, { second: value }]);
        expect(read(text, '1.1')).toEqual([document, { second: value }]);
      }),
      { numRuns: 1000 },
    );
  });

  it('writes what cdk8s writes when no string is ambiguous', () => {
    const document = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', labels: { b: 'c' } }, spec: { containers: [{ name: 'main', image: 'busybox:1.36', args: ['echo', 'a long line '.repeat(20), 'multi\nline'] }], n: 3, t: true, none: null } };
    expect(stringifyDocuments([document, document])).toBe(Yaml.stringify(document, document));
  });
});

describe('misreadStrings: what a plain cdk8s App cannot write faithfully', () => {
  it("flags exactly the strings and keys cdk8s's writer gets wrong for a YAML 1.1 or 1.2 reader (property)", () => {
    fc.assert(
      fc.property(scalarLike(), (text) => {
        const readsBack = (document: object, version: '1.1' | '1.2') => {
          try {
            return JSON.stringify(read(Yaml.stringify(document), version)[0]) === JSON.stringify(document);
          } catch {
            return false; // a `<<` key: YAML 1.1 readers take it for a merge and fail
          }
        };
        const roundTrips = (document: object) => readsBack(document, '1.1') && readsBack(document, '1.2');
        expect(misreadStrings({ value: text }, 'spec').length > 0).toBe(!roundTrips({ value: text }));
        expect(misreadStrings({ [text]: 'v' }, 'spec').length > 0).toBe(!roundTrips({ [text]: 'v' }));
      }),
      { numRuns: 1000 },
    );
  });

  it('names the field of every such string', () => {
    expect(misreadStrings({ args: ['ok', '0o17'], nodeSelector: { '<<': 'x' } }, 'spec').map((e) => e.field)).toEqual(['spec.args[1]', 'spec.nodeSelector["<<"]']);
  });
});

describe('TaskplaneApp output', () => {
  it('keeps option values, substitutions, args, env and annotations the same strings under both YAML versions', () => {
    const values = fc.sample(scalarLike(), { numRuns: 150, seed: 10 });
    const app = new TaskplaneApp({ outdir: tempOutdir() });
    const chart = new Chart(app, 'jobs', { namespace: 'batch' });
    const config = new JobConfig(chart, 'echo', {
      options: { value: Option.string() },
      task: TaskTemplate.pod({
        metadata: { annotations: { 'example.com/value': '${option.value}' } },
        spec: { containers: [{ name: 'main', image: 'busybox', args: ['${option.value}'], env: [{ name: 'VALUE', value: '${option.value}' }] }] },
      }),
    });
    values.forEach((value, i) => config.run(`r${i}`, { options: { value }, substitutions: { value } }));
    const tree = synthToTree(app);
    values.forEach((value, i) => {
      const text = tree.get(`jobs/echo/runs/echo-r${i}.k8s.yaml`)!;
      for (const version of ['1.1', '1.2'] as const) {
        const [run, pod] = read(text, version);
        expect([run.spec.substitutions['option.value'], run.spec.substitutions.value], version).toEqual([value, value]);
        expect([pod.spec.containers[0].args[0], pod.spec.containers[0].env[0].value, pod.metadata.annotations['example.com/value']], version).toEqual([value, value, value]);
      }
    });
  });
});
