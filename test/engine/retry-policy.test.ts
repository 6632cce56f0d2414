/**
 * Backoff arithmetic, and the synth-time checks of retry rules and backoff (engine/retry/validate.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateJobConfig } from '../../engine/config.js';
import type { FieldError } from '../../engine/errors.js';
import { jitterFraction, retryDelayMillis } from '../../engine/retry/backoff.js';
import { validateRetryPolicy } from '../../engine/retry/validate.js';
import type { JobTemplate, RetryRuleSpec } from '../../engine/schema/template.js';
import { iso, makeRun, POD_TEMPLATE, RunSim, summarizePlan } from './run-sim.js';

describe('retry backoff arithmetic', () => {
  it.each<[string, Pick<JobTemplate, 'retryDelaySeconds' | 'retryBackoff'>, number[]]>([
    ['no backoff: every retry waits retryDelaySeconds (today\'s behaviour)', { retryDelaySeconds: 30 }, [30, 30, 30, 30]],
    ['no delay at all', {}, [0, 0, 0, 0]],
    ['factor 2', { retryDelaySeconds: 10, retryBackoff: { factor: 2 } }, [10, 20, 40, 80, 160, 320]],
    ['factor 2, capped at 100 s', { retryDelaySeconds: 10, retryBackoff: { factor: 2, maxDelaySeconds: 100 } }, [10, 20, 40, 80, 100, 100]],
    ['factor 1.5, fractions kept to the millisecond', { retryDelaySeconds: 10, retryBackoff: { factor: 1.5 } }, [10, 15, 22.5, 33.75, 50.625]],
    ['a cap alone only bounds retryDelaySeconds', { retryDelaySeconds: 10, retryBackoff: { maxDelaySeconds: 10 } }, [10, 10, 10]],
  ])('%s', (_name, template, seconds) => {
    expect(seconds.map((_, i) => retryDelayMillis(template, 'batch/nightly/0', i + 1))).toEqual(seconds.map((s) => s * 1000));
  });

  it('jitter shortens each delay by its fraction of a hash of run, index and attempt', () => {
    const template = { retryDelaySeconds: 100, retryBackoff: { factor: 2, maxDelaySeconds: 300, jitter: 0.5 } };
    // The fractions are fixed by their seeds: a change of hash or formula shows here.
    expect([1, 2, 3].map((retry) => jitterFraction(`batch/nightly/0/${retry}`))).toMatchSnapshot();
    expect([1, 2, 3].map((retry) => retryDelayMillis(template, 'batch/nightly/0', retry))).toEqual(
      [100, 200, 300].map((delay, i) => Math.round(delay * (1 - 0.5 * jitterFraction(`batch/nightly/0/${i + 1}`)) * 1000)),
    );
  });

  it('jittered delays stay within [(1 - jitter) × delay, delay] and never pass maxDelay (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3600 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 98 }),
        fc.string(),
        (delay, factor, jitter, retry, seed) => {
          const maxDelaySeconds = delay * 4;
          const exact = Math.min(delay * factor ** (retry - 1), maxDelaySeconds) * 1000;
          const jittered = retryDelayMillis({ retryDelaySeconds: delay, retryBackoff: { factor, maxDelaySeconds, jitter } }, seed, retry);
          expect(jittered).toBeLessThanOrEqual(Math.round(exact));
          expect(jittered).toBeGreaterThanOrEqual(Math.round(exact * (1 - jitter)) - 1);
          expect(retryDelayMillis({ retryDelaySeconds: delay, retryBackoff: { factor, maxDelaySeconds, jitter } }, seed, retry)).toBe(jittered);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('jitter spreads indexes: 1000 indexes retrying at once get more than 900 distinct delays', () => {
    const template = { retryDelaySeconds: 60, retryBackoff: { jitter: 0.5 } };
    const delays = new Set(Array.from({ length: 1000 }, (_, i) => retryDelayMillis(template, `batch/nightly/${i}`, 1)));
    expect(delays.size).toBeGreaterThan(900);
  });

  it('the planner waits the grown delays: retries 10 s, 20 s, 40 s after each finish', () => {
    const sim = new RunSim(makeRun({ template: { maxAttempts: 4, retryDelaySeconds: 10, retryBackoff: { factor: 2 } } }));
    sim.at(0).applyFirstAttempts().plan();
    const fail = (name: string, at: number) => {
      sim.at(at).running(name).finish(name, 'Failed', 'Error');
      return summarizePlan(sim.plan());
    };
    expect(fail('nightly-0-0', 5)).toMatchObject({ phase: 'RetryBackoff', requeueAt: 15 });
    expect(summarizePlan(sim.at(15).plan())).toMatchObject({ create: ['nightly-0-1'] });
    expect(fail('nightly-0-1', 20)).toMatchObject({ phase: 'RetryBackoff', requeueAt: 40 });
    expect(summarizePlan(sim.at(40).plan())).toMatchObject({ create: ['nightly-0-2'] });
    expect(fail('nightly-0-2', 50)).toMatchObject({ phase: 'RetryBackoff', requeueAt: 90 });
    expect(sim.events.filter((e) => e.reason === 'RetryScheduled').map((e) => e.message).at(-1)).toBe(`Index 0 retries (attempt 4 of 4) at ${iso(90)}`);
  });
});

const pod = (template: Partial<JobTemplate>): JobTemplate => ({ taskTemplate: POD_TEMPLATE, maxAttempts: 3, ...template });
const rule = (when: string, action: RetryRuleSpec['action'] = 'FailIndex', name?: string): RetryRuleSpec => ({ ...(name && { name }), when, action });
const brief = (errors: FieldError[]) => errors.map((e) => `${e.field}: ${e.message}${e.valid ? ` | ${e.valid}` : ''}`);

describe('retry rules: synth errors', () => {
  it.each<[string, JobTemplate, string[]]>([
    ['CEL that does not parse', pod({ retryRules: [rule('reason == ')] }), ['spec.template.retryRules[0].when: CEL does not compile: ']],
    ['an unknown variable, with did-you-mean', pod({ retryRules: [rule('exitCode == 42')] }), ['spec.template.retryRules[0].when: unknown variable "exitCode" (did you mean "exitCodes"?) | one of result, reason, message, exitCodes, containerExitCodes, durationSeconds, attempt, executor, taskResult']],
    ['a type error', pod({ retryRules: [rule('attempt > "2"')] }), ["spec.template.retryRules[0].when: CEL type error: found no matching overload for '_>_' applied to '(int, string)'"]],
    ['a type error behind a comparison (reached by a probe)', pod({ retryRules: [rule('reason == "OOMKilled" && durationSeconds + "s" == "1s"')] }), ["spec.template.retryRules[0].when: CEL type error: found no matching overload for '_+_' applied to '(double, string)'"]],
    ['an unknown function', pod({ retryRules: [rule('lower(reason) == "oomkilled"')] }), ['spec.template.retryRules[0].when: CEL type error: unbound function: lower']],
    ['not a bool', pod({ retryRules: [rule('reason')] }), ['spec.template.retryRules[0].when: must be true or false, not a string ("Error") | a condition, e.g. reason == "OOMKilled"']],
    ['a constant that never holds', pod({ retryRules: [rule('1 == 2')] }), ['spec.template.retryRules[0].when: never holds | a condition on the attempt, e.g. 42 in exitCodes']],
    ['a rule after a catch-all', pod({ retryRules: [rule('true', 'FailRun', 'all'), rule('reason == "OOMKilled"')] }), ['spec.template.retryRules[1].when: can never decide: all (true) before it always holds | rules before a catch-all rule']],
    ['a result that never comes', pod({ retryRules: [rule('result == "Succeeded"'), rule('result in ["Failed", "Error"]')] }), [
      'spec.template.retryRules[0].when: result is never "Succeeded" | one of Failed, Killed, Unknown',
      'spec.template.retryRules[1].when: result is never "Error" | one of Failed, Killed, Unknown',
    ]],
    ['an executor misspelt', pod({ retryRules: [rule('executor == "Pod"')] }), ['spec.template.retryRules[0].when: executor is never "Pod" | one of pod, job, workflow, customResource']],
    ['exit codes of a Job', { taskTemplate: { job: { spec: { template: { spec: { containers: [{ name: 'main', image: 'busybox' }] } } } } }, maxAttempts: 2, retryRules: [rule('42 in exitCodes')] }, [
      'spec.template.retryRules[0].when: exit codes are known for pod tasks only; a job task\'s are always empty | reason, message or taskResult',
    ]],
    ['taskResult of a custom resource without resultExpression', {
      taskTemplate: { customResource: { manifest: { apiVersion: 'tekton.dev/v1', kind: 'TaskRun' }, successCondition: 'true', failureCondition: 'false' } },
      retryRules: [rule('taskResult.retryable == false')],
    }, ['spec.template.retryRules[0].when: reads taskResult, which is always null: the customResource has no resultExpression | set resultExpression, or read reason and message']],
    ['Retry with maxAttempts 1', pod({ maxAttempts: 1, retryRules: [rule('reason == "Error"', 'Retry')] }), ['spec.template.retryRules[0].action: can never retry: maxAttempts is 1 | maxAttempts above 1, or FailIndex (what Retry does here), RetryNotCounted or FailRun']],
    ['RetryNotCounted with maxUncountedRetries 0', pod({ maxUncountedRetries: 0, retryRules: [rule('reason == "Evicted"', 'RetryNotCounted')] }), ['spec.template.retryRules[0].action: can never retry: maxUncountedRetries is 0 | maxUncountedRetries above 0, or Retry']],
    ['two rules with one name', pod({ retryRules: [rule('reason == "A"', 'FailIndex', 'x'), rule('reason == "B"', 'FailRun', 'x')] }), ['spec.template.retryRules[1].name: duplicate rule name, also used by retryRules[0] | a name unique among the rules']],
    ['backoff without a delay', pod({ retryBackoff: { factor: 2 } }), ['spec.template.retryBackoff: has no delay to grow: retryDelaySeconds is 0 | retryDelaySeconds above 0 (the first retry\'s delay)']],
    ['a cap below the delay', pod({ retryDelaySeconds: 60, retryBackoff: { factor: 2, maxDelaySeconds: 30 } }), ['spec.template.retryBackoff.maxDelaySeconds: is below retryDelaySeconds (60) | at least 60']],
  ])('%s', (_name, template, expected) => {
    const errors = brief(validateRetryPolicy(template, 'spec.template'));
    expect(errors.length).toBe(expected.length);
    errors.forEach((error, i) => expect(error.startsWith(expected[i]!), `${error}\n  should start with\n${expected[i]}`).toBe(true));
  });

  it('reports every problem at once, with the value, next to the config\'s other errors', () => {
    const spec = {
      template: pod({
        maxAttempts: 1,
        retryDelaySeconds: 0,
        retryBackoff: { jitter: 0.2 },
        retryRules: [rule('exitCode == 42', 'FailRun'), rule('reason == "Evicted"', 'Retry', 'evicted'), rule('attempt > "x"')],
      }),
      concurrency: { policy: 'Allow' as const, maxConcurrency: 2 },
    };
    const errors = validateJobConfig('nightly', spec);
    expect(errors.map((e) => [e.field, e.value])).toEqual([
      ['spec.template.retryRules[0].when', 'exitCode == 42'],
      ['spec.template.retryRules[1].action', 'Retry'],
      ['spec.template.retryRules[2].when', 'attempt > "x"'],
      ['spec.template.retryBackoff', { jitter: 0.2 }],
      ['spec.concurrency.maxConcurrency', 2],
    ]);
  });

  it('the schema bounds the fields; the rule checks then stay quiet instead of reading a bad shape', () => {
    const errors = validateJobConfig('nightly', {
      template: pod({ maxUncountedRetries: 50, retryBackoff: { factor: 0.5, jitter: 2 }, retryRules: [{ when: 'true', action: 'Skip' } as never] }),
      concurrency: { policy: 'Allow' },
    });
    expect(errors.map((e) => `${e.field}: ${e.message}`)).toEqual([
      'spec.template.retryBackoff.factor: must be >= 1',
      'spec.template.retryBackoff.jitter: must be <= 1',
      'spec.template.retryRules[0].action: is not supported',
      'spec.template.maxUncountedRetries: must be <= 49',
    ]);
  });

  it('valid rules and backoff: no error', () => {
    const template = pod({
      retryDelaySeconds: 10,
      retryBackoff: { factor: 2, maxDelaySeconds: 600, jitter: 0.1 },
      retryRules: [
        rule('result == "Killed" && reason in ["Evicted", "PreemptionByScheduler"]', 'RetryNotCounted', 'eviction'),
        rule('exitCodes.exists(c, c in [42, 43])', 'FailRun'),
        rule('"main" in containerExitCodes && containerExitCodes["main"] == 3'),
        rule('attempt >= 2 && durationSeconds < 5.5 && message.contains("quota")', 'Retry'),
        rule('taskResult.retryable == false'),
        rule('true', 'FailIndex', 'otherwise'),
      ],
    });
    expect(validateRetryPolicy(template, 'spec.template')).toEqual([]);
  });
});
