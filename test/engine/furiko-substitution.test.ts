/**
 * Furiko and taskplane substitute differently (Furiko: four container fields, replace-all, unknown
 * variables become "", no escape; taskplane: every string, `$${` escapes). A pod-template string
 * translated by fromFurikoText / toFurikoText must render the same on the other side, or be an error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FieldError } from '../../engine/errors.js';
import { fromFurikoText, furikoSubstitutes, toFurikoText } from '../../engine/interop/furiko.js';
import { substituteString } from '../../engine/substitution.js';

const VALUES = { 'option.a': 'A', 'job.name': 'N' };

/** Furiko's SubstituteVariableMaps over one string: replace-all of each variable, then leftovers in its prefixes become "". */
function furikoRender(text: string, field: string): string {
  if (!furikoSubstitutes(field)) return text;
  let out = text;
  for (const [name, value] of Object.entries(VALUES)) out = out.split(`\${${name}}`).join(value);
  return out.replace(/\$\{(jobconfig|job|task|option)\.[^}]+\}/g, '');
}

function taskplaneRender(text: string): { text: string; errors: FieldError[] } {
  const errors: FieldError[] = [];
  return { text: substituteString(text, { values: VALUES }, 'x', errors), errors };
}

const SUBSTITUTED = 'spec.containers[0].args[1]';
const LITERAL = 'spec.containers[0].workingDir';
const pieces = fc.constantFrom('$', '$$', '{', '}', '${', '$${', 'option.a', 'job.name', 'task.x', 'HOME', ' ', 'x');
const texts = fc.array(pieces, { maxLength: 12 }).map((p) => p.join(''));
const RUNS = 3000;

describe('substitution across Furiko and taskplane', () => {
  it.each([
    [SUBSTITUTED, true],
    ['spec.initContainers[2].image', true],
    ['spec.containers[0].command[0]', true],
    ['spec.containers[1].env[3].value', true],
    [LITERAL, false],
    ['spec.containers[0].env[0].name', false],
    ['spec.containers[0].envFrom[0].prefix', false],
    ['spec.volumes[0].hostPath.path', false],
    ['metadata.labels.app', false],
  ])('Furiko substitutes %s: %s', (field, substituted) => {
    expect(furikoSubstitutes(field)).toBe(substituted);
  });

  it(`import: a Furiko string renders the same in taskplane, or is an error (${RUNS} strings per field kind)`, () => {
    for (const field of [SUBSTITUTED, LITERAL]) {
      let compared = 0;
      fc.assert(
        fc.property(texts, (text) => {
          const errors: FieldError[] = [];
          const translated = fromFurikoText(text, field, errors, 'f');
          const rendered = taskplaneRender(translated);
          // taskplane refuses what Furiko silently blanks (an unknown variable, an unclosed one): loud, not different.
          if (errors.length > 0 || rendered.errors.length > 0) return field === SUBSTITUTED;
          compared++;
          return rendered.text === furikoRender(text, field);
        }),
        { numRuns: RUNS },
      );
      // Not vacuous: most strings are compared, not refused.
      expect(compared).toBeGreaterThan(RUNS / 3);
    }
  });

  it(`export: a taskplane string renders the same in Furiko, or is an error (${RUNS} strings per field kind)`, () => {
    for (const field of [SUBSTITUTED, LITERAL]) {
      let compared = 0;
      fc.assert(
        fc.property(texts, (text) => {
          const rendered = taskplaneRender(text);
          if (rendered.errors.length > 0) return true; // synth already refuses it
          const errors: FieldError[] = [];
          const written = toFurikoText(text, field, errors, 'f');
          if (errors.length > 0) return true;
          compared++;
          return furikoRender(written, field) === rendered.text;
        }),
        { numRuns: RUNS },
      );
      expect(compared).toBeGreaterThan(RUNS / 3);
    }
  });

  it.each([
    ['a literal variable outside the four fields', LITERAL, '/data/${job.name}', '/data/$${job.name}'],
    ['a shell variable outside them', LITERAL, '${HOME}/x', '$${HOME}/x'],
    ['a variable in args', SUBSTITUTED, 'echo ${option.a}', 'echo ${option.a}'],
    ['a doubled $ before a shell variable in args', SUBSTITUTED, 'cost $${HOME}', 'cost $$${HOME}'],
  ])('import keeps %s', (_, field, furiko, taskplane) => {
    const errors: FieldError[] = [];
    expect(fromFurikoText(furiko, field, errors, 'f')).toBe(taskplane);
    expect(errors).toEqual([]);
    expect(toFurikoText(taskplane, field, errors, 'f')).toBe(furiko);
    expect(errors).toEqual([]);
  });
});
