/**
 * RetryRule factories: the CEL they write, that it holds on the attempts it names and only on them,
 * and that bad rules stop synth with the construct path, every problem at once, nothing written.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Chart, Duration } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { JobConfig, RetryRule, TaskplaneApp, TaskTemplate, type RetryCondition } from '../../constructs/index.js';
import { firstMatchingRule, type AttemptObservation } from '../../engine/retry/rules.js';
import { validateRetryPolicy } from '../../engine/retry/validate.js';
import { readTree, tempOutdir } from '../_synth.js';

const failed = (extra: Partial<AttemptObservation>): AttemptObservation => ({ result: 'Failed', durationSeconds: 10, attempt: 1, executor: 'pod', ...extra });
const killed = (reason: string) => failed({ result: 'Killed', reason, exitCodes: { main: 137 } });

describe('RetryRule factories', () => {
  it.each<[string, RetryCondition, AttemptObservation[], AttemptObservation[]]>([
    ['onExitCodes([42, 43])', RetryRule.onExitCodes([42, 43]), [failed({ exitCodes: { main: 42 } }), failed({ exitCodes: { init: 0, main: 1, side: 43 } })], [failed({ exitCodes: { main: 1 } }), failed({})]],
    ['onExitCodes([3], { container: "main" })', RetryRule.onExitCodes([3], { container: 'main' }), [failed({ exitCodes: { main: 3, side: 1 } })], [failed({ exitCodes: { main: 1, side: 3 } }), failed({})]],
    ['onExitCodes([1], { notIn: true }): another non-zero code', RetryRule.onExitCodes([1], { notIn: true }), [failed({ exitCodes: { main: 2 } })], [failed({ exitCodes: { main: 1, side: 0 } }), failed({})]],
    ['onOOMKilled()', RetryRule.onOOMKilled(), [failed({ reason: 'OOMKilled', exitCodes: { main: 137 } })], [failed({ reason: 'Error', exitCodes: { main: 137 } })]],
    ['onEviction()', RetryRule.onEviction(), ['Evicted', 'EvictionByEvictionAPI', 'PreemptionByScheduler', 'DeletionByTaintManager', 'DeletionByPodGC', 'TerminationByKubelet', 'Terminated'].map(killed), [failed({ reason: 'Evicted' }), killed('TaskTimeout'), killed('DeadlineExceeded')]],
    ['onTimeout()', RetryRule.onTimeout(), [killed('TaskTimeout'), killed('PendingTimeout')], [killed('DeadlineExceeded')]],
    ['when(...)', RetryRule.when('attempt >= 2 && taskResult.code == 7'), [failed({ attempt: 2, taskResult: { code: 7 } })], [failed({ attempt: 1, taskResult: { code: 7 } }), failed({ attempt: 2 })]],
  ])('%s holds on what it names, and only there', (_name, condition, holds, not) => {
    const spec = condition.failIndex()._toSpec();
    expect(validateRetryPolicy({ taskTemplate: { pod: { spec: { containers: [] } } }, retryRules: [spec] }, 'spec.template')).toEqual([]);
    for (const attempt of holds) expect(firstMatchingRule([spec], attempt), JSON.stringify(attempt)).toBeDefined();
    for (const attempt of not) expect(firstMatchingRule([spec], attempt), JSON.stringify(attempt)).toBeUndefined();
  });

  it('names and actions', () => {
    expect(
      [
        RetryRule.onExitCodes([42]).failRun(),
        RetryRule.onExitCodes([1, 2], { container: 'main', notIn: true }).retry(),
        RetryRule.onEviction().retryNotCounted(),
        RetryRule.onOOMKilled().named('oom').failIndex(),
        RetryRule.when('reason == "Error"').retry(),
        RetryRule.when('reason == "Error"').named('errors').retry(),
      ].map((rule) => [rule._toSpec().name, rule._toSpec().action]),
    ).toEqual([
      ['exit-codes-42', 'FailRun'],
      ['exit-codes-not-1-2-main', 'Retry'],
      ['eviction', 'RetryNotCounted'],
      ['oom', 'FailIndex'],
      [undefined, 'Retry'],
      ['errors', 'Retry'],
    ]);
  });
});

describe('bad retry rules stop synth', () => {
  it('lists every problem with its construct path, field and value, and writes nothing', () => {
    const outdir = tempOutdir();
    mkdirSync(join(outdir, 'jobs'), { recursive: true });
    writeFileSync(join(outdir, 'jobs', 'previous.k8s.yaml'), 'kind: Previous\n');
    const app = new TaskplaneApp({ outdir });
    const chart = new Chart(app, 'jobs', { namespace: 'batch' });
    new JobConfig(chart, 'nightly', {
      task: TaskTemplate.job({ spec: { template: { spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } } } }),
      maxAttempts: 1,
      retryBackoff: { factor: 2, maxDelay: Duration.minutes(5) },
      retryRules: [
        RetryRule.onExitCodes([0, 300]).failRun(),
        RetryRule.when('reason == "Evicted"').retry(),
        RetryRule.when('resul == "Killed"').failIndex(),
      ],
    });
    let message = '';
    try {
      app.synth();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split('\n').map((line) => line.trim()).filter((line) => line.includes('retry'))).toEqual([
      '[jobs/nightly] spec.template.retryRules[0].when: exit code 0 is a success and is never looked at (got 0); valid: codes from 1 to 255',
      '[jobs/nightly] spec.template.retryRules[0].when: exit codes are integers from 0 to 255 (got 300)',
      '[jobs/nightly] spec.template.retryRules[0].when: exit codes are known for pod tasks only; a job task\'s are always empty (got "exitCodes.exists(code, code in [0, 300])"); valid: reason, message or taskResult',
      '[jobs/nightly] spec.template.retryRules[1].action: can never retry: maxAttempts is 1 (got "Retry"); valid: maxAttempts above 1, or FailIndex (what Retry does here), RetryNotCounted or FailRun',
      '[jobs/nightly] spec.template.retryRules[2].when: unknown variable "resul" (did you mean "result"?) (got "resul == \\"Killed\\""); valid: one of result, reason, message, exitCodes, containerExitCodes, durationSeconds, attempt, executor, taskResult',
      '[jobs/nightly] spec.template.retryBackoff: has no delay to grow: retryDelaySeconds is 0 (got {"factor":2,"maxDelaySeconds":300}); valid: retryDelaySeconds above 0 (the first retry\'s delay)',
    ]);
    expect([...readTree(outdir).keys()]).toEqual(['jobs/previous.k8s.yaml']);
  });
});
