import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { CompletionStrategy, JobConfig, Option, Parallelism, RetryRule, TaskTemplate } from '../../constructs/index.js';

/**
 * Load a day of events, one Pod per shard, with retries that look at why an attempt failed
 * (docs/synth.md, "Retry rules"): evictions and lost nodes are retried without using attempts, bad
 * input (exit code 2) stops the whole run, an out-of-memory shard is not retried (it would only run
 * out again), and the remaining failures are retried after 30 s, 60 s, 120 s... at most 10 minutes.
 */
export function eventIngest(scope: Construct): void {
  const ingest = new JobConfig(scope, 'event-ingest', {
    options: { day: Option.date({ required: true, format: 'YYYY-MM-DD' }) },
    parallelism: Parallelism.withKeys(['eu', 'us', 'apac'], { completionStrategy: CompletionStrategy.ALL_SUCCESSFUL }),
    maxAttempts: 4,
    retryDelay: Duration.seconds(30),
    retryBackoff: { factor: 2, maxDelay: Duration.minutes(10), jitter: 0.2 },
    retryRules: [
      RetryRule.onEviction().retryNotCounted(),
      RetryRule.onExitCodes([2], { container: 'ingest' }).named('bad-input').failRun(),
      RetryRule.onOOMKilled().failIndex(),
      // The loader writes {"retryable": false} as its termination message when the source is gone.
      RetryRule.when('taskResult.retryable == false').named('source-gone').failIndex(),
    ],
    maxUncountedRetries: 5,
    task: TaskTemplate.pod({
      spec: {
        containers: [
          {
            name: 'ingest',
            image: 'registry.example.com/data/ingest:3.2',
            args: ['--day', '${option.day}', '--region', '${task.index_key}'],
            terminationMessagePolicy: 'FallbackToLogsOnError',
            resources: { limits: { memory: k8s.Quantity.fromString('2Gi') } },
          },
        ],
      },
    }),
  });

  ingest.run('2026-11-21', { options: { day: '2026-11-21T00:00:00Z' } });
}
